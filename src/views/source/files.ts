// Trees and files of the source browser: view models the routes fill in, rendered with hono's
// escaping `html` (README Markdown and highlighted code enter as TrustedHtml).
import { type TrustedHtml, trustedHtml } from "../trusted-html";
import { formatSize, type SourceUrls } from "../source";
import { empty, html, type Markup } from "./markup";
import { codeTable, pathNav, timeTag } from "./parts";

/** Where a page is: the project, the revision as shown, the path in it. */
export interface Place {
  urls: SourceUrls;
  project: string;
  rev: string;
  path: string[];
}

export interface CommitLineView {
  label: string;
  oid: string;
  href: string;
  subject: string;
  author: string;
  time: number;
}

export function commitLine(v: CommitLineView): Markup {
  return html`<div class="tip"><span class="muted">${v.label}</span> <a class="mono" href="${v.href}">${v.oid.slice(0, 7)}</a> <a href="${v.href}">${v.subject || "(no message)"}</a> <span class="muted">${v.author} · ${timeTag(v.time)}</span></div>`;
}

export interface ReadmeView {
  name: string;
  href: string;
  /** Markdown rendered and sanitized, or plain text. */
  body: { markdown: TrustedHtml } | { text: string };
}

export function readme(v: ReadmeView): Markup {
  const inner =
    "markdown" in v.body
      ? html`<div class="md">${trustedHtml(v.body.markdown)}</div>`
      : html`<pre class="plain">${v.body.text}</pre>`;
  return html`<section class="readme" aria-label="${v.name}"><h2><a href="${v.href}">${v.name}</a></h2>${inner}</section>`;
}

export interface TreeEntryView {
  name: string;
  type: "tree" | "blob" | "commit";
  /** Link of a folder or file (none for a submodule). */
  href: string | null;
  /** A submodule's commit. */
  oid: string;
  mode: string;
  /** The commit that last changed the entry, when known. */
  lastCommit?: { href: string; subject: string; time: number };
  /** Still being found (the follow-up script fills it in). */
  pending: boolean;
}

export interface TreeView {
  place: Place;
  /** The clone URL, on the source home. */
  cloneUrl?: string;
  historyHref: string;
  archives?: { tarGz: string; zip: string };
  tip: CommitLineView;
  /** The last-change columns are left without headings when the walk is unavailable. */
  lastChangeHeadings: boolean;
  parentHref?: string;
  entries: TreeEntryView[];
  /** Where the follow-up script asks for the entries still pending. */
  lastCommitsUrl?: string;
  readme?: ReadmeView;
}

function entryName(e: TreeEntryView): Markup {
  if (e.type === "tree") return html`<a class="dir" href="${e.href}">${e.name}/</a>`;
  if (e.type === "commit")
    return html`<span class="submodule">${e.name}</span> <span class="muted mono">@ ${e.oid.slice(0, 7)}</span>`;
  const mark =
    e.mode === "120000"
      ? html` <span class="muted">→ link</span>`
      : e.mode === "100755"
        ? html` <span class="muted">*</span>`
        : empty;
  return html`<a href="${e.href}">${e.name}</a>${mark}`;
}

function entryRow(e: TreeEntryView): Markup {
  const c = e.lastCommit;
  const msg = c ? html`<a href="${c.href}">${c.subject || "(no message)"}</a>` : e.pending ? "…" : "";
  return html`<tr data-entry="${e.name}"><td class="name">${entryName(e)}<td class="lcm opt${e.pending ? " pending" : ""}">${msg}<td class="lcd nowrap">${c ? timeTag(c.time) : empty}</tr>`;
}

export function treeBody(v: TreeView): Markup {
  const { place } = v;
  return html`${
    v.cloneUrl !== undefined
      ? html`<div class="clone"><label for="clone-url">Clone</label><input id="clone-url" readonly value="${v.cloneUrl}"></div>`
      : empty
  }<div class="pathbar">${pathNav(place.urls, place.project, place.rev, place.path)}<span class="links"><a href="${v.historyHref}">History</a>${
    v.archives ? html` · <a href="${v.archives.tarGz}">tar.gz</a> · <a href="${v.archives.zip}">zip</a>` : empty
  }</span></div>${commitLine(v.tip)}<table class="list files"><thead><tr><th scope="col">Name</th><th scope="col" class="opt">${
    v.lastChangeHeadings ? "Last change" : ""
  }</th><th scope="col">${v.lastChangeHeadings ? "Date" : ""}</th></tr></thead><tbody>${
    v.parentHref !== undefined ? html`<tr><td colspan="3"><a href="${v.parentHref}">..</a></tr>` : empty
  }${v.entries.map(entryRow)}</tbody></table>${
    v.lastCommitsUrl !== undefined
      ? html`<p class="computing muted" data-last-commits="${v.lastCommitsUrl}">Finding the last change of each entry takes a moment on this directory; reload to see them all.</p>`
      : empty
  }${v.readme ? readme(v.readme) : empty}`;
}

/** What a file page shows below its info line. */
export type BlobContent =
  | { kind: "submodule"; oid: string }
  | { kind: "symlink"; target: string }
  | { kind: "image"; src: string; alt: string }
  | { kind: "too-large"; size: number; rawHref: string }
  | { kind: "binary"; rawHref: string }
  | { kind: "markdown"; html: TrustedHtml }
  | { kind: "code"; lines: TrustedHtml[] };

export interface BlobView {
  place: Place;
  size: number;
  /** The link between the rendered and the source view of Markdown files. */
  viewSwitch?: { label: string; href: string };
  rawHref: string;
  blameHref: string;
  historyHref: string;
  permalink?: string;
  content: BlobContent;
}

const INFO_LABEL: Partial<Record<BlobContent["kind"], string>> = {
  symlink: "Symbolic link · ",
  image: "Image · ",
  binary: "Binary file · ",
  markdown: "Markdown · ",
};

export function blobBody(v: BlobView): Markup {
  const { place, content } = v;
  const nav = html`<div class="pathbar">${pathNav(place.urls, place.project, place.rev, place.path)}</div>`;
  if (content.kind === "submodule")
    return html`${nav}<p class="notice">A submodule, at commit <span class="mono">${content.oid}</span>.</p>`;
  const links = [
    v.viewSwitch ? html`<a href="${v.viewSwitch.href}">${v.viewSwitch.label}</a>` : null,
    html`<a href="${v.rawHref}">Raw</a>`,
    html`<a href="${v.blameHref}">Blame</a>`,
    html`<a href="${v.historyHref}">History</a>`,
    v.permalink ? html`<a href="${v.permalink}">Permalink</a>` : null,
  ].filter((l) => l !== null);
  const count = content.kind === "code" ? content.lines.length : 0;
  const label = content.kind === "code" ? `${count} line${count === 1 ? "" : "s"} · ` : (INFO_LABEL[content.kind] ?? "");
  const info = html`<div class="fileinfo"><span class="muted">${label}${formatSize(v.size)}</span><span class="links">${links.map((l, i) => (i ? html` · ${l}` : l))}</span></div>`;
  return html`${nav}${info}${blobContent(content)}`;
}

function blobContent(c: BlobContent): Markup {
  switch (c.kind) {
    case "symlink":
      return html`<p>Points to <code>${c.target}</code>.</p>`;
    case "image":
      return html`<p class="image"><img src="${c.src}" alt="${c.alt}"></p>`;
    case "too-large":
      return html`<p class="notice">This file is ${formatSize(c.size)}, too large to show here. <a href="${c.rawHref}">Download it</a>.</p>`;
    case "binary":
      return html`<p class="notice">Binary file, not shown. <a href="${c.rawHref}">Download it</a>.</p>`;
    case "markdown":
      return html`<div class="md md-file">${trustedHtml(c.html)}</div>`;
    case "code":
      return c.lines.length ? codeTable(c.lines) : html`<p class="muted">Empty file.</p>`;
    default:
      return empty;
  }
}

export interface EmptyRepositoryView {
  project: string;
  cloneUrl: string;
  branch: string;
}

export function emptyRepositoryBody(v: EmptyRepositoryView): Markup {
  return html`<h1>${v.project}</h1><p class="notice">This repository is empty. Push an existing repository to it:</p><pre class="commands">cd my-project
git remote add origin ${v.cloneUrl}
git push -u origin ${v.branch}</pre><p>Or start a new one:</p><pre class="commands">git clone ${v.cloneUrl}
cd ${v.project}
echo "# ${v.project}" &gt; README.md
git add README.md
git commit -m "First commit"
git push -u origin ${v.branch}</pre><p class="muted">Pushing needs a member's API token as the password: make one under Settings → API tokens.</p>`;
}
