// Branches and tags pages, one page of refs each (view models from routes/web/source/refs.tsx),
// and the project home's source summary.
import type { SourceUrls } from "../source";
import { empty, html, type Markup } from "./markup";
import { timeTag } from "./parts";
import { type CommitLineView, commitLine, type ReadmeView, readme } from "./files";

export interface PagerView {
  page: number;
  last: number;
  prevHref?: string;
  nextHref?: string;
}

function pager(v: PagerView): Markup {
  if (v.last === 1) return empty;
  const prev = v.prevHref ? html`<a href="${v.prevHref}" rel="prev">← Newer</a>` : empty;
  const next = v.nextHref ? html`<a href="${v.nextHref}" rel="next">Older →</a>` : empty;
  return html`<nav class="pager">${prev} <span class="muted">page ${v.page} of ${v.last}</span> ${next}</nav>`;
}

export interface BranchRowView {
  name: string;
  href: string;
  isDefault: boolean;
  oid: string;
  commitHref: string;
  subject: string;
  author: string;
  time: number;
  compareHref?: string;
}

export function branchesBody(rows: BranchRowView[], total: number, pages: PagerView): Markup {
  const body = rows.map(
    (b) =>
      html`<tr><td><a href="${b.href}">${b.name}</a>${b.isDefault ? html` <span class="badge">default</span>` : empty}<td class="opt"><a class="mono" href="${b.commitHref}">${b.oid.slice(0, 7)}</a> ${b.subject} <span class="muted">${b.author}</span><td class="nowrap">${timeTag(b.time)}<td class="opt nowrap">${
        b.compareHref ? html`<a href="${b.compareHref}">compare</a>` : empty
      }</tr>`,
  );
  return html`<h1>Branches</h1><table class="list refs"><thead><tr><th scope="col">Branch</th><th scope="col" class="opt">Last commit</th><th scope="col">Updated</th><th scope="col" class="opt"></th></tr></thead><tbody>${body}</tbody></table>${pager(pages)}${
    total === 0 ? html`<p class="muted">No branches yet.</p>` : empty
  }`;
}

export interface TagRowView {
  name: string;
  href: string;
  commit: string;
  commitHref: string;
  subject: string;
  time: number;
  tarGzHref: string;
  zipHref: string;
}

export function tagsBody(rows: TagRowView[], total: number, pages: PagerView): Markup {
  const body = rows.map(
    (t) =>
      html`<tr><td><a href="${t.href}">${t.name}</a><td class="opt"><a class="mono" href="${t.commitHref}">${t.commit.slice(0, 7)}</a> ${t.subject}<td class="nowrap">${timeTag(t.time)}<td class="nowrap"><a href="${t.tarGzHref}">tar.gz</a> · <a href="${t.zipHref}">zip</a></tr>`,
  );
  return html`<h1>Tags</h1><table class="list refs"><thead><tr><th scope="col">Tag</th><th scope="col" class="opt">Message</th><th scope="col">Date</th><th scope="col">Download</th></tr></thead><tbody>${body}</tbody></table>${pager(pages)}${
    total === 0 ? html`<p class="muted">No tags yet.</p>` : empty
  }`;
}

export interface SummaryView {
  urls: SourceUrls;
  /** null: the repository is empty. */
  head: {
    branches: number;
    tags: number;
    logHref: string;
    tip: CommitLineView;
    readme?: ReadmeView;
  } | null;
}

/** The source part of a project's home page. */
export function sourceSummaryBody(v: SummaryView): Markup {
  const { urls, head } = v;
  if (!head)
    return html`<h2>Source</h2><p class="notice">The repository is empty. <a href="${urls.home()}">See how to push to it</a>.</p>`;
  return html`<h2>Source</h2><p><a href="${urls.home()}">Browse files</a> · <a href="${head.logHref}">Log</a> · <a href="${urls.branches()}">${head.branches} branch${
    head.branches === 1 ? "" : "es"
  }</a> · <a href="${urls.tags()}">${head.tags} tag${head.tags === 1 ? "" : "s"}</a></p>${commitLine(head.tip)}${head.readme ? readme(head.readme) : empty}`;
}
