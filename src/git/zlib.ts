// zlib for pack entries: pako for the many small ones, workerd's native node:zlib for large ones.
import zlib from "node:zlib";
import { inflate as zInflate, inflateInit2 } from "pako/lib/zlib/inflate.js";
import ZStream from "pako/lib/zlib/zstream.js";
import { corruptPack } from "./errors";

/**
 * Entries up to this size are inflated by pako. Each call of workerd's inflateSync leaves a native
 * zlib object whose wrapper only a last-resort collection frees: indexing a pack of hundreds of
 * thousands of objects filled the push isolate's heap to its cap with them (and its array buffers
 * 50 MiB past it), where pako's garbage is ordinary JavaScript the young generation reclaims. On
 * small entries pako is also faster (no native call); on large ones native zlib is.
 */
const PAKO_MAX = 256 * 1024;
/** Entries over this size that need not be whole (a blob only hashed) are inflated in pieces (PieceInflater). */
export const PIECES_OVER = PAKO_MAX;

const Z_NO_FLUSH = 0;
const Z_FINISH = 4;
const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_BUF_ERROR = -5;
/**
 * One inflate state for every small entry: a new one per entry allocates its 32 KiB window, tables
 * and output, array buffers V8 reclaims late (indexing 320,000 objects piled up hundreds of MiB).
 */
let shared: ZStream | null = null;

/** pako's inflate state: the fields a reset sets (pako/lib/zlib/inflate.js, not in its types). */
interface InflateState {
  mode: number;
  wrap: number;
  wsize: number;
  whave: number;
  wnext: number;
  total: number;
  last: number;
  havedict: number;
  flags: number;
  dmax: number;
  head: unknown;
  hold: number;
  bits: number;
  lencode: Int32Array;
  lendyn: Int32Array;
  distcode: Int32Array;
  distdyn: Int32Array;
  sane: number;
  back: number;
}
type Stream = ZStream & { state: InflateState; total_in: number; total_out: number; adler: number };
/** The mode of a state ready for a new stream's header, as inflateInit2 leaves it. */
let headMode = -1;

/** A new inflate state, ready for its first zlib stream. */
function freshState(): ZStream {
  const strm = new ZStream();
  inflateInit2(strm, 15);
  headMode = (strm as Stream).state.mode;
  return strm;
}

/**
 * Makes a used state ready for a new zlib stream. pako's own reset (inflateResetKeep) allocates new
 * code tables (5.8 KiB) every time: a cold blame inflates about 7,900 entries, so that was 45 MB
 * of garbage and a sixth of its inflate time. This reset keeps them: the table builder writes
 * every entry it later reads, so nothing of the last stream shows through.
 */
function resetKeepingTables(used: ZStream): void {
  const strm = used as Stream;
  const state = strm.state;
  state.wsize = state.whave = state.wnext = 0;
  strm.total_in = strm.total_out = state.total = 0;
  strm.msg = "";
  if (state.wrap) strm.adler = state.wrap & 1;
  state.mode = headMode;
  state.last = state.havedict = 0;
  state.flags = -1;
  state.dmax = 32768;
  state.head = null;
  state.hold = state.bits = 0;
  state.lencode = state.lendyn;
  state.distcode = state.distdyn;
  state.sane = 1;
  state.back = -1;
}

/** The shared state, ready for a new zlib stream. */
function ready(): ZStream {
  if (!shared) shared = freshState();
  else resetKeepingTables(shared);
  return shared;
}

/** Output buffers an indexer reuses for entries it does not keep (an entry at a time). */
export class InflateScratch {
  private buf = new Uint8Array(0);
  get bytes(): number {
    return this.buf.length;
  }
  /** A buffer of at least n bytes, valid until the next call. */
  take(n: number): Uint8Array {
    if (this.buf.length < n) this.buf = new Uint8Array(Math.max(n, Math.min(2 * this.buf.length, PAKO_MAX + 1), 4096));
    return this.buf;
  }
}

/**
 * A small entry inflated with the shared state into `out` (or a new buffer of exactly its size):
 * output beyond the header's size, or input that ends first, is an error.
 */
function inflateInto(input: Uint8Array, expectedSize: number, out: Uint8Array | null): { data: Uint8Array; consumed: number } {
  const strm = ready();
  // One byte of room past the size: an entry that inflates to more fills it and is caught below.
  const output = out && out.length > expectedSize ? out : new Uint8Array(expectedSize + 1);
  strm.input = input;
  strm.next_in = 0;
  strm.avail_in = input.length;
  strm.output = output;
  strm.next_out = 0;
  strm.avail_out = expectedSize + 1;
  const status = zInflate(strm, Z_FINISH);
  const produced = strm.next_out;
  const consumed = input.length - strm.avail_in;
  // Nothing of the entry stays reachable from the shared state.
  strm.input = null;
  strm.output = null;
  if (status !== Z_STREAM_END) {
    if (status === Z_BUF_ERROR && strm.avail_out > 0) throw new InflateError("unexpected end of file");
    if (status === Z_BUF_ERROR) throw corruptPack(`object inflates to more than the ${expectedSize} bytes its header says`);
    const msg = strm.msg;
    // A failed stream leaves the state unusable: the next entry starts a new one.
    shared = null;
    throw new InflateError(msg || `inflate failed (${status})`);
  }
  if (produced !== expectedSize) throw corruptPack(`object inflates to ${produced} bytes, its header says ${expectedSize}`);
  return { data: output.subarray(0, expectedSize), consumed };
}

/** Output window of an entry inflated in pieces. */
const PIECE = 64 * 1024;

/**
 * Inflates one zlib stream at a time, fed in pieces of input as they are read, through one 64 KiB
 * output window, handing each piece of output to `onPiece` (a view valid during the call): for
 * large entries that are only hashed or skipped, which a whole inflated copy would make into
 * megabytes of garbage array buffers each, and whose compressed bytes need not be in memory
 * together either (an 8 MiB incompressible blob grew the indexer's read buffer from 8 to 16 MiB).
 * A state of its own, not the shared one: the input arrives across awaits, while other entries of
 * the isolate may be inflated with the shared state.
 */
export class PieceInflater {
  /** Its state (null: a new one for the next stream, as after a failed stream). */
  private strm: ZStream | null = null;
  private readonly out = new Uint8Array(PIECE);
  private produced = 0;
  private expected = 0;
  private onPiece: ((piece: Uint8Array) => void) | undefined;

  /** Starts a stream that must inflate to `expectedSize` bytes. */
  start(expectedSize: number, onPiece?: (piece: Uint8Array) => void): void {
    if (!this.strm) this.strm = freshState();
    else resetKeepingTables(this.strm);
    this.produced = 0;
    this.expected = expectedSize;
    this.onPiece = onPiece;
  }

  /**
   * Feeds the next input bytes. Returns how many of them the stream took, and whether it ended
   * (then the rest belongs to what follows it); a stream that has not ended takes all of them.
   */
  feed(input: Uint8Array): { consumed: number; ended: boolean } {
    const strm = this.strm;
    if (!strm) throw new Error("PieceInflater: feed before start");
    strm.input = input;
    strm.next_in = 0;
    strm.avail_in = input.length;
    let ended = false;
    try {
      for (;;) {
        strm.output = this.out;
        strm.next_out = 0;
        strm.avail_out = PIECE;
        const status = zInflate(strm, Z_NO_FLUSH);
        const n = strm.next_out;
        this.produced += n;
        if (this.produced > this.expected) {
          throw corruptPack(`object inflates to more than the ${this.expected} bytes its header says`);
        }
        if (n > 0) this.onPiece?.(this.out.subarray(0, n));
        if (status === Z_STREAM_END) {
          ended = true;
          break;
        }
        // No progress without more input (Z_BUF_ERROR), or all input taken with room to spare.
        if (status === Z_BUF_ERROR || (status === Z_OK && strm.avail_in === 0 && strm.avail_out > 0)) break;
        if (status !== Z_OK) {
          // A failed stream leaves the state unusable: the next one starts a new state.
          this.strm = null;
          throw new InflateError(strm.msg || `inflate failed (${status})`);
        }
      }
    } finally {
      strm.input = null;
      strm.output = null;
    }
    if (ended && this.produced !== this.expected) {
      throw corruptPack(`object inflates to ${this.produced} bytes, its header says ${this.expected}`);
    }
    return { consumed: input.length - strm.avail_in, ended };
  }
}

/**
 * Inflates the zlib stream that starts at `start` in `buf`, which must hold all of it (trailing
 * bytes are fine). Returns the data and the number of compressed bytes the stream took. With
 * `scratch`, a small entry's data is a view of the scratch buffer, valid until its next use.
 */
export function inflateAt(
  buf: Uint8Array,
  start: number,
  expectedSize: number,
  scratch?: InflateScratch,
): { data: Uint8Array; consumed: number } {
  if (expectedSize <= PAKO_MAX) return inflateInto(buf.subarray(start), expectedSize, scratch?.take(expectedSize + 1) ?? null);
  let result: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // Output in one buffer of the size the entry header gives, plus room for zlib to see the end:
    // the default 16 KiB chunk would be allocated for every 200-byte commit or tree.
    result = zlib.inflateSync(buf.subarray(start), {
      info: true,
      chunkSize: Math.max(64, expectedSize + 64),
    }) as unknown as typeof result;
  } catch (err) {
    throw new InflateError((err as Error).message);
  }
  const data = new Uint8Array(result.buffer.buffer, result.buffer.byteOffset, result.buffer.length);
  if (data.length !== expectedSize) {
    throw corruptPack(`object inflates to ${data.length} bytes, its header says ${expectedSize}`);
  }
  return { data, consumed: result.engine.bytesWritten };
}

/** A zlib failure: the input is corrupt, or (when more input may follow) incomplete. */
export class InflateError extends Error {
  get truncated(): boolean {
    return /unexpected end/i.test(this.message);
  }
}

export function deflate(data: Uint8Array, level = 6): Uint8Array {
  const out = zlib.deflateSync(data, { level });
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
