// Pieces shared by the source pages: the ref bar, the path, times, commit lists, code with line
// numbers and diffs. Every piece is hono's escaping `html`; only highlighted lines enter as
// TrustedHtml (views/trusted-html.ts).
import type { Hunk } from "../../git/hunks";
import type { Oid } from "../../git/oid";
import { type TrustedHtml, trustedHtml } from "../trusted-html";
import { isoTime, type RefChoice, type SourceTab, type SourceUrls } from "../source";
import { empty, html, type Markup } from "./markup";

export function timeTag(epochSeconds: number): Markup {
  const iso = isoTime(epochSeconds);
  return html`<time datetime="${iso}" title="${iso.replace("T", " ").replace("Z", " UTC")}">${iso.slice(0, 10)}</time>`;
}

export interface RefBarView {
  urls: SourceUrls;
  refs: RefChoice;
  /** The revision shown (a branch, tag, or commit id), or null where none applies. */
  current: { name: string; kind: "branch" | "tag" | "commit" } | null;
  view: "tree" | "blob" | "log" | "blame";
  path: string[];
  tab: SourceTab;
  logRev: string;
}

/**
 * Ref selector and the source tabs. The selector is a disclosure of links (each to the same view
 * and path at that ref, through /switch): it works without script; the source script adds a
 * filter box and the arrow keys (views/source-script.ts).
 */
export function refBar(v: RefBarView): Markup {
  const { urls, current } = v;
  const tab = (id: SourceTab, label: string, href: string) =>
    v.tab === id ? html`<a href="${href}" aria-current="page">${label}</a>` : html`<a href="${href}">${label}</a>`;
  const switchHref = (ref: string) =>
    `${urls.base}/switch?${new URLSearchParams({ ref, view: v.view, path: v.path.join("/") }).toString()}`;
  const item = (name: string, isCurrent: boolean) =>
    html`<li><a href="${switchHref(name)}"${isCurrent ? html` aria-current="true"` : empty}>${name}</a></li>`;
  const group = (label: string, names: string[], kind: "branch" | "tag") =>
    names.length
      ? html`<p class="group">${label}</p><ul class="reflist">${names.map((n) => item(n, current?.kind === kind && current.name === n))}</ul>`
      : empty;
  const label = current ? (current.kind === "commit" ? `commit ${current.name.slice(0, 7)}` : current.name) : "";
  const selector = current
    ? html`<details class="refsel"><summary><span class="vh">${current.kind === "tag" ? "Tag" : current.kind === "commit" ? "Revision" : "Branch"}: </span>${label}</summary><div class="refmenu"><input type="text" class="reffilter" placeholder="Filter branches and tags" aria-label="Filter branches and tags" autocomplete="off" hidden>${group(
        "Branches",
        v.refs.branches,
        "branch",
      )}${group("Tags", v.refs.tags, "tag")}</div></details>`
    : empty;
  return html`<div class="srcbar">${selector}<nav class="tabs" aria-label="Source">${tab("files", "Files", current ? urls.tree(current.name) : urls.home())}${tab("log", "Log", urls.log(v.logRev))}${tab("branches", "Branches", urls.branches())}${tab("tags", "Tags", urls.tags())}${tab("compare", "Compare", urls.compare())}</nav></div>`;
}

/** project / dir / dir / file, each a link to its tree (the last one plain): the page's heading. */
export function pathNav(urls: SourceUrls, project: string, rev: string, path: string[], prefix: Markup = empty): Markup {
  const steps = path.map((seg, i) =>
    i === path.length - 1
      ? html`<span>/</span><strong>${seg}</strong>`
      : html`<span>/</span><a href="${urls.tree(rev, path.slice(0, i + 1))}">${seg}</a>`,
  );
  return html`<h1 class="path">${prefix}<a href="${urls.tree(rev)}">${project}</a>${steps}</h1>`;
}

export interface CommitRow {
  oid: Oid;
  subject: string;
  author: string;
  time: number;
}

export function commitTable(urls: SourceUrls, commits: CommitRow[]): Markup {
  const rows = commits.map((c) => {
    const href = urls.commit(c.oid);
    return html`<tr><td class="mono"><a href="${href}">${c.oid.slice(0, 7)}</a><td class="msg"><a href="${href}">${c.subject || "(no message)"}</a><td class="opt">${c.author}<td class="nowrap">${timeTag(c.time)}</tr>`;
  });
  return html`<table class="list commits"><thead><tr><th scope="col">Commit</th><th scope="col">Message</th><th scope="col" class="opt">Author</th><th scope="col">Date</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Numbered lines with anchors (#L1), as the highlighter escaped them. */
export function codeTable(lines: TrustedHtml[]): Markup {
  const rows = lines.map(
    (line, i) => html`<tr id=L${i + 1}><td class=ln><a href=#L${i + 1}>${i + 1}</a><td>${trustedHtml(line)}\n`,
  );
  return html`<div class="scroll"><table class="code"><tbody>${rows}</tbody></table></div>`;
}

const noEol = html`<span class="noeol" title="No newline at end of file">⏎̸</span>`;

export function diffTable(hunks: Hunk[]): Markup {
  const rows: Markup[] = [];
  for (const h of hunks) {
    const header = `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@${h.func ? ` ${h.func}` : ""}`;
    rows.push(html`<tr class="hh"><td class="ln"><td class="ln"><td>${header}\n`);
    for (const l of h.lines) {
      const cls = l.op === "+" ? "add" : l.op === "-" ? "del" : "ctx";
      rows.push(
        html`<tr class="${cls}"><td class="ln">${l.oldNo || ""}<td class="ln">${l.newNo || ""}<td>${l.op}${l.text}${l.noEol ? noEol : empty}\n`,
      );
    }
  }
  return html`<div class="scroll"><table class="diff"><tbody>${rows}</tbody></table></div>`;
}
