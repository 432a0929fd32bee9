// Ancestry between commits for compare pages, reviews and last-commit answers: merge bases (git's
// paint_down_to_common) and `a..b` ranges, as commits (`rangeLog`) or as graph positions
// (`rangePositions`, no commit decoded).
import { type CommitGraph, CommitQueue, type CommitInfo } from "./commit-graph";
import type { Oid } from "./oid";
import type { Budget } from "./budget";
import { graphStep } from "../utils/pace";
import type { PersistedGraph } from "./commit-graph-file";

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
