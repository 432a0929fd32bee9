// pkt-line framing (gitprotocol-common): 4 hex digits of length, then the payload; 0000 flush,
// 0001 delimiter, 0002 response end. Side-band multiplexing for pack data and progress.
import { protocolError } from "./errors";
import { readFull } from "./stream-reads";

/** Largest pkt-line, header included. */
const MAX_PKT_LENGTH = 65520;
/** Largest payload of a side-band-64k packet (one byte goes to the band number). */
export const MAX_BAND_PAYLOAD = MAX_PKT_LENGTH - 5;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const FLUSH = encoder.encode("0000");
export const DELIM = encoder.encode("0001");

const hex4 = (n: number) => n.toString(16).padStart(4, "0");

export function pkt(payload: string | Uint8Array): Uint8Array {
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  if (data.length + 4 > MAX_PKT_LENGTH) throw protocolError("pkt-line too long");
  const out = new Uint8Array(data.length + 4);
  out.set(encoder.encode(hex4(data.length + 4)), 0);
  out.set(data, 4);
  return out;
}

/** Writes the 5-byte header of a side-band packet of `n` payload bytes at `out[o]` (its payload follows). */
export function putBandHeader(out: Uint8Array, o: number, band: 1 | 2 | 3, n: number): void {
  encoder.encodeInto(hex4(n + 5), out.subarray(o, o + 4));
  out[o + 4] = band;
}

/** `data` cut into side-band packets of at most `max` payload bytes, all in one buffer. */
function bandPackets(band: 1 | 2 | 3, data: Uint8Array, max = MAX_BAND_PAYLOAD): Uint8Array {
  const packets = Math.ceil(data.length / max);
  const out = new Uint8Array(data.length + packets * 5);
  let o = 0;
  for (let pos = 0; pos < data.length; pos += max) {
    const n = Math.min(max, data.length - pos);
    putBandHeader(out, o, band, n);
    out.set(data.subarray(pos, pos + n), o + 5);
    o += n + 5;
  }
  return out;
}

export type PktLine = { kind: "data"; data: Uint8Array; text: string } | { kind: "flush" } | { kind: "delim" } | { kind: "end" };

/** Parses a whole request body of pkt-lines. Text lines lose one trailing LF. */
export function parsePktLines(body: Uint8Array): PktLine[] {
  const lines: PktLine[] = [];
  let pos = 0;
  while (pos < body.length) {
    if (pos + 4 > body.length) throw protocolError("truncated pkt-line header");
    const lenText = decoder.decode(body.subarray(pos, pos + 4));
    if (!/^[0-9a-f]{4}$/.test(lenText)) throw protocolError(`bad pkt-line length "${lenText}"`);
    const len = parseInt(lenText, 16);
    if (len === 0) lines.push({ kind: "flush" });
    else if (len === 1) lines.push({ kind: "delim" });
    else if (len === 2) lines.push({ kind: "end" });
    else if (len < 4) throw protocolError(`bad pkt-line length ${len}`);
    else if (len > MAX_PKT_LENGTH) throw protocolError(`pkt-line of ${len} bytes is over the limit of ${MAX_PKT_LENGTH}`);
    else {
      if (pos + len > body.length) throw protocolError("truncated pkt-line");
      const data = body.subarray(pos + 4, pos + len);
      let text = decoder.decode(data);
      if (text.endsWith("\n")) text = text.slice(0, -1);
      lines.push({ kind: "data", data, text });
    }
    pos += Math.max(len, 4);
  }
  return lines;
}

/** Bytes read from a request body at a time. */
const READ_CHUNK = 64 * 1024;

/**
 * Reads pkt-lines one at a time from a stream, for bodies that carry a pack after the commands
 * (receive-pack). `rest()` then yields the remaining bytes.
 */
export class PktStreamReader {
  private buf = new Uint8Array(0);
  private done = false;
  /** A byte stream (a request body) is read into one reused buffer: no array buffer per read. */
  private readonly byob: ReadableStreamBYOBReader | null = null;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private into = new Uint8Array(READ_CHUNK);

  constructor(stream: ReadableStream<Uint8Array>) {
    try {
      this.byob = stream.getReader({ mode: "byob" });
    } catch {
      // Not a byte stream (a decompressed body, a test's stream): chunks as they come.
      this.reader = stream.getReader();
    }
  }

  /** The stream's next bytes (empty: none yet), valid until the next read; null at its end. */
  private async read(): Promise<Uint8Array | null> {
    if (this.byob) {
      // Waits for a full chunk (or the end) with workerd's readAtLeast: a body that arrives in
      // small pieces was a read each, every one a round of promises and views that outlived the
      // young generation while it waited (git/stream-reads.ts readChunk says the same of R2).
      const view = new Uint8Array(this.into.buffer, 0, READ_CHUNK);
      const { value, done } = await readFull(this.byob, view);
      // The read transfers the buffer: the bytes come back in a view of the same memory.
      if (value) this.into = new Uint8Array(value.buffer as ArrayBuffer);
      if (value?.length) return value;
      return done ? null : new Uint8Array(0);
    }
    const { value, done } = await this.reader!.read();
    return done ? null : value;
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.done) {
      const value = await this.read();
      if (value === null) this.done = true;
      else if (value.length) {
        const next = new Uint8Array(this.buf.length + value.length);
        next.set(this.buf);
        next.set(value, this.buf.length);
        this.buf = next;
      }
    }
    return this.buf.length >= n;
  }

  /** The next pkt-line, or null at the end of the stream. */
  async next(): Promise<PktLine | null> {
    if (!(await this.fill(4))) {
      if (this.buf.length === 0) return null;
      throw protocolError("truncated pkt-line header");
    }
    const lenText = decoder.decode(this.buf.subarray(0, 4));
    if (!/^[0-9a-f]{4}$/.test(lenText)) throw protocolError(`bad pkt-line length "${lenText}"`);
    const len = parseInt(lenText, 16);
    if (len > MAX_PKT_LENGTH) throw protocolError(`pkt-line of ${len} bytes is over the limit of ${MAX_PKT_LENGTH}`);
    const size = Math.max(len, 4);
    if (!(await this.fill(size))) throw protocolError("truncated pkt-line");
    const line = parsePktLines(this.buf.subarray(0, size))[0]!;
    this.buf = this.buf.subarray(size);
    return line;
  }

  /**
   * Everything after the pkt-lines read so far, as a stream whose chunks are valid until the next
   * read (copy what you keep): a pushed pack of hundreds of MiB goes through one read buffer
   * instead of an array buffer per chunk, garbage V8 frees late. It reads only when asked
   * (highWaterMark 0), so a chunk is not overwritten before its reader is done with it.
   */
  rest(): ReadableStream<Uint8Array> {
    const pending = this.buf;
    let first = pending.length > 0;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (first) {
            first = false;
            controller.enqueue(pending);
            return;
          }
          for (;;) {
            const value = this.done ? null : await this.read();
            if (value === null) return controller.close();
            if (value.length) return controller.enqueue(value);
          }
        },
        cancel: (reason) => (this.byob ?? this.reader)!.cancel(reason),
      },
      { highWaterMark: 0 },
    );
  }
}

/**
 * Builds a streamed response out of pkt-lines. Writers queue chunks; the consumer reads them as a
 * ReadableStream with back-pressure (`write` waits when the client is slow).
 */
export class PktResponse {
  readonly stream: ReadableStream<Uint8Array>;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;

  constructor() {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>(undefined, undefined, {
      highWaterMark: 1 << 20,
      size: (chunk) => chunk.length,
    });
    this.stream = readable;
    this.writer = writable.getWriter();
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.writer.ready;
    await this.writer.write(chunk);
  }

  line(text: string): Promise<void> {
    return this.write(pkt(text.endsWith("\n") ? text : `${text}\n`));
  }

  flush(): Promise<void> {
    return this.write(FLUSH);
  }

  delim(): Promise<void> {
    return this.write(DELIM);
  }

  /** Set once anything went out on a side band (errors then go to band 3). */
  sidebandStarted = false;

  /** Sends data on a side band, split into packets that fit. */
  async band(band: 1 | 2 | 3, data: Uint8Array, max = MAX_BAND_PAYLOAD): Promise<void> {
    this.sidebandStarted = true;
    await this.write(bandPackets(band, data, max));
  }

  close(): Promise<void> {
    return this.writer.close();
  }

  abort(reason: unknown): Promise<void> {
    return this.writer.abort(reason);
  }
}
