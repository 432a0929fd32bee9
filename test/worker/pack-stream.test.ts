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
    readInto: inner.readInto?.bind(inner),
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

/**
 * A pack whose second pass reads entries again: `n` blobs of 100 KiB (too large to be kept from the
 * first pass), each followed by an OFS_DELTA on it that appends a line.
 */
function deltaPack(n: number): Uint8Array {
  const parts: Uint8Array[] = [packHeader(2 * n)];
  let at = 12;
  const push = (b: Uint8Array) => {
    parts.push(b);
    at += b.length;
  };
  for (let i = 0; i < n; i++) {
    const base = pattern(100 * 1024 + i);
    base[0] = i & 255;
    base[1] = i >> 8;
    const baseAt = at;
    push(encodeEntryHeader(typeNumber("blob"), base.length));
    push(deflate(base, 0));
    // Copy the whole base (offset 0, 3 size bytes), then insert "+\n".
    const size = base.length;
    const varint = (v: number) => {
      const out: number[] = [];
      do {
        let b = v & 127;
        v = Math.floor(v / 128);
        if (v > 0) b |= 128;
        out.push(b);
      } while (v > 0);
      return out;
    };
    const delta = new Uint8Array([
      ...varint(size),
      ...varint(size + 2),
      0x80 | 0x70,
      size & 255,
      (size >> 8) & 255,
      size >> 16,
      2,
      0x2b,
      0x0a,
    ]);
    const deltaAt = at;
    push(encodeEntryHeader(6, delta.length));
    const distance = [(deltaAt - baseAt) & 127];
    for (let d = Math.floor((deltaAt - baseAt) / 128); d > 0; d = Math.floor(d / 128)) distance.unshift(0x80 | ((d - 1) & 127));
    push(new Uint8Array(distance));
    push(deflate(delta));
  }
  const body = concatBytes(parts);
  return concatBytes([body, new Uint8Array(sha1().update(body).digest())]);
}

describe("second pass over an R2 pack", () => {
  it("reads ranges of an object into the caller's buffer, exactly as stored", async () => {
    const bytes = pattern(200_003);
    await env.OBJECTS.put("t/read-into", bytes);
    const source = new R2Source(env.OBJECTS, "t/read-into", bytes.length);
    let into: Uint8Array = new Uint8Array(70_000);
    for (const start of [0, 1, 65_536, 131_000, 199_000]) {
      const read = await source.readInto(start, into.subarray(1000, 1000 + 65_536));
      const n = Math.min(65_536, bytes.length - start);
      expect(read.length).toBe(n);
      expect(read).toEqual(bytes.subarray(start, start + n));
      // The same memory, maybe under a new ArrayBuffer (a BYOB read transfers it).
      expect(read.byteOffset).toBe(1000);
      into = new Uint8Array(read.buffer);
    }
  });

  it("re-reads entries into the first pass's buffer, not through ranged reads that each make a new buffer", async () => {
    const pack = deltaPack(40);
    await env.OBJECTS.put("t/pass2-pack", pack);
    const fromMemory = await indexPack(new MemorySource("m", pack));
    const { bucket, gets } = countingBucket();
    const { source, readBytes } = countingReads(new WindowedSource(new R2Source(bucket, "t/pass2-pack", pack.length)));
    const fromR2 = await indexPack(source);
    expect(fromR2.index).toEqual(fromMemory.index);
    // Every base (4 MiB in all) is read again in the second pass; the old code did it through
    // `read`, a new buffer per window. Now only the trailer's 20 bytes come that way.
    expect(readBytes()).toBeLessThan(1024);
    // One streamed GET, the trailer, and the windows of the second pass.
    expect(gets()).toBeLessThanOrEqual(2 + Math.ceil(pack.length / 65_536) + 40);
  });
});
