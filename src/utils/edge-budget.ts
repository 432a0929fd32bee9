// The isolates' memory budgets: every per-isolate cache's bound in one table, and what each holds;
// the push worker's isolate (the same modules, some bounds of its own) beside the edge's.

import { ByteLru } from "./lru";

const MiB = 1024 * 1024;

/**
 * Bytes every per-isolate cache of the edge may hold. Their sum, the isolate's resting heap and one
 * cold page's own working set must stay well under the 128 MB a Workers isolate may use, array
 * buffers included: the bounds summed to 112 MiB until session 11, and a cold blame of a long file
 * reached 110.6 MiB live and 127 MiB with garbage. Why each bound is what it is:
 * docs/architecture.md "Caches".
 */
export const EDGE_CACHE_BOUNDS = {
  "git.pack-windows": 20 * MiB,
  "git.resolved-objects": 6 * MiB,
  "git.learned-commits": 1 * MiB,
  "git.index-units": 8 * MiB,
  "git.pack-id-tables": 12 * MiB,
  "git.commit-graph-pages": 4 * MiB,
  "storage.pack-indexes": 4 * MiB,
  "services.commit-graph-layers": 0.5 * MiB,
  "services.repo-snapshots": 1 * MiB,
  "services.edge-refs": 0.25 * MiB,
  "services.last-commits": 4 * MiB,
  "services.page-bodies": 1 * MiB,
  "services.reach-answers": 0.25 * MiB,
  "services.reach-sets": 0.5 * MiB,
  "web.anonymous-pages": 1.5 * MiB,
} as const;

/** What the caches above may hold together: the sum of their bounds stays within it (test/worker/edge-budget.test.ts). */
export const EDGE_CACHE_BUDGET = 64 * MiB;

/** The edge isolate's heap at rest with no cache filled: 12.6 MiB with the local bundle (s11-transfer). */
export const EDGE_RESTING_BYTES = 13 * MiB;

/**
 * What one cold page holds of its own beyond the caches at its peak (a blame walk's line ids,
 * diffs and margin, objects in flight, and garbage a collection leaves to sweep): a cold blame of
 * the long file on a 70,000-commit history peaked at 29 to 41 MiB live with array buffers beyond
 * its caches' bytes, resting heap included (some of it buffers freed but not yet swept) (bench/scale-results.md, s11-edgemem).
 */
export const EDGE_PAGE_WORKING_BYTES = 28 * MiB;

/**
 * The most the edge may hold live with every cache full: 17 MiB of the isolate's 128 MB
 * (122 MiB) are left to garbage not yet collected (the blame above sampled 127 MiB with garbage
 * when it held 110 MiB live).
 */
export const EDGE_LIVE_LIMIT = 105 * MiB;

export type EdgeCacheName = keyof typeof EDGE_CACHE_BOUNDS;

/**
 * The caches the push worker's modules make (its git and storage modules are the edge's): its
 * derive steps and walks fill them, and they stay full while a push or an import is indexed.
 */
export const PUSH_CACHES = [
  "git.pack-windows",
  "git.resolved-objects",
  "git.learned-commits",
  "git.index-units",
  "git.pack-id-tables",
  "git.commit-graph-pages",
  "storage.pack-indexes",
  "services.commit-graph-layers",
  "services.repo-snapshots",
  "services.edge-refs",
  "services.last-commits",
] as const satisfies readonly EdgeCacheName[];

/**
 * The push isolate's own bounds, smaller than the edge's, set by its entry (useCacheBounds): with
 * the edge's the caches were 60.75 MiB, and with the largest operation below beside them 114 MiB.
 * The pack windows serve its checkpoint and last-commit walks (the indexer and the commit-graph
 * build read through windows of their own); resolved objects, its walks' trees.
 */
export const PUSH_CACHE_BOUNDS: Partial<Record<EdgeCacheName, number>> = {
  "git.pack-windows": 12 * MiB,
  "git.resolved-objects": 4 * MiB,
};

/** The push isolate's heap at rest: taken as the edge's (the same modules, no page code). */
export const PUSH_RESTING_BYTES = EDGE_RESTING_BYTES;

/**
 * What the push isolate's largest operation holds of its own beyond the caches: indexing a pushed
 * or imported pack of 900,000 objects (big.git's): its 8 MiB read buffer, 4 MiB of inflated
 * entries kept for deltas, 4 MiB of .idx records and 4 MiB of results before they spill, 4 MiB of
 * links before they spill, and 14 bytes an object plus 4 a delta in typed columns (about 15 MiB).
 * A commit-graph build of big.git holds less beyond the caches (12 MiB of windows, a 4 MiB slab,
 * 6.3 MiB of records); a compaction's walk is bounded on its own (git/walk-reader.ts).
 */
export const PUSH_WORK_BYTES = 40 * MiB;

/** A cache as the budget sees it: its bound now and the bytes it holds. */
export interface BudgetedCache {
  readonly maxBytes: number;
  readonly bytes: number;
  /** Sets another bound (a cache whose isolate has a bound of its own for it). */
  resize?(maxBytes: number): void;
}

const caches = new Map<EdgeCacheName, () => BudgetedCache>();

/**
 * The bound of cache `name`, and registers where it lives (`current`: a cache a test may replace
 * is read anew each time), so that the budget's test and the benchmarks see every cache.
 */
export function edgeCacheBound(name: EdgeCacheName, current?: () => BudgetedCache): number {
  if (current) caches.set(name, current);
  return EDGE_CACHE_BOUNDS[name];
}

/** Registers cache `name` and returns it (for a cache made once, at module load). */
export function budgeted<C extends BudgetedCache>(name: EdgeCacheName, cache: C): C {
  caches.set(name, () => cache);
  return cache;
}

/** A byte-bounded cache of the edge, registered as `name` with its bound from the table above. */
export function edgeLru<K, V>(name: EdgeCacheName, sizeOf: (value: V) => number, maxValueBytes?: number): ByteLru<K, V> {
  return budgeted(name, new ByteLru<K, V>(EDGE_CACHE_BOUNDS[name], sizeOf, maxValueBytes));
}

/** Gives this isolate's caches the bounds `bounds` names instead of the table's (the push worker's entry). */
export function useCacheBounds(bounds: Partial<Record<EdgeCacheName, number>>): void {
  for (const [name, bound] of Object.entries(bounds) as [EdgeCacheName, number][]) {
    const cache = caches.get(name)?.();
    if (!cache?.resize) throw new Error(`no cache ${name} with a bound to set in this isolate`);
    cache.resize(bound);
  }
}

/** Each registered cache's bound and the bytes it holds now. */
export function edgeCaches(): Record<string, { maxBytes: number; bytes: number }> {
  const out: Record<string, { maxBytes: number; bytes: number }> = {};
  for (const [name, current] of caches) {
    const c = current();
    out[name] = { maxBytes: c.maxBytes, bytes: c.bytes };
  }
  return out;
}

// The benchmarks' heap sampler reads the caches' bytes through the inspector at its peak
// (bench/lib/heap.ts): a module's bindings are out of reach of Runtime.evaluate, a global is not.
(globalThis as Record<symbol, unknown>)[Symbol.for("edgeforge.edgeCaches")] = edgeCaches;
