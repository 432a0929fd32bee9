// Comparing two revisions: the commits one has that the other lacks and the combined diff, or the
// form to pick them (view models from routes/web/source/compare.tsx).
import type { SourceUrls } from "../source";
import { html, type Markup } from "./markup";
import { type CommitRow, commitTable } from "./parts";
import { type DiffView, diffSection } from "./history";

export interface CompareView {
  urls: SourceUrls;
  /** The two sides as the page names them (commit ids shortened). */
  baseLabel: string;
  headLabel: string;
  base: string;
  head: string;
  /** The merge base found, or why the diff starts elsewhere. */
  start: { mergeBase: string; href: string } | { gaveUp: number } | { unrelated: true };
  commits: CommitRow[];
  more: boolean;
  diff: DiffView;
}

export function compareBody(v: CompareView): Markup {
  const s = v.start;
  const from =
    "mergeBase" in s
      ? html`Merge base <a class="mono" href="${s.href}">${s.mergeBase.slice(0, 7)}</a>. `
      : "gaveUp" in s
        ? html`The merge base is more than ${s.gaveUp.toLocaleString("en")} commits back: the changes below go from ${v.base} itself. `
        : html`No common history. `;
  const n = v.commits.length;
  return html`<h1>Comparing <span class="mono">${v.baseLabel}</span> … <span class="mono">${v.headLabel}</span></h1><p class="muted">${from}${n}${v.more ? "+" : ""} commit${n === 1 ? "" : "s"} on ${v.head} that ${v.base} does not have.</p>${
    n ? commitTable(v.urls, v.commits) : ""
  }<h2>Changes</h2>${diffSection(v.diff)}`;
}

export interface CompareFormView {
  action: string;
  names: string[];
  base: string;
  head: string;
  example: string;
}

export function compareForm(v: CompareFormView): Markup {
  const options = (selected: string) =>
    v.names.map((n) => (n === selected ? html`<option selected>${n}</option>` : html`<option>${n}</option>`));
  return html`<h1>Compare</h1><form class="compare" method="get" action="${v.action}"><label for="cmp-base">Base</label><select id="cmp-base" name="base">${options(v.base)}</select><label for="cmp-head">Compare</label><select id="cmp-head" name="head">${options(v.head)}</select><button type="submit">Compare</button></form><p class="muted">Or type it into the address: <code>${v.example}</code>; branches, tags and commit ids all work.</p>`;
}
