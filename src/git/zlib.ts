// zlib for pack entries: pako for the many small ones, workerd's native node:zlib for large ones.
import zlib from "node:zlib";
import { Inflate } from "pako";
import { corruptPack } from "./errors";

/**
 * Entries up to this size are inflated by pako. Each call of workerd's inflateSync leaves a native
 * zlib object whose wrapper only a last-resort collection frees: indexing a pack of hundreds of
 * thousands of objects filled the push isolate's heap to its cap with them (and its array buffers
 * 50 MiB past it), where pako's garbage is ordinary JavaScript the young generation reclaims. On
 * small entries pako is also faster (no native call); on large ones native zlib is.
 */
const PAKO_MAX = 256 * 1024;

/** pako keeps its z_stream in `strm` and says it is done in `ended` (neither in its types). */
type PakoInflate = Inflate & { strm: { avail_in: number }; ended: boolean };

function inflateSmall(input: Uint8Array, expectedSize: number): { data: Uint8Array; consumed: number } {
  // One output buffer of the size the header gives, plus room to see the end of the stream.
  const inflater = new Inflate({ chunkSize: expectedSize + 64 }) as PakoInflate;
  const parts: Uint8Array[] = [];
  inflater.onData = (chunk) => parts.push(chunk as Uint8Array);
  // Its own onEnd copies the output into one more buffer; the parts are enough.
  inflater.onEnd = (status) => {
    inflater.err = status;
    inflater.msg = (inflater.strm as unknown as { msg: string }).msg;
  };
  inflater.push(input, true);
  // A zlib stream stops at its end (pako restarts only for gzip members): what follows is left.
  if (!inflater.ended || inflater.err === -5) throw new InflateError("unexpected end of file");
  if (inflater.err !== 0) throw new InflateError(inflater.msg || `inflate failed (${inflater.err})`);
  const size = parts.reduce((n, p) => n + p.length, 0);
  if (size !== expectedSize) throw corruptPack(`object inflates to ${size} bytes, its header says ${expectedSize}`);
  let data = parts[0] ?? new Uint8Array(0);
  if (parts.length > 1) {
    data = new Uint8Array(size);
    let o = 0;
    for (const p of parts) {
      data.set(p, o);
      o += p.length;
    }
  }
  return { data, consumed: input.length - inflater.strm.avail_in };
}

/**
 * Inflates the zlib stream that starts at `start` in `buf`, which must hold all of it (trailing
 * bytes are fine). Returns the data and the number of compressed bytes the stream took.
 */
export function inflateAt(buf: Uint8Array, start: number, expectedSize: number): { data: Uint8Array; consumed: number } {
  if (expectedSize <= PAKO_MAX) return inflateSmall(buf.subarray(start), expectedSize);
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
