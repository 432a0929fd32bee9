// Comparing two revisions in the repository browser: the commits one has that the other lacks
// (from their merge base, found within a budget) and the combined diff, or a form to pick them.
import { Budget } from "../../../git/budget";
import { mergeBase, rangeLog } from "../../../git/ancestry";
import { diffTrees } from "../../../git/tree-diff";
import { resolveRev, shortOid } from "../../../services/source";
import { type CompareView, compareBody, compareForm } from "../../../views/source/compare";
import { diffView, indexReads, MERGE_BASE_BUDGET, PAGE_CAPS, rows } from "./history";
import { notFound, type Rendered, sourceResponse, type SourcePage } from "./page";

/**
 * Commits a comparison lists (it says when there are more): each row reads its commit, at an old
 * commit a lookup that mostly misses on a large repository (250 rows took 1.8 s of a page on
 * big.git, p50, load 10).
 */
const COMPARE_COMMITS = 100;
/**
 * Changed files a comparison lists and diffs per page (a next page continues after the last
 * one): two commits far apart differ in thousands of files, whose trees and blobs at old commits
 * are long delta chains; a page reads only the trees and blobs of its own files.
 */
export const COMPARE_FILES = 50;

export async function comparePage(p: SourcePage, rest: string[]): Promise<Response> {
  const { c, src, urls } = p;
  if (rest.length === 0 || (rest.length === 1 && rest[0] === "")) {
    const base = c.req.query("base");
    const head = c.req.query("head");
    if (base && head) return c.redirect(urls.compare(base, head), 303);
    return comparePicker(p);
  }
  let spec: string;
  try {
    spec = rest.map(decodeURIComponent).join("/");
  } catch {
    return notFound(p);
  }
  const dots = spec.indexOf("...");
  if (dots <= 0) return notFound(p);
  const after = c.req.query("after") || undefined;
  if (after !== undefined && (after.length > 4096 || after.includes("\0"))) return notFound(p);
  const base = await resolveRev(src, spec.slice(0, dots));
  const head = await resolveRev(src, spec.slice(dots + 3));
  if (!base || !head) return notFound(p);
  const render = async (): Promise<Rendered> => {
    // Server-Timing: each step's time, and the merge base's walk as a count.
    const marks = c.get("meter").marks;
    let t = performance.now();
    const lap = (name: string) => {
      marks[name] = performance.now() - t;
      t = performance.now();
    };
    const budget = new Budget(Date.now() + MERGE_BASE_BUDGET.ms, MERGE_BASE_BUDGET.steps);
    const mb = await mergeBase(src.graph, base.commit, head.commit, budget);
    lap("merge-base");
    marks["merge-base-steps"] = budget.used;
    const gaveUp = !mb && budget.used > MERGE_BASE_BUDGET.steps;
    const { commits, more } = await rangeLog(src.graph, [head.commit], [base.commit], COMPARE_COMMITS);
    lap("range");
    const baseTree = mb
      ? (await src.graph.commit(mb)).tree
      : gaveUp || budget.outOfTime
        ? (await src.graph.commit(base.commit)).tree
        : null;
    const headTree = (await src.graph.commit(head.commit)).tree;
    const { changes, truncated, last } = await diffTrees(src.store, baseTree, headTree, { limit: COMPARE_FILES, after });
    lap("tree-diff");
    const commitRows = await rows(
      src,
      commits.map((x) => x.oid),
    );
    lap("rows");
    const label = (name: string) => (name.length === 40 ? shortOid(name) : name);
    const view: CompareView = {
      urls,
      baseLabel: label(base.name),
      headLabel: label(head.name),
      base: base.name,
      head: head.name,
      start: mb
        ? { mergeBase: mb, href: urls.commit(mb) }
        : gaveUp || budget.outOfTime
          ? { gaveUp: MERGE_BASE_BUDGET.steps }
          : { unrelated: true },
      commits: commitRows,
      more,
      diff: {
        ...(await diffView(
          src,
          changes,
          truncated,
          PAGE_CAPS,
          (ch) => urls.commit(head.commit, ch.path.split("/")),
          (ch) => urls.blob(head.commit, ch.path.split("/")),
        )),
        page: {
          after,
          nextHref: truncated && last ? `${urls.compare(base.name, head.name)}?after=${encodeURIComponent(last)}` : undefined,
        },
      },
    };
    lap("diffs");
    marks["index-reads"] = indexReads(src);
    return { html: compareBody(view), cacheable: !budget.outOfTime };
  };
  return sourceResponse(p, {
    title: `Compare ${base.name}...${head.name}`,
    tab: "compare",
    rev: null,
    key: ["compare", base.name, base.commit, head.name, head.commit, after ?? ""],
    immutableUrl: base.kind === "commit" && head.kind === "commit",
    render,
  });
}

function comparePicker(p: SourcePage): Promise<Response> {
  const { src, urls } = p;
  const names = src.snapshot.refs
    .filter((r) => r.name.startsWith("refs/heads/") || r.name.startsWith("refs/tags/"))
    .map((r) => r.name.replace(/^refs\/(heads|tags)\//, ""))
    .slice(0, 500);
  const head = src.snapshot.head.replace(/^refs\/heads\//, "");
  const body = compareForm({
    action: urls.compare(),
    names,
    base: head,
    head: names.find((n) => n !== head) ?? head,
    example: urls.compare("base", "head"),
  });
  return sourceResponse(p, {
    title: "Compare",
    tab: "compare",
    rev: null,
    key: null,
    immutableUrl: false,
    render: async () => ({ html: body, cacheable: false }),
  });
}
