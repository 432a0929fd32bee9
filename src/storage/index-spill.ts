// Indexing a pack stored in R2 with bounded memory: the indexer's sorted runs spilled through the
// store the caller gives (storage/spill-store.ts: R2 under the repository's spill/ prefix, deleted
// when indexing ends), its .idx streamed to R2 in parts.
import type { SpillStore } from "../git/spill";
import { indexPackTo, type IndexOptions, type StreamedIndexResult } from "../git/pack-indexer";
import type { RangeSource } from "../git/range-source";
import { R2StreamWriter } from "./r2-writer";

/**
 * Indexes the pack `source` reads, writing its .idx to `idxKey` as it is made; on failure nothing
 * of the .idx or the spilled runs stays in R2. Returns the index read back too: the callers'
 * connectivity checks still look ids up in it whole.
 */
export async function indexPackIntoR2(
  bucket: R2Bucket,
  source: RangeSource,
  keys: { idxKey: string; spill: SpillStore },
  opts: IndexOptions & { recordBudget?: number },
): Promise<StreamedIndexResult & { index: Uint8Array }> {
  const writer = new R2StreamWriter(bucket, keys.idxKey);
  let result: StreamedIndexResult;
  try {
    result = await indexPackTo(source, {
      ...opts,
      spill: keys.spill,
      writeIndex: (chunk) => writer.write(chunk),
    });
    await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  const stored = await bucket.get(keys.idxKey);
  if (!stored) throw new Error(`pack index ${keys.idxKey} vanished after it was written`);
  return { ...result, index: new Uint8Array(await stored.arrayBuffer()) };
}
