// zlib for pack entries, through workerd's native node:zlib.
import zlib from "node:zlib";
import { corruptPack } from "./errors";

/**
 * Inflates the zlib stream that starts at `start` in `buf`, which must hold all of it (trailing
 * bytes are fine). Returns the data and the number of compressed bytes the stream took.
 */
export function inflateAt(buf: Uint8Array, start: number, expectedSize: number): { data: Uint8Array; consumed: number } {
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
