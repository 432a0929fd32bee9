// Extends the persisted commit-graph with the commits its chain lacks: finds them from the tips
// down to the commits already covered, orders them parents-first, computes generation numbers
// and changed-path Bloom filters (a tree diff against the first parent), and writes them as
// layers of at most `layerMax` commits. A small top layer is rewritten with the new commits
// rather than stacked on, so the chain stays short (git's split commit-graph merges the same way).
import { yieldToOthers } from "./budget";
import { GitError } from "./errors";
import { bloomKey, type BloomKey, buildFilter, MAX_CHANGED_PATHS } from "./bloom";
import { encodeLayer, type GraphLayer, type LayerEntry, PersistedGraph } from "./commit-graph-file";
import type { Location, ObjectStore } from "./object-store";
import { bulkLocator } from "./pack-id-table";
import { parseCommitLinks } from "./objects";
import { bytesToHex, hashObject, type Oid } from "./oid";
import { byteString } from "./tree-changes";
import { OBJ_COMMIT, OBJ_TAG, PACK_HEADER_SIZE } from "./pack-format";

export const LAYER_MAX = 16_384;

export interface GraphBuildIo {
  store: ObjectStore;
  /** The chain as it is (null: none yet). */
  graph: PersistedGraph | null;
  /** Stores a layer file and opens it. */
  writeLayer(bytes: Uint8Array): Promise<GraphLayer>;
  /** Records a new chain (after each layer, so that an interrupted build keeps what it wrote). */
  saveChain(layers: GraphLayer[]): Promise<void>;
  /** Called as each phase ends (for benchmarks: bench/graph-build-probe.ts). */
  onPhase?(name: string): void;
}

interface NewCommit {
  tree: Oid;
  parents: Oid[];
  time: number;
}

/**
 * Commits read from leading runs at most (about 300 bytes each while the build runs, as many as
 * it would hold anyway); past it, the rest are looked up one by one.
 */
const SCAN_MAX = 100_000;

/**
 * The commits at the start of each pack, read in pack order up to the first entry that is not a
 * commit or a tag: git writes a pack's commits first (git/git's 70,000 are its first 14 MB), and
 * reading them in a row costs one pass over those bytes instead of a ranged index lookup each.
 */
async function leadingCommits(store: ObjectStore): Promise<Map<Oid, NewCommit>> {
  const out = new Map<Oid, NewCommit>();
  let entries = 0;
  for (const pack of store.packs) {
    let offset = PACK_HEADER_SIZE;
    while (offset < pack.source.size - 20 && out.size < SCAN_MAX) {
      const header = await pack.header(offset);
      if (header.type !== OBJ_COMMIT && header.type !== OBJ_TAG) break;
      const { data, end } = await pack.inflateEntry(offset, header);
      if (header.type === OBJ_COMMIT) out.set(hashObject("commit", data), parseCommitLinks(data));
      offset = end;
      if (++entries % 256 === 0) await yieldToOthers();
    }
  }
  return out;
}

/** Reused by `latin1` (a path longer than it gets its own). */
let scratch = new Uint8Array(4096);
/**
 * The byte string of a path (one char per byte) as bytes, for hashing: a view of a reused buffer,
 * valid until the next call. By a plain loop: `Uint8Array.from` with a mapping function over the
 * string's iterator took about 14 times as long, seconds of a whole history's 1.4 million paths.
 */
function latin1(s: string): Uint8Array {
  if (s.length > scratch.length) scratch = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) scratch[i] = s.charCodeAt(i);
  return scratch.subarray(0, s.length);
}

/** Where the parts of the tree entry at `p` are: mode [p, space), name (space, nul), id after nul. */
function entryAt(d: Uint8Array, p: number): { space: number; nul: number; tree: boolean } {
  let space = p;
  while (d[space] !== 0x20) space++;
  let nul = space + 1;
  while (d[nul] !== 0) nul++;
  return { space, nul, tree: space - p === 5 && d[p] === 0x34 };
}

/** git's order of two entries: name bytes, a directory's name compared as if it ended in "/". */
function entryOrder(a: Uint8Array, xe: ReturnType<typeof entryAt>, b: Uint8Array, ye: ReturnType<typeof entryAt>): number {
  const la = xe.nul - xe.space - 1;
  const lb = ye.nul - ye.space - 1;
  const n = Math.min(la, lb);
  for (let i = 1; i <= n; i++) {
    const d = a[xe.space + i]! - b[ye.space + i]!;
    if (d !== 0) return d;
  }
  const ca = la > n ? a[xe.space + 1 + n]! : xe.tree ? 0x2f : 0;
  const cb = lb > n ? b[ye.space + 1 + n]! : ye.tree ? 0x2f : 0;
  return ca - cb;
}

const sameBytes = (a: Uint8Array, from: number, to: number, b: Uint8Array, at: number) => {
  for (let i = from; i < to; i++) if (a[i] !== b[at + i - from]) return false;
  return true;
};

/**
 * Each entry that differs between raw trees `a` and `b` (missing on one side, or another mode or
 * id), in git's order: its name (one char per byte) and, for each side where it is a directory,
 * the directory's id. Entries both have the same are compared as bytes, never decoded.
 */
function forEachDifference(
  a: Uint8Array,
  b: Uint8Array,
  each: (name: string, left: Oid | null, right: Oid | null) => void,
): void {
  const nameOf = (d: Uint8Array, e: ReturnType<typeof entryAt>) => byteString(d, e.space + 1, e.nul);
  const treeOf = (d: Uint8Array, e: ReturnType<typeof entryAt>) => (e.tree ? bytesToHex(d, e.nul + 1, e.nul + 21) : null);
  let p = 0;
  let q = 0;
  let x = p < a.length ? entryAt(a, p) : null;
  let y = q < b.length ? entryAt(b, q) : null;
  while (x || y) {
    const cmp = !x ? 1 : !y ? -1 : entryOrder(a, x, b, y);
    if (cmp === 0) {
      const same =
        x!.space - p === y!.space - q && sameBytes(a, p, x!.space, b, q) && sameBytes(a, x!.nul + 1, x!.nul + 21, b, y!.nul + 1);
      if (!same) each(nameOf(a, x!), treeOf(a, x!), treeOf(b, y!));
    } else if (cmp < 0) each(nameOf(a, x!), treeOf(a, x!), null);
    else each(nameOf(b, y!), null, treeOf(b, y!));
    if (cmp <= 0) {
      p = x!.nul + 21;
      x = p < a.length ? entryAt(a, p) : null;
    }
    if (cmp >= 0) {
      q = y!.nul + 21;
      y = q < b.length ? entryAt(b, q) : null;
    }
  }
}

/**
 * Paths that differ between two trees (either may be absent), with their parent directories, as
 * git lists them for a Bloom filter; null past git's limit of changed paths.
 */
export async function changedPaths(store: ObjectStore, before: Oid | null, after: Oid | null): Promise<string[] | null> {
  return (await changedPathsOfMany(store, [{ before, after }]))[0]!;
}

const EMPTY = new Uint8Array(0);

/** Commits whose filters are computed together: their trees are located in one sorted batch per level. */
export const FILTER_BATCH = 2048;
/** Trees a commit's filter looks up, about (both sides of each changed directory: git/git's history 10). */
const TREES_PER_COMMIT = 10;

/**
 * `changedPaths` of many commits at once (each its first parent's tree and its own), level by
 * level: the trees of a level are located together, in id order, before any is read. A large
 * pack's index is read by ranges through a cache smaller than it, and ids hash evenly, so one
 * lookup at a time makes nearly every lookup a storage read of its own (at git/git's 900,000
 * objects, hundreds of thousands of them for a whole history); sorted, the lookups of a level
 * share the index pages they fall in.
 */
export async function changedPathsOfMany(
  store: ObjectStore,
  pairs: readonly { before: Oid | null; after: Oid | null }[],
  locateMany: (oids: readonly Oid[]) => Promise<(Location | null)[]> = (oids) => store.locateMany(oids),
): Promise<(string[] | null)[]> {
  const out: (Set<string> | null)[] = pairs.map(() => new Set<string>());
  let level = pairs.map((p, i) => ({ i, a: p.before, b: p.after, prefix: "" }));
  while (level.length > 0) {
    level = level.filter((w) => w.a !== w.b);
    const ids = new Set<Oid>();
    for (const w of level) {
      if (w.a) ids.add(w.a);
      if (w.b) ids.add(w.b);
    }
    const sorted = [...ids].sort();
    const found = await locateMany(sorted);
    const where = new Map(sorted.map((oid, k) => [oid, found[k]]));
    const read = async (tree: Oid | null) => {
      if (!tree) return EMPTY;
      const at = where.get(tree);
      if (!at) throw new GitError("missing_object", `object ${tree} is missing`);
      const obj = await store.readAt(at.pack, at.offset);
      if (obj.type !== "tree") throw new GitError("missing_object", `object ${tree} is a ${obj.type}, not a tree`);
      return obj.data;
    };
    const next: typeof level = [];
    for (const [n, w] of level.entries()) {
      const paths = out[w.i];
      if (!paths) continue;
      const [x, y] = await Promise.all([read(w.a), read(w.b)]);
      forEachDifference(x, y, (name, lt, rt) => {
        if (!out[w.i]) return;
        const path = w.prefix + name;
        paths.add(path);
        if (paths.size > MAX_CHANGED_PATHS) out[w.i] = null;
        else if (lt || rt) next.push({ i: w.i, a: lt, b: rt, prefix: `${path}/` });
      });
      if (n % 64 === 63) await yieldToOthers();
    }
    level = next;
  }
  return out.map((paths) => (paths ? [...paths] : null));
}

function filterOf(paths: string[] | null): Uint8Array {
  if (!paths) return Uint8Array.of(0xff);
  const keys: BloomKey[] = paths.map((p) => bloomKey(latin1(p)));
  return buildFilter(keys);
}

/**
 * Adds every commit reachable from `tips` that the chain lacks. Returns how many were added.
 * Memory: a small record per new commit while ordering them, then one layer at a time.
 */
export async function extendCommitGraph(io: GraphBuildIo, tips: Oid[], layerMax = LAYER_MAX): Promise<number> {
  const { store } = io;
  let graph = io.graph;
  const fresh = new Map<Oid, NewCommit>();
  const covered = new Map<Oid, { pos: number; generation: number }>();
  const isCovered = async (oid: Oid) => {
    if (covered.has(oid)) return true;
    if (!graph) return false;
    const pos = await graph.find(oid);
    if (pos < 0) return false;
    covered.set(oid, { pos, generation: (await graph.commit(pos)).generation });
    return true;
  };
  // Find the new commits, newest to oldest, stopping at the covered ones. With no graph yet every
  // commit is new: they are read in pack order from the packs' leading runs of commits rather
  // than looked up one by one.
  const scanned = graph ? new Map<Oid, NewCommit>() : await leadingCommits(store);
  io.onPhase?.("scan leading commits");
  // A commit found already (a merge's parent reached again) is present: no index lookup.
  const present = async (oid: Oid) => fresh.has(oid) || scanned.has(oid) || store.has(oid);
  const stack = [...tips];
  let reads = 0;
  while (stack.length > 0) {
    const oid = stack.pop()!;
    if (fresh.has(oid) || !(await present(oid)) || (await isCovered(oid))) continue;
    let c = scanned.get(oid);
    if (c) scanned.delete(oid);
    else {
      const obj = await store.read(oid);
      if (obj.type !== "commit") continue;
      c = parseCommitLinks(obj.data);
    }
    const parents: Oid[] = [];
    for (const p of c.parents) if (await present(p)) parents.push(p);
    fresh.set(oid, { tree: c.tree, parents, time: c.time });
    for (const p of parents) stack.push(p);
    if (++reads % 256 === 0) await yieldToOthers();
  }
  scanned.clear();
  io.onPhase?.("walk from the tips");
  if (fresh.size === 0) return 0;

  // Parents first (post-order of a depth-first walk).
  const order: Oid[] = [];
  const state = new Map<Oid, 1 | 2>();
  for (const tip of fresh.keys()) {
    if (state.has(tip)) continue;
    const work: { oid: Oid; next: number }[] = [{ oid: tip, next: 0 }];
    state.set(tip, 1);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const ps = fresh.get(top.oid)!.parents;
      if (top.next < ps.length) {
        const p = ps[top.next++]!;
        if (fresh.has(p) && !state.has(p)) {
          state.set(p, 1);
          work.push({ oid: p, next: 0 });
        }
        continue;
      }
      state.set(top.oid, 2);
      order.push(top.oid);
      work.pop();
    }
  }
  state.clear();
  io.onPhase?.("order parents first");

  // Fill the top layer up to layerMax before starting a new one.
  let lower = graph?.layers ?? [];
  let pending: LayerEntry[] = [];
  const top = lower[lower.length - 1];
  let base = graph?.count ?? 0;
  if (top && top.count < layerMax) {
    for (let i = 0; i < top.count; i++) pending.push({ ...(await top.commit(i)), filter: await top.filter(i) });
    lower = lower.slice(0, -1);
    base = top.base;
  }
  const flush = async () => {
    const layer = await io.writeLayer(encodeLayer(base, pending));
    lower = [...lower, layer];
    graph = new PersistedGraph(lower);
    await io.saveChain(lower);
    base += pending.length;
    pending = [];
  };
  // The filters look up about ten trees a commit: for an import's whole history, in memory
  // through a table of the packs' ids rather than by ranged index reads.
  const locateMany = await bulkLocator(store, order.length * TREES_PER_COMMIT);
  io.onPhase?.("id table");
  for (let from = 0; from < order.length; from += FILTER_BATCH) {
    const batch = order.slice(from, from + FILTER_BATCH);
    const pairs: { before: Oid | null; after: Oid }[] = [];
    for (const oid of batch) {
      const c = fresh.get(oid)!;
      pairs.push({ before: c.parents.length ? await treeOf(c.parents[0]!) : null, after: c.tree });
    }
    const changed = await changedPathsOfMany(store, pairs, locateMany);
    for (const [k, oid] of batch.entries()) {
      const c = fresh.get(oid)!;
      const parents: number[] = [];
      let generation = 1;
      for (const p of c.parents) {
        const at = covered.get(p)!;
        parents.push(at.pos);
        generation = Math.max(generation, at.generation + 1);
      }
      covered.set(oid, { pos: base + pending.length, generation });
      pending.push({ oid, tree: c.tree, parents, generation, time: c.time, filter: filterOf(changed[k]!) });
      if (pending.length >= layerMax) await flush();
      if (pending.length % 64 === 0) await yieldToOthers();
    }
  }
  if (pending.length > 0) await flush();
  return fresh.size;

  async function treeOf(oid: Oid): Promise<Oid> {
    const f = fresh.get(oid);
    if (f) return f.tree;
    return (await graph!.commit(covered.get(oid)!.pos)).tree;
  }
}
