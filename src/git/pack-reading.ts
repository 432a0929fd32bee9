// Reading a pack front to back for the indexer: a cursor over large sequential reads, the CRC and
// pack hash of raw byte ranges, and inflation in pieces of entries too large to inflate whole.
import type { Pacer } from "../utils/pace";
import { crc32 } from "./crc32";
import { corruptPack } from "./errors";
import type { sha1 } from "./oid";
import type { RangeSource } from "./range-source";
import { SpanReader } from "./stream-reads";
import { InflateError, type PieceInflater } from "./zlib";

/** Sequential reads of this size keep R2 requests few and memory flat. */
const CHUNK = 4 * 1024 * 1024;

/**
 * Reads a source front to back, keeping only the unread part in memory, in one buffer kept
 * across reads. A source that offers a byte stream is read as streamed requests of a MiB
 * (`SpanReader`: one request of the whole rest held the local forge's thread for seconds) through
 * a BYOB reader into that buffer (through a landing buffer, `readChunk`): a ranged read per 8 MiB
 * was a new array buffer per read, garbage V8 reclaims late (the push isolate's peak with array
 * buffers grew by about the pack's size).
 */
export class Cursor {
  /** The buffered bytes: a view of `store`, valid until the next `ensure`. */
  buf = new Uint8Array(0);
  private store = new Uint8Array(0);
  /** Where buf starts in store. */
  private from = 0;
  /** Offset in the source of buf[0]. */
  base = 0;
  private reader: SpanReader | null = null;
  /** Bytes of the buffer at its largest. */
  largest = 0;
  constructor(
    private readonly source: RangeSource,
    private readonly chunk = CHUNK,
  ) {}

  get end(): number {
    return this.base + this.buf.length;
  }

  /** Makes sure bytes up to `offset + n` are buffered (or the source ends); drops bytes before `offset`. */
  async ensure(offset: number, n: number): Promise<void> {
    if (offset > this.base) {
      const drop = Math.min(offset - this.base, this.buf.length);
      this.buf = this.buf.subarray(drop);
      this.from += drop;
      this.base = offset;
    }
    const want = Math.min(offset + n, this.source.size);
    if (this.end >= want) return;
    // Read ahead a whole chunk, not just what was asked: reads are few and large.
    const target = Math.min(this.source.size, Math.max(want, this.end + this.chunk));
    this.makeRoom(target - this.base);
    if (this.source.stream) await this.fillFromStream(target);
    else await this.fillFromReads(want, target);
  }

  /** Moves the unread bytes to the front of the store, or to a larger one, so `need` bytes fit. */
  private makeRoom(need: number): void {
    if (this.from + need <= this.store.length) return;
    if (need > this.store.length) {
      // Room for two reads, but never more than the source (a small push stays small).
      const next = new Uint8Array(Math.max(need, Math.min(2 * this.chunk, this.source.size)));
      next.set(this.buf);
      this.store = next;
      this.largest = Math.max(this.largest, next.length);
    } else {
      this.store.copyWithin(0, this.from, this.from + this.buf.length);
    }
    this.from = 0;
    this.buf = this.store.subarray(0, this.buf.length);
  }

  private async fillFromReads(want: number, target: number): Promise<void> {
    while (this.end < want) {
      const more = await this.source.read(this.end, target);
      if (more.length === 0) break;
      this.store.set(more, this.from + this.buf.length);
      this.buf = this.store.subarray(this.from, this.from + this.buf.length + more.length);
    }
  }

  private async fillFromStream(target: number): Promise<void> {
    if (this.reader && this.reader.at !== this.end) await this.close();
    // A jump (past an object inflated on its own) starts a new request where the cursor is.
    this.reader ??= new SpanReader(this.source, this.end);
    while (this.end < target) {
      const at = this.from + this.buf.length;
      // Through a small landing buffer: a read straight into the store transferred the whole
      // 8 MiB buffer each time, which V8 counted again each time until it collected (range-source.ts).
      const { n, done } = await this.reader.read(this.store.subarray(at, this.from + target - this.base));
      this.buf = this.store.subarray(this.from, at + n);
      if (done) {
        this.reader = null;
        break;
      }
    }
  }

  /** Ends the stream request, if one is open (a refused pack is not read to its end). */
  async close(): Promise<void> {
    const reader = this.reader;
    this.reader = null;
    if (reader) await reader.close();
  }

  at(offset: number): number {
    return offset - this.base;
  }

  /** Ends the read and hands its buffer on (the second pass's windows reuse it); the cursor is done. */
  async release(): Promise<Uint8Array> {
    await this.close();
    const store = this.store;
    this.store = new Uint8Array(0);
    this.buf = this.store;
    this.from = 0;
    return store;
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

/** Compressed bytes the cursor is asked for at a time while an entry is inflated in pieces. */
const PIECE_INPUT = 256 * 1024;

/**
 * Inflates the entry at `pos` (its data from `dataStart`) in pieces as the cursor reads it, feeding
 * its raw bytes to the pack hash on the way: the cursor never holds the whole entry, however
 * large, so its buffer stays at its size. Returns where the entry ends and its raw bytes' CRC.
 * Errors name entry `n`. At most PIECE_INPUT compressed bytes are fed at a time, and `pacer`
 * counts what each piece read and inflated: an entry of megabytes was one slice of the isolate's
 * thread, its whole inflation and hashing (the cursor's buffer held 4 MiB of it at once).
 */
export async function inflateFromCursor(
  cursor: Cursor,
  inflater: PieceInflater,
  entry: { n: number; pos: number; dataStart: number; dataEnd: number; size: number },
  packHash: ReturnType<typeof sha1>,
  onPiece?: (piece: Uint8Array) => void,
  pacer?: Pacer,
): Promise<{ end: number; crc: number }> {
  const { n, pos, dataStart, dataEnd } = entry;
  await cursor.ensure(pos, dataStart - pos);
  const header = cursor.buf.subarray(cursor.at(pos), cursor.at(dataStart));
  packHash.update(header);
  let crc = crc32(header);
  let inflated = 0;
  inflater.start(entry.size, (piece) => {
    inflated += piece.length;
    onPiece?.(piece);
  });
  for (let at = dataStart; ; ) {
    if (at >= dataEnd) throw corruptPack(`pack is truncated: object ${n} at offset ${pos} is cut short`);
    await cursor.ensure(at, Math.min(PIECE_INPUT, dataEnd - at));
    const input = cursor.buf.subarray(
      cursor.at(at),
      Math.min(cursor.buf.length, cursor.at(dataEnd), cursor.at(at) + PIECE_INPUT),
    );
    let r: { consumed: number; ended: boolean };
    try {
      r = inflater.feed(input);
    } catch (err) {
      if (err instanceof InflateError) throw corruptPack(`object ${n} at offset ${pos}: ${err.message}`);
      throw err;
    }
    const raw = input.subarray(0, r.consumed);
    packHash.update(raw);
    crc = crc32(raw, crc);
    at += r.consumed;
    if (r.ended) return { end: at, crc };
    const paused = pacer?.tick(r.consumed + inflated, 0);
    inflated = 0;
    if (paused) await paused;
  }
}
