// History pages: a log (of a ref or a path), a commit with its diff, and the diff section that
// commits and comparisons share. View models from routes/web/source/history.tsx and compare.tsx.
import type { Hunk } from "../../git/hunks";
import type { Oid } from "../../git/oid";
import { empty, html, type Markup } from "./markup";
import { type CommitRow, commitTable, diffTable, pathNav, timeTag } from "./parts";
import type { Place } from "./files";

export interface LogView {
  place: Place;
  /** The heading when the log is of a whole revision (a path log shows the path instead). */
  heading: string;
  feedHref?: string;
  commits: CommitRow[];
  /** The path walk ran out of its budget after this many commits. */
  timedOut?: { scanned: number };
  nextHref?: string;
}

export function logBody(v: LogView): Markup {
  const { place } = v;
  const title = place.path.length
    ? pathNav(place.urls, place.project, place.rev, place.path, html`<span class="muted">History of</span> `)
    : html`<h1>Commits on <span class="mono">${v.heading}</span></h1>`;
  const feed = v.feedHref ? html`<span class="links"><a href="${v.feedHref}">Atom feed</a></span>` : empty;
  let list: Markup = empty;
  if (v.commits.length) list = commitTable(place.urls, v.commits);
  else if (!v.timedOut) list = html`<p class="muted">No commits${place.path.length ? " touch this path" : ""}.</p>`;
  let after: Markup = empty;
  if (v.timedOut)
    after = html`<p class="notice">Searched ${v.timedOut.scanned} commits for changes to this path so far.${
      v.nextHref ? html` <a href="${v.nextHref}">Search older history</a>` : empty
    }</p>`;
  else if (v.nextHref) after = html`<nav class="pager"><a href="${v.nextHref}" rel="next">Older commits →</a></nav>`;
  return html`<div class="pathbar">${title}${feed}</div>${list}${after}`;
}

export type FileDiffView =
  | { kind: "text"; hunks: Hunk[]; added: number; removed: number }
  | { kind: "binary" }
  | { kind: "large"; size: number }
  | { kind: "skipped"; href: string };

export interface ChangeView {
  status: "A" | "D" | "M" | "T" | "R";
  path: string;
  oldPath?: string;
  oldMode?: string;
  newMode?: string;
  /** The file at the new side (none for a deletion). */
  blobHref?: string;
  diff: FileDiffView;
}

export interface DiffView {
  /** Files changed (all of them, not only those listed). */
  total: number;
  truncated: boolean;
  /** Lines added and removed in the diffs shown. */
  added: number;
  removed: number;
  /** Not every file is listed. */
  partial: boolean;
  changes: ChangeView[];
  /** A page of a long diff: the path it continues after, and the next page. */
  page?: { after?: string; nextHref?: string };
}

const statusWord: Record<ChangeView["status"], string> = {
  A: "added",
  D: "deleted",
  M: "modified",
  T: "type changed",
  R: "renamed",
};

function changeTitle(ch: ChangeView): Markup {
  return ch.status === "R" ? html`${ch.oldPath} → ${ch.path}` : html`${ch.path}`;
}

function changeStat(d: FileDiffView): Markup {
  return d.kind === "text" ? html`<span class="add">+${d.added}</span> <span class="del">−${d.removed}</span>` : empty;
}

function modes(ch: ChangeView): Markup {
  if (ch.oldMode && ch.newMode && ch.oldMode !== ch.newMode)
    return html` <span class="muted">mode ${ch.oldMode} → ${ch.newMode}</span>`;
  if (ch.status === "A") return html` <span class="muted">new file, mode ${ch.newMode}</span>`;
  if (ch.status === "D") return html` <span class="muted">deleted, mode ${ch.oldMode}</span>`;
  return empty;
}

function fileDiffBody(d: FileDiffView): Markup {
  switch (d.kind) {
    case "text":
      return d.hunks.length ? diffTable(d.hunks) : html`<p class="muted">Same content.</p>`;
    case "binary":
      return html`<p class="muted">Binary file.</p>`;
    case "large":
      return html`<p class="muted">Large file (${(d.size / 1024 / 1024).toFixed(1)} MiB): diff not shown.</p>`;
    default:
      return html`<p class="muted">Diff not shown here (this change is large). <a href="${d.href}">Load this file's diff</a>.</p>`;
  }
}

export function diffSection(v: DiffView): Markup {
  const n = v.total;
  const head = html`<p class="diffstat">${n}${v.truncated ? "+" : ""} file${n === 1 ? "" : "s"} changed${
    v.added || v.removed
      ? html`, <span class="add">${v.added} insertions(+)</span>, <span class="del">${v.removed} deletions(−)</span> shown`
      : empty
  }${v.truncated || v.partial ? ` (the first ${v.changes.length} listed)` : ""}${
    v.page?.after ? html`, after <span class="mono">${v.page.after}</span>` : empty
  }</p>`;
  const next = v.page?.nextHref ? html`<p class="next"><a href="${v.page.nextHref}">Next changed files</a></p>` : empty;
  const summary = v.changes.map(
    (ch, i) =>
      html`<tr><td class="chg chg-${ch.status}">${statusWord[ch.status]}<td><a href="#f${i}">${changeTitle(ch)}</a><td class="nowrap">${changeStat(ch.diff)}</tr>`,
  );
  const files = v.changes.map(
    (ch, i) =>
      html`<section class="fdiff" id="f${i}"><h3><span class="mono">${changeTitle(ch)}</span>${modes(ch)} ${changeStat(ch.diff)}${
        ch.blobHref ? html` <a class="muted" href="${ch.blobHref}">view file</a>` : empty
      }</h3>${fileDiffBody(ch.diff)}</section>`,
  );
  return html`${head}<table class="list changes"><tbody>${summary}</tbody></table>${files}${next}`;
}

export interface Signature {
  name: string;
  email: string;
  time: number;
}

export interface CommitPageView {
  oid: Oid;
  subject: string;
  body: string;
  author: Signature;
  /** Shown when it differs from the author. */
  committer?: Signature;
  parents: { oid: Oid; href: string }[];
  treeHref: string;
  patchHref: string;
  diffHref: string;
  merge: boolean;
  /** The one path the page is limited to, and the link to all files. */
  only?: { path: string; allHref: string };
  diff: DiffView;
}

function signature(label: string, sig: Signature): Markup {
  return html`<div><dt>${label}</dt><dd>${sig.name} <span class="muted">&lt;${sig.email}&gt;</span> ${timeTag(sig.time)}</dd></div>`;
}

export function commitBody(v: CommitPageView): Markup {
  const parents = v.parents.length
    ? v.parents.map((x, i) => html`${i ? " " : ""}<a class="mono" href="${x.href}">${x.oid.slice(0, 7)}</a>`)
    : html`<span class="muted">none (first commit)</span>`;
  return html`<article class="commit"><h1>${v.subject || "(no message)"}</h1>${
    v.body ? html`<pre class="message">${v.body}</pre>` : empty
  }<dl class="meta">${signature("Author", v.author)}${v.committer ? signature("Committer", v.committer) : empty}<div><dt>Commit</dt><dd class="mono">${v.oid}</dd></div><div><dt>Parent${
    v.parents.length === 1 ? "" : "s"
  }</dt><dd>${parents}</dd></div></dl><p class="links"><a href="${v.treeHref}">Browse files</a> · <a href="${v.patchHref}">.patch</a> · <a href="${v.diffHref}">.diff</a></p></article>${
    v.merge ? html`<p class="muted">A merge: showing the changes against its first parent.</p>` : empty
  }${
    v.only ? html`<p class="muted">Only ${v.only.path}. <a href="${v.only.allHref}">All files of this commit</a>.</p>` : empty
  }${diffSection(v.diff)}`;
}
