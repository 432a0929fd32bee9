// Extends the persisted commit-graph with the commits its chain lacks: finds them from the tips
// down to the commits already covered, orders them parents-first, computes generation numbers
// and changed-path Bloom filters (a tree diff against the first parent), and writes them as
// layers of at most `layerMax` commits. A small top layer is rewritten with the new commits
// rather than stacked on, so the chain stays short (git's split commit-graph merges the same way).
import { yieldToOthers } from "./budget";
import { FilterBuilder } from "./bloom";
import { type GraphLayer, PersistedGraph } from "./commit-graph-file";
import { encodeLayer, type LayerEntry } from "./commit-graph-format";
import type { ObjectStore } from "./object-store";
import { type BulkLocator, bulkLocator } from "./pack-id-table";
import { CommitRecords, Seen } from "./commit-graph-records";
import { parseCommitLinks } from "./objects";
import { hashObject, type Oid } from "./oid";
import { BuildTreeReader } from "./commit-graph-trees";
import { changedPathsOfMany, type TreeLocator } from "./commit-graph-levels";
import { BuildPackReader } from "./commit-graph-pack";
import { InflateScratch } from "./zlib";
import { OBJ_COMMIT, OBJ_TAG, PACK_HEADER_SIZE } from "./pack-format";

export const LAYER_MAX = 16_384;
export { changedPaths, changedPathsOfMany } from "./commit-graph-levels";

export interface GraphBuildIo {
  store: ObjectStore;
  /** The chain as it is (null: none yet). */
  graph: PersistedGraph | null;
  /** Stores a layer file and opens it. */
  writeLayer(bytes: Uint8Array): Promise<GraphLayer>;
  /** Records a new chain (after each layer, so that an interrupted build keeps what it wrote). */
  saveChain(layers: GraphLayer[]): Promise<void>;
  /**
   * Called as each phase ends (for benchmarks: bench/graph-build-probe.ts), with the bytes the
   * build's per-commit records hold then (for tests).
   */
  onPhase?(name: string, recordBytes: number): void;
  /**
   * Awaited between pieces of the build instead of one turn given to other work: a build that
   * waits while something else comes first (services/upload-activity.ts).
   */
  pause?(): Promise<void>;
}

/**
 * Commits read from leading runs at most (about 90 bytes each in the build's records, as many as
 * it would hold anyway); past it, the rest are looked up one by one.
 */
const SCAN_MAX = 100_000;

/**
 * The commits at the start of each pack, read in pack order up to the first entry that is not a
 * commit or a tag: git writes a pack's commits first (git/git's 70,000 are its first 14 MB), and
 * reading them in a row costs one pass over those bytes instead of a ranged index lookup each.
 * Each one read is recorded as Scanned (its parents Named).
 */
async function leadingCommits(
  store: ObjectStore,
  records: CommitRecords,
  packs: BuildPackReader,
  pause: () => Promise<void>,
): Promise<void> {
  let entries = 0;
  let scanned = 0;
  // Each commit is inflated into one reused buffer: its links are copied into the records.
  const out = new InflateScratch();
  for (const pack of store.packs) {
    let offset = PACK_HEADER_SIZE;
    while (offset < pack.source.size - 20 && scanned < SCAN_MAX) {
      const header = await packs.header(pack, offset);
      if (header.type !== OBJ_COMMIT && header.type !== OBJ_TAG) break;
      const { data, end } = await packs.inflate(pack, offset, header, out);
      if (header.type === OBJ_COMMIT) {
        const r = records.intern(hashObject("commit", data));
        if (records.seenAs(r) === Seen.Named) {
          const c = parseCommitLinks(data);
          records.setLinks(
            r,
            c.tree,
            c.parents.map((p) => records.intern(p)),
            c.time,
          );
          records.mark(r, Seen.Scanned);
          scanned++;
        }
      }
      offset = end;
      if (++entries % 256 === 0) await pause();
    }
  }
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

const filters = new FilterBuilder();

function filterOf(paths: string[] | null): Uint8Array {
  if (!paths) return Uint8Array.of(0xff);
  for (const p of paths) filters.add(latin1(p));
  return filters.finish();
}

/** Commits whose filters are computed together: their trees are located in one sorted batch per level. */
export const FILTER_BATCH = 2048;
/**
 * The same when an id table answers the lookups in memory: batching then saves no storage read,
 * and a smaller batch keeps fewer path sets and tree lists alive across its reads (the larger
 * batch's outlived young collections, and the old generation filled with them).
 */
export const TABLE_FILTER_BATCH = 256;
/** Trees a commit's filter looks up, about (both sides of each changed directory: git/git's history 10). */
const TREES_PER_COMMIT = 10;

/**
 * Adds every commit reachable from `tips` that the chain lacks. Returns how many were added.
 * Memory: a record of about 90 bytes per commit met (commit-graph-records.ts), then one layer at a
 * time.
 */
export async function extendCommitGraph(io: GraphBuildIo, tips: Oid[], layerMax = LAYER_MAX): Promise<number> {
  const { store } = io;
  const pause = io.pause ?? yieldToOthers;
  let graph = io.graph;
  const records = new CommitRecords();
  const isCovered = async (r: number) => {
    if (records.seenAs(r) === Seen.Covered) return true;
    if (!graph) return false;
    const pos = await graph.find(records.oid(r));
    if (pos < 0) return false;
    records.place(r, pos, (await graph.commit(pos)).generation);
    records.mark(r, Seen.Covered);
    return true;
  };
  // Find the new commits, newest to oldest, stopping at the covered ones. With no graph yet every
  // commit is new: they are read in pack order from the packs' leading runs of commits rather
  // than looked up one by one.
  // The build's pack reads go through windows of its own (commit-graph-pack.ts), not the shared ones.
  const packs = new BuildPackReader(store);
  if (!graph) await leadingCommits(store, records, packs, pause);
  io.onPhase?.("scan leading commits", records.byteSize);
  // A commit read or found already (a merge's parent reached again) is present: no index lookup.
  const present = async (r: number) => {
    const seen = records.seenAs(r);
    if (seen !== Seen.Named) return seen !== Seen.Absent;
    if (await store.has(records.oid(r))) return true;
    records.mark(r, Seen.Absent);
    return false;
  };
  // The new commits in the order the walk finds them (record numbers).
  let fresh = new Int32Array(1024);
  let freshCount = 0;
  // The graph is asked first for each tip: a push beside git/git's 992 refs leaves all but one
  // tip in it, and asking the pack index of each first cost a ranged lookup apiece (1,041 R2
  // calls to add one commit on big.git). A covered tip has nothing under it to add; the tips the
  // graph lacks are looked up in one sorted batch (each index page read once for them all).
  // (Tips read already from the packs' leading commits need no lookup at all.)
  const uncovered: Oid[] = [];
  for (const t of [...new Set(tips)].sort()) if (!graph || (await graph.find(t)) < 0) uncovered.push(t);
  const stack = uncovered.map((t) => records.intern(t));
  await store.locateMany(uncovered.filter((t) => records.seenAs(records.intern(t)) === Seen.Named));
  let reads = 0;
  while (stack.length > 0) {
    const r = stack.pop()!;
    if (records.seenAs(r) === Seen.Fresh || !(await present(r)) || (await isCovered(r))) continue;
    if (records.seenAs(r) === Seen.Named) {
      const obj = await store.read(records.oid(r));
      if (obj.type !== "commit") {
        records.mark(r, Seen.Absent);
        continue;
      }
      const c = parseCommitLinks(obj.data);
      records.setLinks(
        r,
        c.tree,
        c.parents.map((p) => records.intern(p)),
        c.time,
      );
    }
    const parents: number[] = [];
    for (const p of records.parents(r)) if (await present(p)) parents.push(p);
    records.setParents(r, parents);
    records.mark(r, Seen.Fresh);
    if (freshCount === fresh.length) {
      const more = new Int32Array(fresh.length * 2);
      more.set(fresh);
      fresh = more;
    }
    fresh[freshCount++] = r;
    for (const p of parents) stack.push(p);
    if (++reads % 256 === 0) await pause();
  }
  io.onPhase?.("walk from the tips", records.byteSize);
  if (freshCount === 0) return 0;

  // Parents first (post-order of a depth-first walk), from the commits in the order found.
  const order = new Int32Array(freshCount);
  let ordered = 0;
  const visited = new Uint8Array(records.size);
  for (let k = 0; k < freshCount; k++) {
    const tip = fresh[k]!;
    if (visited[tip]) continue;
    const work: { r: number; ps: number[]; next: number }[] = [{ r: tip, ps: records.parents(tip), next: 0 }];
    visited[tip] = 1;
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      if (top.next < top.ps.length) {
        const p = top.ps[top.next++]!;
        if (records.seenAs(p) === Seen.Fresh && !visited[p]) {
          visited[p] = 1;
          work.push({ r: p, ps: records.parents(p), next: 0 });
        }
        continue;
      }
      order[ordered++] = top.r;
      work.pop();
    }
  }
  fresh = new Int32Array(0);
  io.onPhase?.("order parents first", records.byteSize);

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
  let locateMany: BulkLocator | null = await bulkLocator(store, order.length * TREES_PER_COMMIT);
  const trees = new BuildTreeReader(store, undefined, packs);
  io.onPhase?.("id table", records.byteSize);
  const step = locateMany.inMemory ? TABLE_FILTER_BATCH : FILTER_BATCH;
  for (let from = 0; from < order.length; from += step) {
    const batch = order.subarray(from, from + step);
    const pairs: { before: Oid | null; after: Oid }[] = [];
    for (const r of batch) {
      const p = records.firstParent(r);
      pairs.push({ before: p >= 0 ? await treeOf(p) : null, after: records.tree(r) });
    }
    // The last batch's lookups are the table's last: let it go before the layer is written.
    const locator: TreeLocator = locateMany!;
    if (from + step >= order.length) locateMany = null;
    const changed = await changedPathsOfMany(store, pairs, locator, trees);
    for (let k = 0; k < batch.length; k++) {
      const r = batch[k]!;
      const parents: number[] = [];
      let generation = 1;
      for (const p of records.parents(r)) {
        parents.push(records.position(p));
        generation = Math.max(generation, records.generation(p) + 1);
      }
      records.place(r, base + pending.length, generation);
      pending.push({
        oid: records.oid(r),
        tree: records.tree(r),
        parents,
        generation,
        time: records.time(r),
        filter: filterOf(changed[k]!),
      });
      if (pending.length >= layerMax) await flush();
      if (pending.length % 64 === 0) await pause();
    }
  }
  if (pending.length > 0) await flush();
  return order.length;

  async function treeOf(r: number): Promise<Oid> {
    if (records.seenAs(r) === Seen.Fresh) return records.tree(r);
    return (await graph!.commit(records.position(r))).tree;
  }
}
