// The indexer's first pass reads a pack in R2 as one streamed GET through a BYOB reader into one
// reused buffer (src/git/pack-reading.ts Cursor), not as a ranged GET (and a new array buffer)
// per 8 MiB: checked against the bytes themselves, by counting R2 requests and ranged reads.
import { env as workerEnv } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sha1 } from "../../src/git/oid";
import { encodeEntryHeader, packHeader, typeNumber } from "../../src/git/pack-format";
import { indexPack } from "../../src/git/pack-indexer";
import { Cursor } from "../../src/git/pack-reading";
import { MemorySource, type RangeSource, WindowedSource } from "../../src/git/range-source";
import { deflate } from "../../src/git/zlib";
import { R2Source } from "../../src/storage/r2-source";
import { concatBytes } from "../../src/utils/bytes";

const env = workerEnv as unknown as { OBJECTS: R2Bucket };

/** The bucket, counting its GETs. */
function countingBucket(): { bucket: R2Bucket; gets: () => number } {
  let gets = 0;
  const bucket = new Proxy(env.OBJECTS, {
    get(target, prop) {
      if (prop === "get") {
        return (...args: Parameters<R2Bucket["get"]>) => {
          gets++;
          return target.get(...args);
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { bucket, gets: () => gets };
}

/** Bytes that differ at every offset (no run of zeros hides a misplaced read). */
function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7919 + (i >> 8)) & 255;
  return out;
}

/** A pack of `n` distinct blobs of a few hundred bytes each. */
function blobPack(n: number): Uint8Array {
  const parts: Uint8Array[] = [packHeader(n)];
  for (let i = 0; i < n; i++) {
    const data = new TextEncoder().encode(`blob ${i}\n${"x".repeat(i % 500)}${i}\n`);
    parts.push(encodeEntryHeader(typeNumber("blob"), data.length), deflate(data));
  }
  const body = concatBytes(parts);
  return concatBytes([body, new Uint8Array(sha1().update(body).digest())]);
}

/** A source that counts the bytes asked of `read` (ranged reads, each a new buffer from R2). */
function countingReads(inner: RangeSource): { source: RangeSource; readBytes: () => number } {
  let bytes = 0;
  const source: RangeSource = {
    id: inner.id,
    size: inner.size,
    read(start, end) {
      bytes += Math.min(end, inner.size) - start;
      return inner.read(start, end);
    },
    stream: inner.stream?.bind(inner),
  };
  return { source, readBytes: () => bytes };
}

describe("pack cursor over an R2 stream", () => {
  it("reads an object front to back with one GET, the bytes exactly as stored", async () => {
    const bytes = pattern(1_000_003);
    await env.OBJECTS.put("t/stream-cursor", bytes);
    const { bucket, gets } = countingBucket();
    // 64 KiB reads: the one reused buffer is refilled, compacted and transferred many times.
    const cursor = new Cursor(new R2Source(bucket, "t/stream-cursor", bytes.length), 64 * 1024);
    let pos = 0;
    for (let step = 1; pos < bytes.length; step = (step * 31 + 17) % 40_000) {
      await cursor.ensure(pos, step);
      const n = Math.min(step, bytes.length - pos);
      expect(cursor.buf.subarray(cursor.at(pos), cursor.at(pos) + n)).toEqual(bytes.subarray(pos, pos + n));
      pos += n;
    }
    await cursor.close();
    expect(gets()).toBe(1);
  });

  it("starts a new GET where the cursor jumps past what was read", async () => {
    const bytes = pattern(300_000);
    await env.OBJECTS.put("t/stream-jump", bytes);
    const { bucket, gets } = countingBucket();
    const cursor = new Cursor(new R2Source(bucket, "t/stream-jump", bytes.length), 16 * 1024);
    await cursor.ensure(0, 100);
    expect(cursor.buf.subarray(0, 100)).toEqual(bytes.subarray(0, 100));
    await cursor.ensure(200_000, 5_000);
    expect(cursor.buf.subarray(0, 5_000)).toEqual(bytes.subarray(200_000, 205_000));
    // Onwards from there: the same request.
    await cursor.ensure(216_000, 10_000);
    expect(cursor.buf.subarray(0, 10_000)).toEqual(bytes.subarray(216_000, 226_000));
    await cursor.close();
    expect(gets()).toBe(2);
  });

  it("indexes a pack in R2 as from memory, without ranged reads of the pack's body", async () => {
    const pack = blobPack(3000);
    await env.OBJECTS.put("t/stream-pack", pack);
    const fromMemory = await indexPack(new MemorySource("m", pack));
    const { bucket, gets } = countingBucket();
    const { source, readBytes } = countingReads(new WindowedSource(new R2Source(bucket, "t/stream-pack", pack.length)));
    const fromR2 = await indexPack(source);
    expect(fromR2.checksum).toBe(fromMemory.checksum);
    expect(fromR2.index).toEqual(fromMemory.index);
    // The trailer's 20 bytes, read apart; every entry is small enough to be kept for pass 2.
    expect(readBytes()).toBeLessThan(1024);
    expect(gets()).toBeLessThanOrEqual(2);
  });

  it("refuses a truncated or corrupt pack in R2 with the same error as from memory", async () => {
    const pack = blobPack(500);
    const cases = [pack.subarray(0, pack.length - 700), pack.slice()];
    cases[1]![4000] = cases[1]![4000]! ^ 0xff;
    for (const [i, bytes] of cases.entries()) {
      const key = `t/stream-bad-${i}`;
      await env.OBJECTS.put(key, bytes);
      const memory = await indexPack(new MemorySource("m", bytes)).catch((e: Error) => e.message);
      const r2 = await indexPack(new WindowedSource(new R2Source(env.OBJECTS, key, bytes.length))).catch((e: Error) => e.message);
      expect(typeof memory === "string" && memory.length > 0).toBe(true);
      expect(r2).toBe(memory);
    }
  });
});
