// Blob contents as streams, for raw downloads and archives: an entry stored whole in its pack is
// inflated as it is read (ranged reads through DecompressionStream), never held in memory.
import { GitError } from "./errors";
import type { ObjectStore } from "./object-store";
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, typeName } from "./pack-format";
import type { Oid } from "./oid";

/** Blobs up to this size are read whole (and shared through the object cache). */
export const SMALL_BLOB = 1024 * 1024;
/**
 * Largest blob rebuilt from a delta: the base, the delta and the result are all in memory at
 * once, so this bounds a download's memory at a few times this value.
 */
const MAX_DELTA_BLOB = 16 * 1024 * 1024;
/** Compressed bytes fetched per ranged read when streaming an entry. */
const CHUNK = 1024 * 1024;

export interface BlobStream {
  size: number;
  stream: ReadableStream<Uint8Array>;
}

/** How a blob is stored: whole (streamable at any size) or as a delta, and its size. */
export async function blobStorage(store: ObjectStore, oid: Oid): Promise<{ size: number; whole: boolean }> {
  const loc = await store.locate(oid);
  if (!loc) throw new GitError("missing_object", `object ${oid} is missing`);
  const header = await loc.pack.header(loc.offset);
  if (header.type !== OBJ_OFS_DELTA && header.type !== OBJ_REF_DELTA) {
    if (typeName(header.type) !== "blob") throw new GitError("missing_object", `${oid} is not a blob`);
    return { size: header.size, whole: true };
  }
  const info = await store.infoAt(loc.pack, loc.offset);
  if (info.type !== "blob") throw new GitError("missing_object", `${oid} is not a blob`);
  return { size: info.size, whole: false };
}

/** A blob's bytes as a stream, with its size known up front (for Content-Length and tar headers). */
export async function openBlobStream(store: ObjectStore, oid: Oid): Promise<BlobStream> {
  const loc = await store.locate(oid);
  if (!loc) throw new GitError("missing_object", `object ${oid} is missing`);
  const { size, whole } = await blobStorage(store, oid);
  if (size <= SMALL_BLOB || !whole) {
    if (!whole && size > MAX_DELTA_BLOB) {
      throw new GitError(
        "too_large",
        `this file (${size} bytes) is stored as a delta too large to rebuild here; clone the repository to get it`,
      );
    }
    const data = await store.readTyped(oid, "blob");
    return { size, stream: new Blob([data]).stream() as ReadableStream<Uint8Array> };
  }
  const header = await loc.pack.header(loc.offset);
  const start = loc.offset + header.headerLength;
  const end = await loc.pack.entryEnd(loc.offset);
  let pos = start;
  const compressed = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pos >= end) {
          controller.close();
          return;
        }
        const next = Math.min(end, pos + CHUNK);
        const bytes = await loc.pack.source.read(pos, next);
        pos = next;
        controller.enqueue(bytes);
      },
    },
    { highWaterMark: 0 },
  );
  let seen = 0;
  const check = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.length;
      if (seen > size) throw new GitError("corrupt_pack", `blob ${oid} inflates past its size`);
      controller.enqueue(chunk);
    },
    flush() {
      if (seen !== size) throw new GitError("corrupt_pack", `blob ${oid} inflates to ${seen} bytes, its header says ${size}`);
    },
  });
  const stream = compressed
    .pipeThrough(new DecompressionStream("deflate") as unknown as TransformStream<Uint8Array, Uint8Array>)
    .pipeThrough(check);
  return { size, stream };
}

/** The first `n` bytes of a blob (binary sniffing of large files) without reading all of it. */
export async function blobPrefix(store: ObjectStore, oid: Oid, n: number): Promise<Uint8Array> {
  const { stream } = await openBlobStream(store, oid);
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let have = 0;
  while (have < n) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
    have += value.length;
  }
  await reader.cancel().catch(() => undefined);
  const out = new Uint8Array(Math.min(n, have));
  let o = 0;
  for (const p of parts) {
    const take = Math.min(p.length, out.length - o);
    out.set(p.subarray(0, take), o);
    o += take;
    if (o >= out.length) break;
  }
  return out;
}
