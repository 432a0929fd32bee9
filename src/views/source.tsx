// Building blocks of the source pages: URLs, the ref bar, file listings, code with line numbers,
// diffs, commit lists. Long lists are built as strings (thousands of rows render in microseconds
// each), everything else is JSX.
import { raw } from "hono/html";
import type { Hunk } from "../git/hunks";
import type { Oid } from "../git/oid";
import { escapeHtml } from "./highlight";

// ---- URLs

const encSegments = (segments: string[]) => segments.map(encodeURIComponent).join("/");
/** A branch or tag name in a URL: its slashes stay slashes (the router finds the longest ref). */
const encRev = (name: string) => encSegments(name.split("/"));

export class SourceUrls {
  constructor(readonly project: string) {}
  get base(): string {
    return `/p/${encodeURIComponent(this.project)}/source`;
  }
  home(): string {
    return `${this.base}/`;
  }
  private at(view: string, rev: string, path: string[]): string {
    return `${this.base}/${view}/${encRev(rev)}${path.length ? `/${encSegments(path)}` : ""}`;
  }
  tree(rev: string, path: string[] = []): string {
    return this.at("tree", rev, path) + (path.length ? "" : "/");
  }
  blob(rev: string, path: string[]): string {
    return this.at("blob", rev, path);
  }
  raw(rev: string, path: string[]): string {
    return this.at("raw", rev, path);
  }
  blame(rev: string, path: string[]): string {
    return this.at("blame", rev, path);
  }
  log(rev: string, path: string[] = [], cursor?: Oid[]): string {
    return this.at("log", rev, path) + (cursor?.length ? `?after=${cursor.join(",")}` : "");
  }
  commit(oid: Oid, path: string[] = []): string {
    return `${this.base}/commit/${oid}${path.length ? `/${encSegments(path)}` : ""}`;
  }
  patch(oid: Oid, kind: "patch" | "diff"): string {
    return `${this.base}/commit/${oid}.${kind}`;
  }
  archive(rev: string, format: "tar.gz" | "zip"): string {
    return `${this.base}/archive/${encRev(rev)}.${format}`;
  }
  compare(base?: string, head?: string): string {
    return base && head ? `${this.base}/compare/${encRev(base)}...${encRev(head)}` : `${this.base}/compare`;
  }
  branches(): string {
    return `${this.base}/branches`;
  }
  tags(): string {
    return `${this.base}/tags`;
  }
  feed(branch: string): string {
    return `/p/${encodeURIComponent(this.project)}/feed/commits/${encRev(branch)}.atom`;
  }
  lastCommits(commit: Oid, path: string[]): string {
    return `${this.base}/last-commits/${commit}${path.length ? `/${encSegments(path)}` : ""}`;
  }
}

// ---- Dates and names

export function isoTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, "Z");
}
export const day = (epochSeconds: number) => isoTime(epochSeconds).slice(0, 10);

export function timeHtml(epochSeconds: number): string {
  const iso = isoTime(epochSeconds);
  return `<time datetime="${iso}" title="${iso.replace("T", " ").replace("Z", " UTC")}">${iso.slice(0, 10)}</time>`;
}

export function formatSize(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

// ---- The bar above every source page

export interface RefChoice {
  branches: string[];
  tags: string[];
}

export type SourceTab = "files" | "log" | "branches" | "tags" | "compare";

/** Ref selector (a GET form: works without script) and the source tabs, as HTML. */
export function refBar(props: {
  urls: SourceUrls;
  refs: RefChoice;
  /** The revision shown (a branch, tag, or commit id), or null where none applies. */
  current: { name: string; kind: "branch" | "tag" | "commit" } | null;
  view: "tree" | "blob" | "log" | "blame";
  path: string[];
  tab: SourceTab;
  logRev: string;
}): string {
  const { urls, current } = props;
  const tab = (id: SourceTab, label: string, href: string) =>
    `<a href="${escapeHtml(href)}"${props.tab === id ? ' aria-current="page"' : ""}>${label}</a>`;
  let s = `<div class="srcbar">`;
  if (current) {
    const option = (value: string, selected: boolean) =>
      `<option value="${escapeHtml(value)}"${selected ? " selected" : ""}>${escapeHtml(value)}</option>`;
    s += `<form class="refsel" method="get" action="${escapeHtml(urls.base)}/switch"><label for="ref" class="vh">Branch or tag</label><select id="ref" name="ref" data-autosubmit="">`;
    if (current.kind === "commit") s += `<option value="${current.name}" selected>commit ${current.name.slice(0, 7)}</option>`;
    s += `<optgroup label="Branches">${props.refs.branches.map((b) => option(b, current.kind === "branch" && b === current.name)).join("")}</optgroup>`;
    if (props.refs.tags.length)
      s += `<optgroup label="Tags">${props.refs.tags.map((t) => option(t, current.kind === "tag" && t === current.name)).join("")}</optgroup>`;
    s += `</select><input type="hidden" name="view" value="${props.view}"><input type="hidden" name="path" value="${escapeHtml(props.path.join("/"))}"><button type="submit">Go</button></form>`;
  }
  s += `<nav class="tabs" aria-label="Source">`;
  s += tab("files", "Files", current ? urls.tree(current.name) : urls.home());
  s += tab("log", "Log", urls.log(props.logRev));
  s += tab("branches", "Branches", urls.branches());
  s += tab("tags", "Tags", urls.tags());
  s += tab("compare", "Compare", urls.compare());
  return `${s}</nav></div>`;
}

/** project / dir / dir / file, each a link to its tree (the last one plain). */
export function pathNav(urls: SourceUrls, project: string, rev: string, path: string[]): string {
  let s = `<nav class="path" aria-label="Path"><a href="${escapeHtml(urls.tree(rev))}">${escapeHtml(project)}</a>`;
  path.forEach((seg, i) => {
    const last = i === path.length - 1;
    s += `<span>/</span>`;
    if (last) s += `<strong>${escapeHtml(seg)}</strong>`;
    else s += `<a href="${escapeHtml(urls.tree(rev, path.slice(0, i + 1)))}">${escapeHtml(seg)}</a>`;
  });
  return `${s}</nav>`;
}

// ---- Commit lists

export interface CommitRow {
  oid: Oid;
  subject: string;
  author: string;
  time: number;
}

export function commitTable(urls: SourceUrls, commits: CommitRow[]): string {
  let s = `<table class="list commits"><thead><tr><th scope="col">Commit</th><th scope="col">Message</th><th scope="col" class="opt">Author</th><th scope="col">Date</th></tr></thead><tbody>`;
  for (const c of commits) {
    const href = escapeHtml(urls.commit(c.oid));
    s += `<tr><td class="mono"><a href="${href}">${c.oid.slice(0, 7)}</a><td class="msg"><a href="${href}">${escapeHtml(c.subject || "(no message)")}</a><td class="opt">${escapeHtml(c.author)}<td class="nowrap">${timeHtml(c.time)}</tr>`;
  }
  return `${s}</tbody></table>`;
}

// ---- Code

/** Numbered lines with anchors (#L1); `lines` are escaped HTML. */
export function codeTable(lines: string[]): string {
  const parts: string[] = [`<div class="scroll"><table class="code"><tbody>`];
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    parts.push(`<tr id=L${n}><td class=ln><a href=#L${n}>${n}</a><td>${lines[i]}\n`);
  }
  parts.push(`</tbody></table></div>`);
  return parts.join("");
}

// ---- Diffs

export function diffTable(hunks: Hunk[]): string {
  const parts: string[] = [`<div class="scroll"><table class="diff"><tbody>`];
  for (const h of hunks) {
    const header = `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@${h.func ? ` ${h.func}` : ""}`;
    parts.push(`<tr class="hh"><td class="ln"><td class="ln"><td>${escapeHtml(header)}\n`);
    for (const l of h.lines) {
      const cls = l.op === "+" ? "add" : l.op === "-" ? "del" : "ctx";
      parts.push(
        `<tr class="${cls}"><td class="ln">${l.oldNo || ""}<td class="ln">${l.newNo || ""}<td>${l.op}${escapeHtml(l.text)}${l.noEol ? '<span class="noeol" title="No newline at end of file">⏎̸</span>' : ""}\n`,
      );
    }
  }
  parts.push(`</tbody></table></div>`);
  return parts.join("");
}

/**
 * Puts markup into a JSX page unescaped. Only for HTML this module and the source pages built
 * themselves, with every piece of repository or request text passed through escapeHtml (or the
 * highlighter, which escapes): anything else given here is an XSS hole. Named so it cannot be
 * mistaken for hono's escaping `html` tag.
 */
export const trustedSourceMarkup = (s: string) => raw(s);
