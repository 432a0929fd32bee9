// Large packs' id table files in R2 (git/pack-id-table-file.ts): written beside a .idx as it is
// written, and found beside it when a ranged index reads its id table.
import { IdTableFromIdx, ID_TABLE_FILE_HEAD, idTableFileSize, isIdTableHead } from "../git/pack-id-table-file";
import type { IdTableFile } from "../git/pack-index-ranged";
import { r2Keys } from "./keys";
import { R2Source } from "./r2-source";
import { type StreamedPut, streamedPut } from "./r2-writer";

/**
 * A writer of the id table file beside the .idx stored under `idxKey`, fed the .idx's bytes in
 * order as they are written (`write`; `finish` once the .idx is whole, before the pack is used).
 * It writes nothing for a pack whose index `ranged` says is read whole (its lookups never wait).
 */
export function idTableBeside(bucket: R2Bucket, idxKey: string, ranged: (objects: number) => boolean) {
  const key = r2Keys.packIdTableBeside(idxKey);
  const derive = new IdTableFromIdx();
  let put: StreamedPut | null = null;
  let skip = false;
  return {
    async write(chunk: Uint8Array): Promise<void> {
      if (skip) return;
      for (const piece of derive.feed(chunk)) {
        if (!put) {
          skip = !ranged(derive.count);
          if (skip) return;
          put = streamedPut(bucket, key, idTableFileSize(derive.count));
        }
        await put.write(piece);
      }
    },
    async finish(): Promise<void> {
      await put?.close();
    },
    /** Stores nothing (also when the PUT had completed). */
    async abort(err: unknown): Promise<void> {
      await put?.abort(err);
      if (put) await bucket.delete(key);
    },
  };
}

/** The id table file that may lie beside the .idx under `idxKey` (of `count` objects), read through `bucket`. */
export function idTableFileBeside(bucket: R2Bucket, idxKey: string, count: number): IdTableFile {
  const key = r2Keys.packIdTableBeside(idxKey);
  const size = idTableFileSize(count);
  return {
    source: new R2Source(bucket, key, size),
    async present() {
      const head = await bucket.get(key, { range: { offset: 0, length: ID_TABLE_FILE_HEAD } });
      return !!head && head.size === size && isIdTableHead(new Uint8Array(await head.arrayBuffer()), count);
    },
  };
}
