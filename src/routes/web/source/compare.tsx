// Comparing two revisions in the repository browser: the commits one has that the other lacks
// (from their merge base, found within a budget) and the combined diff, or a form to pick them.
import { Budget } from "../../../git/budget";
import { mergeBase, rangeLog } from "../../../git/history";
import { diffTrees } from "../../../git/tree-diff";
import { resolveRev, shortOid } from "../../../services/source";
import { escapeHtml } from "../../../views/highlight";
import { commitTable } from "../../../views/source";
import { diffSection, MERGE_BASE_BUDGET, PAGE_CAPS, rows, TREE_DIFF_LIMIT } from "./history";
import { notFound, sourceResponse, type SourcePage } from "./page";

const COMPARE_COMMITS = 250;

export async function comparePage(p: SourcePage, rest: string[]): Promise<Response> {
  const { c, src, urls } = p;
  if (rest.length === 0 || (rest.length === 1 && rest[0] === "")) {
    const base = c.req.query("base");
    const head = c.req.query("head");
    if (base && head) return c.redirect(urls.compare(base, head), 303);
    return compareForm(p);
  }
  let spec: string;
  try {
    spec = rest.map(decodeURIComponent).join("/");
  } catch {
    return notFound(p);
  }
  const dots = spec.indexOf("...");
  if (dots <= 0) return notFound(p);
  const base = await resolveRev(src, spec.slice(0, dots));
  const head = await resolveRev(src, spec.slice(dots + 3));
  if (!base || !head) return notFound(p);
  const render = async () => {
    const budget = new Budget(Date.now() + MERGE_BASE_BUDGET.ms, MERGE_BASE_BUDGET.steps);
    const mb = await mergeBase(src.graph, base.commit, head.commit, budget);
    const gaveUp = !mb && budget.used > MERGE_BASE_BUDGET.steps;
    const { commits, more } = await rangeLog(src.graph, [head.commit], [base.commit], COMPARE_COMMITS);
    let s = `<h1>Comparing <span class="mono">${escapeHtml(base.name.length === 40 ? shortOid(base.name) : base.name)}</span> … <span class="mono">${escapeHtml(head.name.length === 40 ? shortOid(head.name) : head.name)}</span></h1>`;
    s += `<p class="muted">${mb ? `Merge base <a class="mono" href="${escapeHtml(urls.commit(mb))}">${shortOid(mb)}</a>. ` : gaveUp || budget.outOfTime ? `The merge base is more than ${MERGE_BASE_BUDGET.steps.toLocaleString("en")} commits back: the changes below go from ${escapeHtml(base.name)} itself. ` : "No common history. "}${commits.length}${more ? "+" : ""} commit${commits.length === 1 ? "" : "s"} on ${escapeHtml(head.name)} that ${escapeHtml(base.name)} does not have.</p>`;
    if (commits.length)
      s += commitTable(
        urls,
        await rows(
          src,
          commits.map((x) => x.oid),
        ),
      );
    const baseTree = mb
      ? (await src.graph.commit(mb)).tree
      : gaveUp || budget.outOfTime
        ? (await src.graph.commit(base.commit)).tree
        : null;
    const headTree = (await src.graph.commit(head.commit)).tree;
    const { changes, truncated } = await diffTrees(src.store, baseTree, headTree, { limit: TREE_DIFF_LIMIT });
    s += `<h2>Changes</h2>`;
    s += await diffSection(
      src,
      changes,
      truncated,
      PAGE_CAPS,
      (ch) => urls.commit(head.commit, ch.path.split("/")),
      (ch) => urls.blob(head.commit, ch.path.split("/")),
    );
    return { html: s, cacheable: !budget.outOfTime };
  };
  return sourceResponse(p, {
    title: `Compare ${base.name}...${head.name}`,
    tab: "compare",
    rev: null,
    key: ["compare", base.name, base.commit, head.name, head.commit],
    immutableUrl: base.kind === "commit" && head.kind === "commit",
    render,
  });
}

function compareForm(p: SourcePage): Promise<Response> {
  const { src, urls } = p;
  const names = src.snapshot.refs
    .filter((r) => r.name.startsWith("refs/heads/") || r.name.startsWith("refs/tags/"))
    .map((r) => r.name.replace(/^refs\/(heads|tags)\//, ""));
  const head = src.snapshot.head.replace(/^refs\/heads\//, "");
  const options = (selected: string) =>
    names
      .slice(0, 500)
      .map((n) => `<option${n === selected ? " selected" : ""}>${escapeHtml(n)}</option>`)
      .join("");
  const other = names.find((n) => n !== head) ?? head;
  const s =
    `<h1>Compare</h1><form class="compare" method="get" action="${escapeHtml(urls.compare())}">` +
    `<label for="cmp-base">Base</label><select id="cmp-base" name="base">${options(head)}</select>` +
    `<label for="cmp-head">Compare</label><select id="cmp-head" name="head">${options(other)}</select>` +
    `<button type="submit">Compare</button></form><p class="muted">Or type it into the address: <code>${escapeHtml(urls.compare("base", "head"))}</code>; branches, tags and commit ids all work.</p>`;
  return sourceResponse(p, {
    title: "Compare",
    tab: "compare",
    rev: null,
    key: null,
    immutableUrl: false,
    render: async () => ({ html: s, cacheable: false }),
  });
}
