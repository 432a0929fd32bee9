// A streamed tar (ustar, with pax headers for long names) writer and reader for tenant backups:
// entries go out and come in one chunk at a time, so no entry is ever held whole in memory.
import { ForgeError } from "../../utils/errors";

const BLOCK = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** ustar's 11 octal digits of size: 8 GiB - 1 (an R2 object above that is refused, not cut). */
export const MAX_ENTRY_BYTES = 8 ** 11 - 1;

/** A broken archive: a precise 400, whatever step found it. */
export const badArchive = (message: string) => new ForgeError("bad_request", `the archive is not usable: ${message}`);

function writeString(block: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = encoder.encode(value);
  block.set(bytes.subarray(0, length), offset);
}

function writeOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  writeString(block, offset, length - 1, value.toString(8).padStart(length - 1, "0"));
}

function header(name: string, size: number, mtime: number, type: "0" | "x"): Uint8Array {
  const block = new Uint8Array(BLOCK);
  writeString(block, 0, 100, name);
  writeOctal(block, 100, 8, 0o644);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, Math.floor(mtime / 1000));
  block.fill(0x20, 148, 156);
  block[156] = type.charCodeAt(0);
  writeString(block, 257, 6, "ustar\0");
  writeString(block, 263, 2, "00");
  let sum = 0;
  for (const b of block) sum += b;
  writeString(block, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

/** A pax record "<len> key=value\n", where len counts the whole record including itself. */
function paxRecord(key: string, value: string): Uint8Array {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = encoder.encode(body).length;
  let len = bodyBytes + 1;
  while (String(len).length + bodyBytes !== len) len = String(len).length + bodyBytes;
  return encoder.encode(`${len}${body}`);
}

/** The header block(s) of one entry: a pax header first when the name does not fit ustar's 100 bytes. */
export function entryHeader(name: string, size: number, mtime: number): Uint8Array[] {
  if (size > MAX_ENTRY_BYTES) throw new ForgeError("payload_too_large", `${name} is over 8 GiB, more than a backup entry holds`);
  const nameBytes = encoder.encode(name).length;
  if (nameBytes <= 100) return [header(name, size, mtime, "0")];
  const pax = paxRecord("path", name);
  return [
    header(`PaxHeader/${name.slice(-80)}`, pax.length, mtime, "x"),
    ...padded(pax),
    header(name.slice(0, 100), size, mtime, "0"),
  ];
}

/** Zero bytes that fill the last block of an entry of `size` bytes. */
export function padding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

function padded(data: Uint8Array): Uint8Array[] {
  const pad = padding(data.length);
  return pad.length ? [data, pad] : [data];
}

/** A whole small entry (JSON, a page of rows): its header, bytes and padding. */
export function smallEntry(name: string, data: Uint8Array, mtime: number): Uint8Array[] {
  return [...entryHeader(name, data.length, mtime), ...padded(data)];
}

/** The end of an archive: two zero blocks. */
export const endOfArchive = () => new Uint8Array(2 * BLOCK);

/** Reads exact byte counts from a stream of chunks. */
class ByteReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private offset = 0;
  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  private async fill(): Promise<boolean> {
    while (this.offset >= this.chunk.length) {
      const { value, done } = await this.reader.read();
      if (done) return false;
      this.chunk = value;
      this.offset = 0;
    }
    return true;
  }

  /** Up to `n` bytes in chunks; `what` names the entry a truncation cut. */
  async *take(n: number, what: string): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill())) throw badArchive(`it ends in the middle of ${what} (truncated?)`);
      const part = this.chunk.subarray(this.offset, this.offset + Math.min(left, this.chunk.length - this.offset));
      this.offset += part.length;
      left -= part.length;
      yield part;
    }
  }

  /** Exactly `n` bytes, or null if the stream ended before the first of them. */
  async exact(n: number, what: string): Promise<Uint8Array | null> {
    if (!(await this.fill())) return null;
    const out = new Uint8Array(n);
    let at = 0;
    for await (const part of this.take(n, what)) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  async skip(n: number, what: string): Promise<void> {
    for await (const _ of this.take(n, what));
  }

  release(): void {
    this.reader.releaseLock();
  }
}

export interface TarEntry {
  name: string;
  size: number;
  /** The entry's bytes; whatever the caller does not read is skipped before the next entry. */
  body: AsyncGenerator<Uint8Array>;
}

const readString = (block: Uint8Array, offset: number, length: number) => {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
};

function readOctal(block: Uint8Array, offset: number, length: number, what: string): number {
  const text = readString(block, offset, length).trim();
  if (!/^[0-7]+$/.test(text)) throw badArchive(`a header near ${what} is damaged`);
  return Number.parseInt(text, 8);
}

function checkHeader(block: Uint8Array, after: string): void {
  const stored = readOctal(block, 148, 8, after);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  if (sum !== stored || readString(block, 257, 6) !== "ustar") throw badArchive(`the header after ${after} is damaged`);
}

function paxPath(data: Uint8Array): string | null {
  for (const line of decoder.decode(data).split("\n")) {
    const m = /^\d+ path=(.*)$/s.exec(line);
    if (m) return m[1]!;
  }
  return null;
}

/**
 * The entries of a tar stream, in order. Ends at the two zero blocks; a stream that stops before
 * them, or in the middle of an entry, is a truncated archive (400).
 */
export async function* readTar(stream: ReadableStream<Uint8Array>): AsyncGenerator<TarEntry> {
  const bytes = new ByteReader(stream.getReader());
  let previous = "the start";
  let longName: string | null = null;
  try {
    for (;;) {
      const block = await bytes.exact(BLOCK, `the header after ${previous}`);
      if (!block) throw badArchive(`it ends after ${previous} without the end-of-archive blocks (truncated?)`);
      if (block.every((b) => b === 0)) return;
      checkHeader(block, previous);
      const size = readOctal(block, 124, 12, previous);
      const type = String.fromCharCode(block[156]!);
      if (type === "x") {
        const data = await bytes.exact(size, "a pax header");
        if (!data || data.length < size) throw badArchive("it ends in a pax header (truncated?)");
        await bytes.skip(padding(size).length, "a pax header");
        longName = paxPath(data);
        continue;
      }
      const name = longName ?? readString(block, 0, 100);
      longName = null;
      if (type !== "0" && type !== "\0") throw badArchive(`${name} is not a regular file (type ${type})`);
      let left = size;
      const body = (async function* () {
        for await (const part of bytes.take(size, name)) {
          left -= part.length;
          yield part;
        }
      })();
      yield { name, size, body };
      if (left > 0) await bytes.skip(left, name);
      await bytes.skip(padding(size).length, name);
      previous = name;
    }
  } finally {
    bytes.release();
  }
}

/** An entry's bytes as one array (small entries only: JSON documents and pages of rows). */
export async function readAll(entry: TarEntry, limit: number): Promise<Uint8Array> {
  if (entry.size > limit) throw badArchive(`${entry.name} is ${entry.size} bytes, more than ${limit} expected`);
  const out = new Uint8Array(entry.size);
  let at = 0;
  for await (const part of entry.body) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
