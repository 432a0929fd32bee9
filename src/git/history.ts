// History walks for the source browser: pages of a log (of a ref, or of a path with git's default
// history simplification) that resume from a cursor (merge bases and ranges: git/ancestry.ts).
// A path log skips the trees of commits whose changed-path Bloom filter rules the path out.
import { type BloomKey, bloomKeysOf } from "./bloom";
import { type CommitGraph, CommitQueue, type CommitInfo } from "./commit-graph";
import type { Oid } from "./oid";
import { oidAtPath, oidsAtPath } from "./tree-path";
import type { Budget } from "./budget";

/** Most commits a cursor carries: the walk's frontier (one per line of history still open). */
const MAX_CURSOR = 100;
/**
 * Commits a path log passes by graph position (filters only) per step of its budget: one, so
 * that a page covers the same commits as a walk commit by commit (its answer and its cursor are
 * the same), only without decoding them. (More per step reached further on big.git, but met
 * more changed commits, whose tree reads then ran pages into their deadline.)
 */
const PASS_PER_STEP = 1;
/** Most commits passed in one go without a budget. */
const JUMP_MAX = 1_000_000;
/**
 * Commits a path log on one line of history looks ahead: the next ones its filters cannot rule
 * out, whose trees down the path are then read together, a level at a time (on big.git one
 * after the other they were about 60 sequential storage rounds a page).
 */
const AHEAD = 16;

export interface LogPage {
  commits: CommitInfo[];
  /** Where the next page starts (the walk's frontier), or null at the root. */
  next: Oid[] | null;
  /** Commits looked at (more than shown for a path log). */
  scanned: number;
  /** The page stopped early at its deadline (fewer commits than asked, `next` continues). */
  timedOut: boolean;
}

/**
 * The object id at `path` in each commit's tree, memoized for one walk by every tree on the way
 * (trees shared between commits are read once, and a commit whose root changed elsewhere reads
 * only the trees that differ from the last one looked at).
 */
class PathLookup {
  private readonly memo = new Map<string, Oid | null>();
  /** Commits whose trees (and their parents') `readAhead` has read already. */
  private readonly ahead = new Set<Oid>();
  constructor(
    readonly graph: CommitGraph,
    readonly path: string[],
  ) {}

  async at(commit: Oid): Promise<Oid | null> {
    const c = await this.graph.commit(commit);
    if (this.path.length === 0) return c.tree;
    return oidAtPath(this.graph.store, c.tree, this.path, this.memo);
  }

  /**
   * Reads together, into the memo, the path in `c` and in its parents, and in the next commits
   * down its first parents that the filters (`keys`) cannot rule out, up to AHEAD of them and
   * `maxPassed` commits passed: those a walk on one line of history looks at next. Only reads:
   * the walk's answers and steps are what they would be without it.
   */
  async readAhead(c: CommitInfo, keys: BloomKey[], maxPassed: number): Promise<void> {
    if (this.ahead.has(c.oid) || this.path.length === 0) return;
    const chain = [c];
    let passed = 0;
    for (let last = c; chain.length < AHEAD && last.parents.length === 1; ) {
      const next = await this.graph.firstMaybeChanged(last.parents[0]!, keys, maxPassed - passed);
      passed += next.passed;
      if (passed >= maxPassed) break;
      last = await this.graph.commit(next.oid);
      chain.push(last);
    }
    const commits = new Set<Oid>();
    for (const x of chain) {
      this.ahead.add(x.oid);
      commits.add(x.oid);
      for (const p of x.parents) if (await this.graph.covers(p)) commits.add(p);
    }
    const infos = await Promise.all([...commits].map((oid) => this.graph.commit(oid)));
    await oidsAtPath(
      this.graph.store,
      infos.map((x) => x.tree),
      this.path,
      this.memo,
    );
  }
}

/**
 * One page of `git log <starts> [-- path]`, newest first by committer date. With a path, a commit
 * is shown when the path differs from every parent; a merge whose path equals one parent's
 * follows only that parent (git's default simplification). Stops at `limit` commits, or when
 * the budget is spent, with what it has.
 */
export async function logPage(
  graph: CommitGraph,
  starts: Oid[],
  opts: { limit: number; path?: string[]; budget?: Budget },
): Promise<LogPage> {
  const queue = new CommitQueue();
  const seen = new Set<Oid>();
  const enqueue = async (oid: Oid) => {
    if (seen.has(oid) || !(await graph.has(oid))) return;
    seen.add(oid);
    queue.push(await graph.commit(oid));
  };
  for (const s of starts) await enqueue(s);
  const lookup = opts.path?.length ? new PathLookup(graph, opts.path) : null;
  const keys = opts.path?.length ? bloomKeysOf(opts.path.join("/")) : [];
  const commits: CommitInfo[] = [];
  let scanned = 0;
  let timedOut = false;
  while (queue.size > 0 && commits.length < opts.limit) {
    if (opts.budget && (await opts.budget.step())) {
      timedOut = true;
      break;
    }
    const c = queue.pop()!;
    scanned++;
    if (!lookup) {
      commits.push(c);
      for (const p of c.parents) await enqueue(p);
      continue;
    }
    // The filter compares with the first parent: "not changed" means the same as that parent,
    // which is where git's simplification would go on from (for a merge too: the first parent
    // with the same version is the one followed).
    const present = await graph.presentParents(c);
    if (present.length > 0 && present.length === c.parents.length && !(await graph.mayChange(c.oid, keys))) {
      const first = c.parents[0]!;
      if (queue.size === 0 && !seen.has(first)) {
        // The only line of history left: on down the first parents while their filters rule
        // the path out, by graph position (no commit decoded), a step each. No
        // other line can reach the commits passed (they descend from where it lands), and the
        // order is the same: nothing else is queued.
        const left = opts.budget ? (opts.budget.maxSteps - opts.budget.used) * PASS_PER_STEP : JUMP_MAX;
        const to = await graph.firstMaybeChanged(first, keys, Math.max(0, Math.min(JUMP_MAX, left)));
        for (let i = 0; i < to.passed; i += PASS_PER_STEP) opts.budget?.spend();
        scanned += to.passed;
        await enqueue(to.oid);
      } else await enqueue(first);
      continue;
    }
    if (queue.size === 0) {
      const left = opts.budget ? opts.budget.maxSteps - opts.budget.used : JUMP_MAX;
      await lookup.readAhead(c, keys, Math.max(0, Math.min(JUMP_MAX, left * PASS_PER_STEP)));
    }
    const here = await lookup.at(c.oid);
    if (c.parents.length === 0) {
      if (here !== null) commits.push(c);
      continue;
    }
    let same: Oid | null = null;
    for (const p of present) {
      if ((await lookup.at(p)) === here) {
        same = p;
        break;
      }
    }
    if (same) {
      await enqueue(same);
    } else {
      commits.push(c);
      for (const p of c.parents) await enqueue(p);
    }
  }
  const rest: Oid[] = [];
  while (queue.size > 0 && rest.length < MAX_CURSOR) rest.push(queue.pop()!.oid);
  return { commits, next: rest.length ? rest : null, scanned, timedOut };
}
