// Indexing a pack stored in R2 with bounded memory: the indexer's sorted runs spilled through the
// store the caller gives (storage/spill-store.ts: R2 under the repository's spill/ prefix, deleted
// when indexing ends), its .idx streamed to R2 in parts.
import type { SpillStore } from "../git/spill";
import { indexPackTo, type IndexOptions, type StreamedIndexResult } from "../git/pack-indexer";
import type { RangeSource } from "../git/range-source";
import { idxIds, indexIds, type SortedIds } from "../git/connectivity";
import type { PackLookup } from "../git/object-store";
import { PackIndex } from "../git/pack-index";
import { indexReadByRanges, loadPackIndex } from "./pack-store";
import { idTableBeside } from "./pack-id-table-store";
import { R2Source } from "./r2-source";
import { R2StreamWriter } from "./r2-writer";

/**
 * Indexes the pack `source` reads, writing its .idx to `idxKey` as it is made, and a large pack's id
 * table file beside it (storage/pack-id-table-store.ts); on failure nothing of them or of the
 * spilled runs stays in R2. The .idx is not read back: `openIndexed` opens it
 * as any stored index (whole when small, else by ranges).
 */
export async function indexPackIntoR2(
  bucket: R2Bucket,
  source: RangeSource,
  keys: { idxKey: string; spill: SpillStore },
  opts: IndexOptions & { recordBudget?: number },
): Promise<StreamedIndexResult> {
  const writer = new R2StreamWriter(bucket, keys.idxKey);
  const table = idTableBeside(bucket, keys.idxKey, indexReadByRanges);
  try {
    const result = await indexPackTo(source, {
      ...opts,
      spill: keys.spill,
      writeIndex: async (chunk) => {
        await writer.write(chunk);
        await table.write(chunk);
      },
      spareBuffer: (bytes) => writer.adopt(bytes),
    });
    await writer.finish();
    await table.finish();
    return result;
  } catch (err) {
    await writer.abort();
    await table.abort(err);
    throw err;
  }
}

/**
 * The .idx just written, for the object store and the connectivity check: a small one whole, a
 * large one by ranges (its ids read in windows for the merge), never a whole copy of a large one.
 */
export async function openIndexed(
  bucket: R2Bucket,
  idxKey: string,
  indexed: StreamedIndexResult,
): Promise<{ index: PackLookup; ids: SortedIds }> {
  const index = await loadPackIndex(bucket, idxKey, indexed.count);
  const ids = index instanceof PackIndex ? indexIds(index) : await idxIds(new R2Source(bucket, idxKey, indexed.indexSize));
  return { index, ids };
}
