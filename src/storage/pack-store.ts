// A repository's packs in R2 as one object store, with pack indexes cached per isolate (they
// are immutable). Storage only: which packs to open comes from the Durable Object's snapshot.
import { ObjectStore, Pack, type PackLookup } from "../git/object-store";
import { GitError } from "../git/errors";
import { PackIndex } from "../git/pack-index";
import { RangedPackIndex } from "../git/pack-index-ranged";
import { WindowedSource } from "../git/range-source";
import { ByteLru } from "../utils/lru";
import { r2Keys } from "./keys";
import { R2Source } from "./r2-source";
import { idTableFileBeside } from "./pack-id-table-store";
import { edgeCacheBound } from "../utils/edge-budget";

/** Which repository: the tenant and the repository's id within it. */
export interface RepoRef {
  tenantId: string;
  repoId: string;
}

/**
 * An index up to this size (about 37,000 objects) is read whole in one request and kept: its
 * lookups then never wait. A larger one is read by ranges (`git/pack-index-ranged.ts`): its
 * fan-out table here, its names and offsets in 4 KiB pages of one byte-bounded cache, so that
 * memory does not grow with the repository.
 */
export const WHOLE_INDEX_MAX = 1024 * 1024;
/** Header and fan-out table of a version 2 index: what a ranged index reads when opened. */
const INDEX_HEAD = 8 + 256 * 4;

/** Opened indexes, whole or ranged (a ranged one holds only its fan-out table: about 1.3 KiB). */
const newIndexCache = () =>
  new ByteLru<string, PackLookup>(edgeCacheBound("storage.pack-indexes"), (i) => i.byteSize + 256, WHOLE_INDEX_MAX + 64 * 1024);
let indexes = newIndexCache();
edgeCacheBound("storage.pack-indexes", () => indexes);

let wholeIndexMax = WHOLE_INDEX_MAX;

/**
 * Sets the largest index read whole (tests: 0 opens every index by ranges, so the ranged path runs
 * on small repositories). Forgets the indexes opened so far; returns the previous value.
 */
export function setWholeIndexMax(bytes: number): number {
  const before = wholeIndexMax;
  wholeIndexMax = bytes;
  indexes = newIndexCache();
  return before;
}

/** The size of a version 2 index of `objects` objects without 64-bit offsets. */
const indexBytes = (objects: number) => INDEX_HEAD + objects * 28 + 40;

/** Whether the index of a pack of `objects` objects is read by ranges (so has an id table file written beside it). */
export const indexReadByRanges = (objects: number): boolean => indexBytes(objects) > wholeIndexMax;

/**
 * Opens the index stored under `key`: whole when `objects` says it is small (one GET), else by
 * ranges (one ranged GET of its fan-out table, which also tells its size).
 */
export async function loadPackIndex(bucket: R2Bucket, key: string, objects?: number): Promise<PackLookup> {
  const hit = indexes.get(key);
  // A ranged index reads on: through this request's binding, so that its reads are metered on
  // the request that makes them, not on the one that opened the index.
  if (hit)
    return hit instanceof RangedPackIndex
      ? hit.through(new R2Source(bucket, key, hit.size), idTableFileBeside(bucket, key, hit.count))
      : hit;
  let index: PackLookup;
  if (objects !== undefined && indexBytes(objects) <= wholeIndexMax) {
    const obj = await bucket.get(key);
    if (!obj) throw new GitError("missing_object", `pack index ${key} is missing`);
    index = new PackIndex(new Uint8Array(await obj.arrayBuffer()));
  } else {
    const obj = await bucket.get(key, { range: { offset: 0, length: INDEX_HEAD } });
    if (!obj) throw new GitError("missing_object", `pack index ${key} is missing`);
    const head = new Uint8Array(await obj.arrayBuffer());
    if (obj.size <= wholeIndexMax) {
      // An index of unknown size that turns out small: read it whole after all.
      const all = await bucket.get(key);
      if (!all) throw new GitError("missing_object", `pack index ${key} is missing`);
      index = new PackIndex(new Uint8Array(await all.arrayBuffer()));
    } else {
      const ranged = await RangedPackIndex.open(new R2Source(bucket, key, obj.size), head);
      index = ranged.withIdTable(idTableFileBeside(bucket, key, ranged.count));
    }
  }
  indexes.set(key, index);
  return index;
}

export async function openPack(bucket: R2Bucket, repo: RepoRef, name: string, bytes: number, objects?: number): Promise<Pack> {
  const index = await loadPackIndex(bucket, r2Keys.packIndex(repo.tenantId, repo.repoId, name), objects);
  const source = new WindowedSource(new R2Source(bucket, r2Keys.pack(repo.tenantId, repo.repoId, name), bytes));
  return new Pack(name, index, source);
}

export async function openStore(
  bucket: R2Bucket,
  repo: RepoRef,
  snapshot: { packs: readonly { name: string; bytes: number; objects?: number }[] },
): Promise<ObjectStore> {
  return new ObjectStore(await Promise.all(snapshot.packs.map((p) => openPack(bucket, repo, p.name, p.bytes, p.objects))));
}
