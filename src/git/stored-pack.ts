// A stored pack sent as a fetch's whole answer (a clone of exactly the tips whose closure it is):
// streamed requests of a MiB of the pack, read in bounded chunks straight into the buffers that go out.
import { putBandHeader } from "./pkt-line";
import type { RangeSource } from "./range-source";
import { SpanReader } from "./stream-reads";

/**
 * Pack bytes per buffer handed to the response: 16 side-band-64k packets, about 1 MiB. Each is a
 * new buffer, since the response holds it until the client has read it. The stored pack used to
 * go out 4 MiB at a time: a ranged GET's `arrayBuffer()` of 4 MiB, the next one already on its
 * way, then copied into packets of another 4 MiB, so 12 MiB and more of array buffers a step,
 * about 53 MiB held by the edge for 25 s of a clone of big.git (bench/scale-results.md,
 * s10-import).
 */
export const STORED_PACK_CHUNK = 16 * (65520 - 5);

/** Fills views with a source's bytes front to back, from its start. */
interface Filler {
  fill(into: Uint8Array): Promise<void>;
  /** Ends the reading; `complete` when every byte was asked for. */
  close(complete: boolean): Promise<void>;
}

/**
 * Streamed requests of a MiB each when the source has them (`SpanReader`: one request of the
 * whole pack held the local forge's thread for seconds; read through the range reader's small
 * reused landing buffers into the caller's views: no array buffer per read), else its ranged
 * reads (memory sources in tests).
 */
async function sequentialFiller(source: RangeSource): Promise<Filler> {
  if (source.stream) {
    const reader = new SpanReader(source, 0);
    return {
      async fill(into) {
        for (let filled = 0; filled < into.length; ) {
          const r = await reader.read(into.subarray(filled));
          if (r.n === 0) throw new Error(`the stored pack ${source.id} ended ${into.length - filled} bytes early`);
          filled += r.n;
        }
      },
      async close() {
        // Each request read to its last byte was released; one the client left early is cancelled.
        await reader.close();
      },
    };
  }
  let pos = 0;
  return {
    async fill(into) {
      const bytes = await source.read(pos, pos + into.length);
      if (bytes.length !== into.length) throw new Error(`the stored pack ${source.id} ended early`);
      into.set(bytes);
      pos += bytes.length;
    },
    async close() {},
  };
}

/**
 * Sends the whole of `source` through `write`: as side-band packets on band 1 of at most `max`
 * payload bytes, or bare when `max` is null. Holds one chunk of `chunkBytes` of its own at a time
 * (the one `write` is handed, which waits while the response is full).
 */
export async function sendStoredPack(
  source: RangeSource,
  write: (chunk: Uint8Array) => Promise<void>,
  max: number | null,
  chunkBytes = STORED_PACK_CHUNK,
): Promise<void> {
  const from = await sequentialFiller(source);
  let complete = false;
  try {
    for (let pos = 0; pos < source.size; ) {
      const n = Math.min(chunkBytes, source.size - pos);
      if (max === null) {
        const out = new Uint8Array(n);
        await from.fill(out);
        await write(out);
      } else {
        const out = new Uint8Array(n + Math.ceil(n / max) * 5);
        for (let o = 0, left = n; left > 0; ) {
          const p = Math.min(max, left);
          putBandHeader(out, o, 1, p);
          await from.fill(out.subarray(o + 5, o + 5 + p));
          o += p + 5;
          left -= p;
        }
        await write(out);
      }
      pos += n;
    }
    complete = true;
  } finally {
    await from.close(complete);
  }
}
