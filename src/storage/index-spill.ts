// Indexing a pack stored in R2 with bounded memory: the indexer's sorted runs spilled to R2 under
// the repository's prefix (deleted when indexing ends), its .idx streamed to R2 in parts.
import type { SpillStore } from "../git/index-records";
import { indexPackTo, type IndexOptions, type StreamedIndexResult } from "../git/pack-indexer";
import type { RangeSource } from "../git/range-source";
import { R2StreamWriter } from "./r2-writer";

/** Spilled parts as R2 objects under one prefix; `clear` deletes every part put. */
export class R2Spill implements SpillStore {
  private names: string[] = [];
  constructor(
    private readonly bucket: R2Bucket,
    readonly prefix: string,
  ) {}

  async put(name: string, bytes: Uint8Array): Promise<void> {
    this.names.push(name);
    await this.bucket.put(this.prefix + name, bytes);
  }

  async read(name: string, offset: number, length: number): Promise<Uint8Array> {
    const obj = await this.bucket.get(this.prefix + name, { range: { offset, length } });
    if (!obj) throw new Error(`spilled part ${this.prefix}${name} is missing`);
    return new Uint8Array(await obj.arrayBuffer());
  }

  async clear(): Promise<void> {
    // R2 deletes up to 1,000 keys a call.
    for (let i = 0; i < this.names.length; i += 1000) {
      await this.bucket.delete(this.names.slice(i, i + 1000).map((n) => this.prefix + n));
    }
    this.names = [];
  }
}

/**
 * Indexes the pack `source` reads, writing its .idx to `idxKey` as it is made; on failure nothing
 * of the .idx or the spilled runs stays in R2. Returns the index read back too: the callers'
 * connectivity checks still look ids up in it whole.
 */
export async function indexPackIntoR2(
  bucket: R2Bucket,
  source: RangeSource,
  keys: { idxKey: string; spillPrefix: string },
  opts: IndexOptions & { recordBudget?: number },
): Promise<StreamedIndexResult & { index: Uint8Array }> {
  const writer = new R2StreamWriter(bucket, keys.idxKey);
  let result: StreamedIndexResult;
  try {
    result = await indexPackTo(source, {
      ...opts,
      spill: new R2Spill(bucket, keys.spillPrefix),
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
