// Reading R2 bodies as streams: into buffers the caller owns (BYOB, through small landing buffers
// kept for reuse), and a source front to back in spans of a MiB (SpanReader).
import type { RangeSource } from "./range-source";
/**
 * Bytes a BYOB read is given at a time. A BYOB read transfers the buffer it fills: V8 then counts
 * the whole buffer again under the new ArrayBuffer that comes back, until a collection sweeps the
 * detached one. Read straight into the indexer's 8 MiB buffer, 2,000 reads of 64 KiB counted 5 GiB
 * in workerd's figure of array buffers (the process held 74 MB); through this landing buffer,
 * copied out, about 40 MiB. Reads go through small buffers kept for the next reads.
 * 256 KiB, not 64: every read is a round of promises that may outlive the young generation
 * (`readChunk`), and a landing reused this size leaves no more counted than a 64 KiB one (64 MiB
 * of an R2 body through a 1 MiB landing: 5.0 MiB at the peak, bench/r2-read-accounting.ts).
 */
export const LANDING = 256 * 1024;
/** At most this many landings are kept for reuse (one per read under way). */
const KEEP_LANDINGS = 4;
const landings: ArrayBuffer[] = [];

/** A BYOB reader with workerd's `readAtLeast` (not in every runtime: tests in Node lack it). */
type ReaderAtLeast = ReadableStreamBYOBReader & {
  readAtLeast?: (min: number, view: Uint8Array) => Promise<ReadableStreamReadResult<Uint8Array>>;
};

/**
 * Reads into `view` (transferred: the bytes come back in a view of the same memory), waiting until
 * it is full or the stream ends with workerd's `readAtLeast`, else one plain read.
 */
export function readFull(reader: ReadableStreamBYOBReader, view: Uint8Array): Promise<ReadableStreamReadResult<Uint8Array>> {
  const atLeast = (reader as ReaderAtLeast).readAtLeast;
  return atLeast ? atLeast.call(reader, view.length, view) : reader.read(view);
}

/**
 * Reads the reader's next bytes (at most `into.length`) into `into` through a landing buffer: `into`
 * is never transferred, and stays valid. Returns how many came and whether the stream ended.
 *
 * The read waits until the landing is full (or the stream ends), with workerd's `readAtLeast`: an
 * R2 object written in parts (every imported or pushed pack) streams in chunks of 4 KiB, and a
 * plain read returned each chunk on its own. Those were 256 reads a MiB, each with its promises,
 * result and views, which outlived the young generation's scavenges while the read waited, and
 * were 73% of what the push isolate promoted to its old generation during an import
 * (bench:import-large --promoted): the garbage that made its sampled heap climb to 60 MiB. A read
 * into a view shorter than the landing (a 64 KiB window) waits for that view's length only.
 */
export async function readChunk(reader: ReadableStreamBYOBReader, into: Uint8Array): Promise<{ n: number; done: boolean }> {
  const landing = landings.pop() ?? new ArrayBuffer(LANDING);
  const view = new Uint8Array(landing, 0, Math.max(1, Math.min(LANDING, into.length)));
  const { value, done } = await readFull(reader, view);
  if (!value) throw new Error("the stream was cancelled while it was read");
  if (value.length > into.length) throw new Error("the stream gave more bytes than were asked for");
  into.set(value);
  // The read handed back the landing's memory under a new ArrayBuffer: that one is reused.
  if (landings.length < KEEP_LANDINGS) landings.push(value.buffer as ArrayBuffer);
  return { n: value.length, done };
}

/**
 * Reads a byte stream into `into` through a BYOB reader, then ends it (a body not read to its end
 * is cancelled, so the request behind it is released at once). Returns the filled view of `into`
 * (read through landing buffers, `into` is not transferred).
 */
export async function readStreamInto(stream: ReadableStream<Uint8Array>, into: Uint8Array): Promise<Uint8Array> {
  const reader = stream.getReader({ mode: "byob" });
  const length = into.length;
  let filled = 0;
  let done = false;
  try {
    while (filled < length) {
      const r = await readChunk(reader, into.subarray(filled));
      filled += r.n;
      if (r.done) {
        done = true;
        break;
      }
    }
    // A body of exactly the asked length ends here: reading its end releases it without a cancel.
    if (!done) done = (await readChunk(reader, new Uint8Array(1))).done && filled === length;
  } finally {
    if (done) reader.releaseLock();
    else await reader.cancel().catch(() => {});
  }
  return into.subarray(0, filled);
}

/**
 * The most bytes one streamed request asks for. Locally, Miniflare's R2 simulator sends an object
 * stored in parts (every imported or pushed pack) through a JS pipe from its files, 4 KiB a chunk,
 * and a file read never waits: the whole range asked for went through in one unbroken chain of
 * work on workerd's one thread, which took no new request meanwhile. One GET of a whole 538 MiB
 * pack (the indexer's first pass) held every other request of the forge for 7 to 47 s, once per
 * import or push (bench/scale-results.md, s14-uploads). A span of 1 MiB bounds that chain to a
 * MiB of the simulator's work; on Cloudflare it costs one request a MiB.
 */
export const STREAM_SPAN = 1024 * 1024;

/**
 * A source read front to back from `at`, as successive streamed requests of at most `span` bytes
 * each, through the landing buffers (`readChunk`): no new array buffer per read.
 */
export class SpanReader {
  private reader: ReadableStreamBYOBReader | null = null;
  /** Bytes of the current request not read yet. */
  private left = 0;
  /** Requests made (what tests count). */
  requests = 0;
  constructor(
    /** A source with `stream`. */
    private readonly source: RangeSource,
    /** Offset in the source of the next byte read. */
    public at: number,
    private readonly span = STREAM_SPAN,
  ) {}

  /** Reads the next bytes (at most `into.length`) into `into`; `done` once the source's end is reached. */
  async read(into: Uint8Array): Promise<{ n: number; done: boolean }> {
    const size = this.source.size;
    if (this.at >= size) return { n: 0, done: true };
    if (!this.reader) {
      const end = Math.min(size, this.at + this.span);
      if (!this.source.stream) throw new Error(`${this.source.id} cannot be streamed`);
      this.reader = (await this.source.stream(this.at, end)).getReader({ mode: "byob" });
      this.left = end - this.at;
      this.requests++;
    }
    const r = await readChunk(this.reader, into.subarray(0, Math.min(into.length, this.left)));
    this.at += r.n;
    this.left -= r.n;
    if (this.left > 0 && r.done) throw new Error(`${this.source.id} ended ${this.left} bytes early`);
    if (this.left === 0) {
      // The request read to its last byte ends with one more read: released without a cancel
      // (which workerd reports as a lost connection).
      const reader = this.reader;
      this.reader = null;
      if ((await readChunk(reader, new Uint8Array(1))).done) reader.releaseLock();
      else await reader.cancel().catch(() => {});
    }
    return { n: r.n, done: this.at >= size };
  }

  /** Ends the current request, if one is open (a reader that stops early). */
  async close(): Promise<void> {
    const reader = this.reader;
    this.reader = null;
    if (reader) await reader.cancel().catch(() => {});
  }
}
