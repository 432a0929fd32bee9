// The pack of a push in R2, and a thin one stored again completed with its bases.
import type { Env } from "../env";
import { indexIds, type SortedIds } from "../git/connectivity";
import type { ObjectStore, PackLookup } from "../git/object-store";
import { completeThinPack } from "../git/pack-completer";
import { PackIndex } from "../git/pack-index";
import type { StreamedIndexResult } from "../git/pack-indexer";
import type { RangeSource } from "../git/range-source";
import type { RepoRef } from "../services/repositories";
import { r2Keys } from "../storage/keys";
import { R2StreamWriter } from "../storage/r2-writer";
import { idTableFileOf } from "../git/pack-id-table-file";
import { indexReadByRanges } from "../storage/pack-store";
import { randomId } from "../utils/crypto";

/** The pack of this push in R2 (its name changes when a thin pack is stored completed). */
export class PushPack {
  name: string;
  key: string;
  constructor(
    private readonly bucket: R2Bucket,
    name: string,
    key: string,
  ) {
    this.name = name;
    this.key = key;
  }
  get idxKey(): string {
    return this.key.replace(/\.pack$/, ".idx");
  }
  /** Deletes the pack, its index and id table file: the push keeps nothing. */
  drop(): Promise<void> {
    return this.bucket.delete([this.key, this.idxKey, r2Keys.packIdTableBeside(this.idxKey)]);
  }
}

/**
 * Stores a thin pack again, completed with its bases from the repository, under a new name (the
 * thin one is deleted), with its .idx. The thin pack's .idx is read back whole for it: a thin pack
 * is a push of a few new commits, as a rule.
 */
export async function storeCompleted(
  env: Env,
  repo: RepoRef,
  files: PushPack,
  source: RangeSource,
  indexed: StreamedIndexResult,
  oldStore: ObjectStore,
): Promise<{ size: number; count: number; index: PackLookup; received: SortedIds }> {
  const stored = await env.OBJECTS.get(files.idxKey);
  if (!stored) throw new Error(`pack index ${files.idxKey} vanished after it was written`);
  const thinIndex = new Uint8Array(await stored.arrayBuffer());
  const bases = await Promise.all(indexed.missingBases.map(async (oid) => ({ oid, object: await oldStore.read(oid) })));
  const completedName = `pack-${randomId(24)}`;
  const completedKey = r2Keys.pack(repo.tenantId, repo.repoId, completedName);
  const writer = new R2StreamWriter(env.OBJECTS, completedKey);
  let completed: Awaited<ReturnType<typeof completeThinPack>>;
  try {
    completed = await completeThinPack(source, { ...indexed, index: thinIndex }, bases, (chunk) => writer.write(chunk));
    await writer.finish();
  } catch (err) {
    await writer.abort();
    await files.drop();
    throw err;
  }
  await files.drop();
  files.name = completedName;
  files.key = completedKey;
  // The received pack's .idx is in R2 already; a completed pack's is not.
  if (completed.count > 0) {
    await env.OBJECTS.put(files.idxKey, completed.index);
    if (indexReadByRanges(completed.count))
      await env.OBJECTS.put(r2Keys.packIdTableBeside(files.idxKey), idTableFileOf(completed.index));
  }
  return {
    size: completed.size,
    count: completed.count,
    index: new PackIndex(completed.index),
    received: indexIds(new PackIndex(thinIndex)),
  };
}
