// Reading a pack front to back for the indexer: a cursor over large sequential reads, the CRC and
// pack hash of raw byte ranges, and inflation of objects too large to inflate whole.
// pako, not node:zlib, for objects too large to inflate whole (inflateStream): its Inflate
// takes the input piece by piece across async R2 reads, never holds the object, and says where
// the zlib stream ended (strm.avail_in), which the next entry's offset needs; node:zlib offers
// that count only from inflateSync over the whole compressed input. The indexer inflates everything else with ./zlib.
import { Inflate } from "pako";
import { crc32 } from "./crc32";
import { corruptPack } from "./errors";
import { sha1, type Oid } from "./oid";
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, typeName, type EntryHeader } from "./pack-format";
import type { RangeSource } from "./range-source";

/** Sequential reads of this size keep R2 requests few and memory flat. */
const CHUNK = 8 * 1024 * 1024;

/** Reads a source front to back, keeping only the unread part in memory. */
export class Cursor {
  /** The buffered bytes: a view of `store`, valid until the next `ensure`. */
  buf = new Uint8Array(0);
  private store = new Uint8Array(0);
  /** Offset in the source of buf[0]. */
  base = 0;
  constructor(private readonly source: RangeSource) {}

  get end(): number {
    return this.base + this.buf.length;
  }

  /** Makes sure bytes up to `offset + n` are buffered (or the source ends); drops bytes before `offset`. */
  async ensure(offset: number, n: number): Promise<void> {
    if (offset > this.base) {
      this.buf = this.buf.subarray(Math.min(offset - this.base, this.buf.length));
      this.base = offset;
    }
    while (this.end < Math.min(offset + n, this.source.size)) {
      const more = await this.source.read(this.end, Math.min(this.source.size, this.end + Math.max(CHUNK, n)));
      if (more.length === 0) break;
      const need = this.buf.length + more.length;
      // The unread bytes and the new read go into one buffer kept across reads: a new buffer per
      // read was 8 to 16 MiB of garbage per 8 MiB of pack, array buffers V8 reclaims late (the
      // push isolate's held array buffers reached 672 MiB importing a 538 MiB pack).
      if (need > this.store.length) {
        // Room for two reads, but never more than the source (a small push stays small).
        const next = new Uint8Array(Math.max(need, Math.min(2 * CHUNK, this.source.size)));
        next.set(this.buf);
        this.store = next;
      } else {
        const from = this.buf.byteOffset - this.store.byteOffset;
        this.store.copyWithin(0, from, from + this.buf.length);
      }
      this.store.set(more, this.buf.length);
      this.buf = this.store.subarray(0, need);
    }
  }

  at(offset: number): number {
    return offset - this.base;
  }
}

/** CRC of the raw bytes [start, end), feeding them to the pack hash too. */
export async function hashRange(
  source: RangeSource,
  cursor: Cursor,
  start: number,
  end: number,
  packHash: ReturnType<typeof sha1>,
): Promise<number> {
  let crc = 0;
  for (let p = start; p < end; ) {
    let piece: Uint8Array;
    if (p >= cursor.base && p < cursor.end) {
      piece = cursor.buf.subarray(cursor.at(p), Math.min(cursor.buf.length, cursor.at(end)));
    } else {
      piece = await source.read(p, Math.min(end, p + CHUNK));
    }
    packHash.update(piece);
    crc = crc32(piece, crc);
    p += piece.length;
  }
  return crc;
}

/** Inflates a large object in pieces, hashing it, and finds where its zlib stream ends. */
export async function inflateStream(
  source: RangeSource,
  dataStart: number,
  dataEnd: number,
  header: EntryHeader,
  offset: number,
): Promise<{ end: number; oid: Oid | null }> {
  const isDelta = header.type === OBJ_OFS_DELTA || header.type === OBJ_REF_DELTA;
  const hash = sha1();
  if (!isDelta) hash.update(new TextEncoder().encode(`${typeName(header.type)} ${header.size}\0`));
  let produced = 0;
  // pako sets `ended` and keeps its z_stream in `strm` (not in its type declarations).
  const inflater = new Inflate() as Inflate & { ended: boolean; strm: { avail_in: number } };
  inflater.onData = (chunk: Uint8Array) => {
    produced += chunk.length;
    if (!isDelta) hash.update(chunk);
  };
  let pos = dataStart;
  while (!inflater.ended) {
    if (pos >= dataEnd) throw corruptPack(`object at offset ${offset} is truncated`);
    const piece = await source.read(pos, Math.min(dataEnd, pos + CHUNK));
    inflater.push(piece, false);
    if (inflater.err) throw corruptPack(`object at offset ${offset}: ${inflater.msg}`);
    if (inflater.ended) pos += piece.length - inflater.strm.avail_in;
    else pos += piece.length;
  }
  if (produced !== header.size) {
    throw corruptPack(`object at offset ${offset} inflates to ${produced} bytes, its header says ${header.size}`);
  }
  return { end: pos, oid: isDelta ? null : (hash.digest("hex") as Oid) };
}
