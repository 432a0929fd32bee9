// A repository's packs in R2 as one object store, with pack indexes cached per isolate (they
// are immutable). Storage only: which packs to open comes from the Durable Object's snapshot.
import { ObjectStore, Pack } from "../git/object-store";
import { GitError } from "../git/errors";
import { PackIndex } from "../git/pack-index";
import { WindowedSource } from "../git/range-source";
import { ByteLru } from "../utils/lru";
import { r2Keys } from "./keys";
import { R2Source } from "./r2-source";

/** Which repository: the tenant and the repository's id within it. */
export interface RepoRef {
  tenantId: string;
  repoId: string;
}

/**
 * Pack indexes are loaded whole (28 bytes an object): one of up to 24 MiB (about 850,000 objects)
 * is kept, else every request of a big repository would read it again.
 */
const indexes = new ByteLru<string, PackIndex>(32 * 1024 * 1024, (i) => i.byteSize, 24 * 1024 * 1024);

export async function loadPackIndex(bucket: R2Bucket, key: string): Promise<PackIndex> {
  const hit = indexes.get(key);
  if (hit) return hit;
  const obj = await bucket.get(key);
  if (!obj) throw new GitError("missing_object", `pack index ${key} is missing`);
  const index = new PackIndex(new Uint8Array(await obj.arrayBuffer()));
  indexes.set(key, index);
  return index;
}

export async function openPack(bucket: R2Bucket, repo: RepoRef, name: string, bytes: number): Promise<Pack> {
  const index = await loadPackIndex(bucket, r2Keys.packIndex(repo.tenantId, repo.repoId, name));
  const source = new WindowedSource(new R2Source(bucket, r2Keys.pack(repo.tenantId, repo.repoId, name), bytes));
  return new Pack(name, index, source);
}

export async function openStore(
  bucket: R2Bucket,
  repo: RepoRef,
  snapshot: { packs: readonly { name: string; bytes: number }[] },
): Promise<ObjectStore> {
  return new ObjectStore(await Promise.all(snapshot.packs.map((p) => openPack(bucket, repo, p.name, p.bytes))));
}
