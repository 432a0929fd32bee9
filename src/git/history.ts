// History walks for the source browser: pages of a log (of a ref, or of a path with git's default
// history simplification) that resume from a cursor, merge bases, and `git log a..b` ranges.
// A path log skips the trees of commits whose changed-path Bloom filter rules the path out.
import { type BloomKey, bloomKeysOf } from "./bloom";
import { type CommitGraph, CommitQueue, type CommitInfo } from "./commit-graph";
import type { Oid } from "./oid";
import { oidAtPath, oidsAtPath } from "./tree-path";
import type { Budget } from "./budget";
import { graphStep } from "../utils/pace";
import type { PersistedGraph } from "./commit-graph-file";

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

const P1 = 1;
const P2 = 2;
const STALE = 4;
const RESULT = 8;

/** A max-heap of commits by date, each entry remembering whether it was stale when queued. */
class PaintQueue {
  private readonly heap: { c: CommitInfo; stale: boolean }[] = [];
  /** Entries queued while not stale: the walk goes on while there is one. */
  fresh = 0;

  get size(): number {
    return this.heap.length;
  }

  push(c: CommitInfo, stale: boolean): void {
    if (!stale) this.fresh++;
    const h = this.heap;
    h.push({ c, stale });
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (h[p]!.c.time >= h[i]!.c.time) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  pop(): CommitInfo {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.c.time > h[m]!.c.time) m = l;
        if (r < h.length && h[r]!.c.time > h[m]!.c.time) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    if (!top.stale) this.fresh--;
    return top.c;
  }
}

/**
 * The best common ancestor of two commits (the newest one if there are several), or null; git's
 * paint_down_to_common. Without generation numbers this walks down to the base: a budget bounds
 * it (null then, and `budget.outOfTime` or its steps tell why).
 */
export async function mergeBase(graph: CommitGraph, a: Oid, b: Oid, budget?: Budget): Promise<Oid | null> {
  if (a === b) return a;
  const flags = new Map<Oid, number>();
  const queue = new PaintQueue();
  const mark = async (oid: Oid, f: number) => {
    const old = flags.get(oid) ?? 0;
    if ((old & f) === f) return;
    flags.set(oid, old | f);
    queue.push(await graph.commit(oid), ((old | f) & STALE) !== 0);
  };
  await mark(a, P1);
  await mark(b, P2);
  const results: CommitInfo[] = [];
  while (queue.size > 0 && queue.fresh > 0) {
    if (budget && (await budget.step())) return null;
    const c = queue.pop();
    const f = flags.get(c.oid)!;
    let paint = f & (P1 | P2 | STALE);
    if (paint === (P1 | P2)) {
      if (!(f & RESULT)) {
        flags.set(c.oid, f | RESULT);
        results.push(c);
      }
      paint |= STALE;
    }
    for (const p of c.parents) if (await graph.has(p)) await mark(p, paint);
  }
  if (results.length === 0) return null;
  results.sort((x, y) => y.time - x.time);
  return results[0]!.oid;
}

/**
 * `git log <include> --not <exclude>`, newest first, at most `limit` commits; `more` says whether
 * the range holds more.
 */
export async function rangeLog(
  graph: CommitGraph,
  include: Oid[],
  exclude: Oid[],
  limit: number,
): Promise<{ commits: CommitInfo[]; more: boolean }> {
  const bad = new Set<Oid>();
  const seen = new Set<Oid>();
  const queue = new CommitQueue();
  // Queued commits still interesting: once none is left, the rest of history is excluded.
  const queuedInteresting = new Set<Oid>();
  const enqueue = async (oid: Oid, uninteresting: boolean) => {
    if (uninteresting) {
      bad.add(oid);
      queuedInteresting.delete(oid);
    }
    if (seen.has(oid) || !(await graph.has(oid))) return;
    seen.add(oid);
    if (!uninteresting) queuedInteresting.add(oid);
    queue.push(await graph.commit(oid));
  };
  for (const e of exclude) await enqueue(e, true);
  for (const i of include) await enqueue(i, false);
  const out: CommitInfo[] = [];
  let slop = 5;
  while (queue.size > 0) {
    const c = queue.pop()!;
    queuedInteresting.delete(c.oid);
    if (bad.has(c.oid)) {
      for (const p of c.parents) await enqueue(p, true);
    } else {
      if (out.length >= limit) return { commits: out.filter((o) => !bad.has(o.oid)), more: true };
      out.push(c);
      for (const p of c.parents) await enqueue(p, false);
    }
    if (queuedInteresting.size === 0) {
      if (--slop <= 0) break;
    } else slop = 5;
  }
  return { commits: out.filter((c) => !bad.has(c.oid)), more: false };
}

/**
 * `git rev-list <include> --not <exclude>` over the persisted graph's positions, as a bit set (bit
 * p at byte p >> 3): commits are taken by generation number, highest first, so a commit is taken
 * only after every commit in the walk that reaches it, and its mark (reached from `exclude` or
 * not) is final then. The excluded side is walked only while an included commit is queued and
 * never below the lowest of them (nothing below it can reach one). No commit id is decoded.
 * `stats.excluded` counts the excluded commits taken. Null past `maxSteps` commits.
 */
export async function rangePositions(
  graph: PersistedGraph,
  include: number,
  exclude: number,
  maxSteps = Infinity,
  stats?: { included: number; excluded: number },
): Promise<Uint8Array | null> {
  const bytes = (graph.count + 7) >> 3;
  const seen = new Uint8Array(bytes);
  const bad = new Uint8Array(bytes);
  const range = new Uint8Array(bytes);
  const has = (set: Uint8Array, p: number) => (set[p >> 3]! & (1 << (p & 7))) !== 0;
  const set = (s: Uint8Array, p: number) => {
    s[p >> 3]! |= 1 << (p & 7);
  };
  // A max-heap of positions by generation.
  const heap: number[] = [];
  const gen: number[] = [];
  const push = (p: number, g: number) => {
    heap.push(p);
    gen.push(g);
    for (let i = heap.length - 1; i > 0; ) {
      const up = (i - 1) >> 1;
      if (gen[up]! >= gen[i]!) break;
      [heap[up], heap[i]] = [heap[i]!, heap[up]!];
      [gen[up], gen[i]] = [gen[i]!, gen[up]!];
      i = up;
    }
  };
  const pop = (): number => {
    const top = heap[0]!;
    const lastP = heap.pop()!;
    const lastG = gen.pop()!;
    if (heap.length > 0) {
      heap[0] = lastP;
      gen[0] = lastG;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && gen[l]! > gen[m]!) m = l;
        if (r < heap.length && gen[r]! > gen[m]!) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i]!, heap[m]!];
        [gen[m], gen[i]] = [gen[i]!, gen[m]!];
        i = m;
      }
    }
    return top;
  };
  const links = async (p: number) => graph.linksNow(p) ?? (await graph.links(p));
  /** Queued commits not reached from `exclude` (so far: a later mark may still exclude them). */
  let included = 0;
  const enqueue = async (p: number, excluded: boolean) => {
    if (has(seen, p)) {
      if (excluded && !has(bad, p)) {
        set(bad, p);
        included--;
      }
      return;
    }
    set(seen, p);
    if (excluded) set(bad, p);
    else included++;
    push(p, (await links(p)).generation);
  };
  await enqueue(exclude, true);
  await enqueue(include, false);
  let steps = 0;
  while (included > 0) {
    if (++steps > maxSteps) return null;
    // Cached pages never wait: let the isolate's other requests in now and then.
    const turn = graphStep(steps);
    if (turn) await turn;
    const p = pop();
    const excluded = has(bad, p);
    if (excluded) {
      if (stats) stats.excluded++;
    } else {
      included--;
      set(range, p);
      if (stats) stats.included++;
    }
    for (const q of (await links(p)).parents) await enqueue(q, excluded);
  }
  return range;
}
