// Pack upkeep: many pushes leave many small packs; compaction rewrites everything reachable from
// the refs into one pack (reusing stored deltas), so reads stay few and clones can stream it as is.
// Old packs are retired, and deleted only after a grace period: fetches that started before
// still read them. Objects no ref reaches are not carried over; a purge is a compaction on demand.
import type { Env } from "../env";
import { CommitGraph } from "../git/commit-graph";
import { setHash } from "../git/oid";
import { ID_TABLE_BUDGET, idTableLocator } from "../git/pack-id-table";
import { packIndexSize, streamPackIndex } from "../git/pack-index";
import { RangedPackIndex } from "../git/pack-index-ranged";
import { forgetPack, type ObjectStore } from "../git/object-store";
import { COPY_BUFFER } from "../git/pack-copy";
import { writePack } from "../git/pack-writer";
import { enumerateObjects, type WalkResult } from "../git/walk";
import { WalkReader } from "../git/walk-reader";
import { indexReadByRanges, openStore, type RepoRef } from "../storage/pack-store";
import { idTableBeside } from "../storage/pack-id-table-store";
import { r2Keys } from "../storage/keys";
import { putStreamed, R2StreamWriter } from "../storage/r2-writer";
import { randomId } from "../utils/crypto";
import { Pacer } from "../utils/pace";
import type { PackEntry, RepoSnapshot } from "./snapshot";
import type { Oid } from "../git/oid";
import { logInfo } from "../utils/info-line";

/** Entries sorted or written between two yields while the new pack's .idx is made. */
const INDEX_SLICE_ENTRIES = 16384;
/** Bytes of each part of the compacted pack's multipart upload. */
const COMPACTION_PART = 5 * 1024 * 1024;
/** Compact once this many packs are live. */
export const COMPACT_AT_PACKS = 4;
/** Retired packs stay readable this long (the longest fetch we expect to still be reading). */
export const RETIRED_GRACE_MS = 60 * 60 * 1000;
/** Packs in R2 that no catalog row names (a push that died before answering) go after this long. */
export const ORPHAN_GRACE_MS = 24 * 60 * 60 * 1000;

export async function compactPacks(env: Env, repo: RepoRef, snapshot: RepoSnapshot): Promise<PackEntry> {
  const started = Date.now();
  // A line at each phase's end: a compaction of a large repository runs for minutes, and one that
  // stops (an alarm's time limit, an isolate reset) must show where.
  const phase = (name: string, fields: Record<string, unknown> = {}) =>
    logInfo("compaction-phase", { repo: repo.repoId, phase: name, ms: Date.now() - started, ...fields });
  phase("start", { packs: snapshot.packs.length, refs: snapshot.refs.length });
  const store = await openStore(env.OBJECTS, repo, snapshot);
  // Every object is looked up at least twice (the walk, the plan): through the packs' id tables,
  // read once by large reads, not one ranged binary search of an index an object, which on
  // git/git's 900,000 objects had not finished the walk after 25 minutes. Larger repositories
  // than the tables' budget look up by ranges as before.
  const tablesBytes = await useIdTables(store);
  const tips = snapshot.refs.map((r) => r.oid);
  // Every object of the packs at most (an object stored twice counts twice: a little room to spare).
  const expectedObjects = snapshot.packs.reduce((n, p) => n + (p.objects ?? 0), 0);
  const { walk, walkReads, walkBytes, spare } = await walkObjects(store, tips, expectedObjects);
  const walkMs = Date.now() - started;
  phase("walked", { objects: walk.objects.size, commits: walk.commits, tablesBytes, walkReads });
  // The packs are retired once the pack is written: what the shared caches hold of them (a walk
  // reading through them once filled 24 MiB of windows and 16 MiB of objects) is of no more use.
  for (const p of store.packs) forgetPack(p);
  const name = `pack-${randomId(24)}`;
  const key = r2Keys.pack(repo.tenantId, repo.repoId, name);
  // R2's smallest part (all but the last must be at least 5 MiB): the part buffer is the largest
  // single thing a compaction holds besides its per-object columns.
  const writer = new R2StreamWriter(env.OBJECTS, key, COMPACTION_PART);
  // The walk reader's buffers (its windows, then its slab) become the part and the copy buffer:
  // made anew, they were the sampled peak's array buffers beside the walk's not yet collected.
  const [largest, next] = spare;
  if (largest) writer.adopt(largest);
  const copyBuffer = next && next.length >= COPY_BUFFER ? next.subarray(0, COPY_BUFFER) : undefined;
  try {
    const stats = await writePack(
      store,
      walk.objects,
      // The tables (12 bytes an object) go once the plan holds every object's place.
      {
        ofsDelta: true,
        thin: false,
        clientHas: new Set(),
        index: true,
        planned: () => {
          store.useLocator(null);
          phase("planned");
        },
        copyBuffer,
      },
      (chunk) => writer.write(chunk),
    );
    await writer.finish();
    phase("written", { bytes: stats.bytes });
    // In slices (the repository's Durable Object answers every page's snapshot call meanwhile),
    // and streamed: the index is 28 bytes an object, not to be held whole beside the columns.
    const { oids, offsets, crcs } = stats.index!;
    const idxKey = r2Keys.packIndex(repo.tenantId, repo.repoId, name);
    const table = idTableBeside(env.OBJECTS, idxKey, indexReadByRanges);
    try {
      await putStreamed(env.OBJECTS, idxKey, packIndexSize(offsets), (write) =>
        streamPackIndex(oids, offsets, crcs, stats.checksum, new Pacer(INDEX_SLICE_ENTRIES), async (chunk) => {
          await write(chunk);
          await table.write(chunk);
        }),
      );
      await table.finish();
    } catch (err) {
      await table.abort(err);
      throw err;
    }
    // One line a compaction: how long the repository's largest background job took, and its reads.
    const line = { repo: repo.repoId, packs: snapshot.packs.length, objects: stats.objects, bytes: stats.bytes };
    const cost = {
      ms: Date.now() - started,
      walkMs,
      tablesBytes,
      walkReads,
      walkBytes,
      indexReads: indexReads(store),
      // Entries rebuilt (inflated, patched, deflated) rather than copied: their delta chains are read.
      rebuilt: stats.rebuilt,
      copyReads: stats.copyReads,
      copyPeakBytes: stats.copyPeakBytes,
      // Buffers the write made rather than took over from the walk (its part grown by doubling, copy buffers).
      madeBytes: writer.allocated + stats.copyMadeBytes,
    };
    logInfo("compaction", { ...line, ...cost });
    return { name, objects: stats.objects, bytes: stats.bytes, createdAt: Date.now(), closure: setHash(tips) };
  } catch (err) {
    await writer.abort();
    console.log(JSON.stringify({ level: "error", message: `compaction of ${repo.repoId} failed: ${String(err)}` }));
    throw err;
  }
}

/**
 * Every object reachable from the tips, read through a reader of the walk's own (a few MiB of
 * windows and a slab, `WalkReader`), not the isolate's shared caches; the reader goes when the
 * walk returns, its buffers handed back (`spare`, largest first) for the writer. Its storage reads
 * and the bytes it held, for the compaction's log line.
 */
async function walkObjects(
  store: ObjectStore,
  tips: Oid[],
  expectedObjects: number,
): Promise<{ walk: WalkResult; walkReads: number; walkBytes: number; spare: Uint8Array[] }> {
  const reader = new WalkReader(store);
  // Each commit is read once (the walk keeps what it needs): the graph need not remember them.
  const graph = new CommitGraph(store, reader.read, false);
  const walk = await enumerateObjects(graph, { wants: tips, haves: [], shallow: new Set(), expectedObjects });
  const walkBytes = reader.heldBytes;
  return { walk, walkReads: reader.reads, walkBytes, spare: reader.release() };
}

/**
 * Hands the store its packs' id tables when they fit ID_TABLE_BUDGET; their bytes (0 without).
 * Not kept for the isolate: held by the store alone, so that letting it go (`useLocator(null)`)
 * frees them.
 */
async function useIdTables(store: ObjectStore): Promise<number> {
  const locator = await idTableLocator(store, { maxBytes: ID_TABLE_BUDGET, keep: false });
  if (locator) store.useLocator(locator);
  return locator?.bytes ?? 0;
}

/** Storage reads the store's ranged indexes made (opening them, id tables, lookups): a few per pack when the tables answer. */
const indexReads = (store: ObjectStore): number =>
  store.packs.reduce((n, p) => n + (p.index instanceof RangedPackIndex ? p.index.reads : 0), 0);

/** Deletes the R2 objects of packs (pack, index, id table file). */
export async function deletePacks(env: Env, repo: RepoRef, names: string[]): Promise<void> {
  const keys = names.flatMap((n) => [
    r2Keys.pack(repo.tenantId, repo.repoId, n),
    r2Keys.packIndex(repo.tenantId, repo.repoId, n),
    r2Keys.packIdTable(repo.tenantId, repo.repoId, n),
  ]);
  for (let i = 0; i < keys.length; i += 1000) await env.OBJECTS.delete(keys.slice(i, i + 1000));
}

/** Names of packs stored in R2 for this repository, with their upload time. */
export async function storedPacks(env: Env, repo: RepoRef): Promise<{ name: string; uploaded: number }[]> {
  const prefix = r2Keys.pack(repo.tenantId, repo.repoId, "").replace(/\.pack$/, "");
  const out: { name: string; uploaded: number }[] = [];
  let cursor: string | undefined;
  do {
    const listed = await env.OBJECTS.list({ prefix, cursor, limit: 1000 });
    for (const o of listed.objects) {
      if (o.key.endsWith(".pack")) out.push({ name: o.key.slice(prefix.length, -5), uploaded: o.uploaded.getTime() });
    }
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  return out;
}

/**
 * Deletes the derived data (last-commit files) of commits the live packs no longer hold, and the
 * commit-graph: after a purge nothing computed from a purged commit stays in R2.
 */
export async function dropDerivedData(env: Env, repo: RepoRef, snapshot: RepoSnapshot): Promise<number> {
  const store = await openStore(env.OBJECTS, repo, snapshot);
  const prefix = r2Keys.lastCommitsPrefix(repo.tenantId, repo.repoId);
  const stale: string[] = [];
  let cursor: string | undefined;
  do {
    const listed = await env.OBJECTS.list({ prefix, cursor, limit: 1000 });
    for (const o of listed.objects) {
      const commit = /([0-9a-f]{40})\.json$/.exec(o.key)?.[1] as Oid | undefined;
      if (!commit || !(await store.has(commit))) stale.push(o.key);
    }
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  // The commit-graph lists purged commits: it goes whole, and the next push builds it again.
  const graphPrefix = r2Keys.commitGraphPrefix(repo.tenantId, repo.repoId);
  cursor = undefined;
  do {
    const listed = await env.OBJECTS.list({ prefix: graphPrefix, cursor, limit: 1000 });
    for (const o of listed.objects) stale.push(o.key);
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  for (let i = 0; i < stale.length; i += 1000) await env.OBJECTS.delete(stale.slice(i, i + 1000));
  return stale.length;
}

/**
 * Deletes spill parts (git/spill.ts) written before `cutoff`: a push or import deletes its own as
 * it ends, so these are what an isolate that died meanwhile left behind.
 */
export async function deleteStaleSpills(env: Env, repo: RepoRef, cutoff: number): Promise<number> {
  const prefix = r2Keys.spillPrefix(repo.tenantId, repo.repoId);
  const stale: string[] = [];
  let cursor: string | undefined;
  do {
    const listed = await env.OBJECTS.list({ prefix, cursor, limit: 1000 });
    for (const o of listed.objects) if (o.uploaded.getTime() < cutoff) stale.push(o.key);
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
  for (let i = 0; i < stale.length; i += 1000) await env.OBJECTS.delete(stale.slice(i, i + 1000));
  return stale.length;
}
