// The ranged pack index against the whole-index reader on the same packs: every object's position,
// offset and CRC, abbreviations, missing ids, 64-bit offsets, the storage requests it makes, the
// bytes it copies, and which request's meter counts its reads.
import { env as workerEnv } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { RepoBuilder } from "./git-fixture";
import { hashObject, hexToBytes, sha1, type Oid } from "../../src/git/oid";
import { PackIndex, writePackIndex } from "../../src/git/pack-index";
import { RangedPackIndex } from "../../src/git/pack-index-ranged";
import { RANGED_PAGE_BUDGET, RANGED_UNIT, rangedPageBytes, setRangedPageBudget } from "../../src/git/pack-index-unit-cache";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource, type RangeSource } from "../../src/git/range-source";
import { meteredEnv, newMeter } from "../../src/obs/meter";
import { loadPackIndex, setWholeIndexMax } from "../../src/storage/pack-store";
import type { Env } from "../../src/env";

const enc = new TextEncoder();
let sources = 0;

/**
 * An index in memory that counts the reads made of it (each would be one R2 request) and their
 * sequential rounds: reads started before any of them finished share a round (as the request
 * meter counts round trips). Each read answers on a later turn of the event loop, with a buffer of
 * its own, as an R2 read does.
 */
class CountingSource implements RangeSource {
  readonly id = `ranged-test-${sources++}-${Math.random().toString(36).slice(2)}`;
  reads = 0;
  rounds = 0;
  /** Where each read started, and the bytes all of them returned. */
  readonly starts: number[] = [];
  bytesRead = 0;
  private finished = 0;
  constructor(private readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  async read(start: number, end: number): Promise<Uint8Array> {
    this.reads++;
    this.starts.push(start);
    const depth = this.finished + 1;
    this.rounds = Math.max(this.rounds, depth);
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.finished = Math.max(this.finished, depth);
    const from = this.bytes.byteOffset + start;
    const length = Math.max(0, Math.min(end, this.bytes.length) - start);
    this.bytesRead += length;
    return new Uint8Array(this.bytes.buffer.slice(from, from + length));
  }
}

/** Bytes copied by Uint8Array's slice and set while `fn` runs (what a cache of copied pages costs). */
async function bytesCopied(fn: () => Promise<void>): Promise<number> {
  const proto = Uint8Array.prototype;
  const { slice, set } = proto;
  let copied = 0;
  proto.slice = function (this: Uint8Array, ...args: Parameters<Uint8Array["slice"]>) {
    const out = slice.apply(this, args);
    copied += out.length;
    return out;
  } as typeof slice;
  proto.set = function (this: Uint8Array, array: ArrayLike<number>, offset?: number) {
    copied += array.length;
    return set.call(this, array, offset);
  } as typeof set;
  try {
    await fn();
  } finally {
    proto.slice = slice;
    proto.set = set;
  }
  return copied;
}

afterEach(() => {
  setRangedPageBudget(RANGED_PAGE_BUDGET);
});

/** Checks every entry of `idx` through the ranged reader, plus ids that are not there. */
async function expectSameAsWhole(idxBytes: Uint8Array): Promise<RangedPackIndex> {
  const whole = new PackIndex(idxBytes);
  const ranged = await RangedPackIndex.open(new CountingSource(idxBytes));
  expect(ranged.count).toBe(whole.count);
  expect(await ranged.packChecksum()).toBe(whole.packChecksum);
  for (let i = 0; i < whole.count; i++) {
    const oid = whole.oidAt(i);
    expect(await ranged.find(oid)).toBe(i);
    expect(await ranged.oidAt(i)).toBe(oid);
    expect(await ranged.offsetAt(i)).toBe(whole.offsetAt(i));
    expect(await ranged.crcAt(i)).toBe(whole.crcAt(i));
    // The same id one bit off is missing in both (or present in both, if it happens to exist).
    const near = hexToBytes(oid);
    near[19] = near[19]! ^ 1;
    expect(await ranged.find(near)).toBe(whole.find(near));
  }
  const streamed: { oid: Oid; offset: number }[] = [];
  for await (const e of ranged.entries()) streamed.push({ oid: e.oid, offset: e.offset });
  expect(streamed).toEqual(Array.from({ length: whole.count }, (_, i) => ({ oid: whole.oidAt(i), offset: whole.offsetAt(i) })));
  return ranged;
}

/** Entries whose ids all share a first byte: one fan-out bucket too big for a single read. */
function crowdedEntries(n: number, firstByte: number, bigEvery = 0) {
  return Array.from({ length: n }, (_, i) => {
    const oid = sha1().update(`crowded ${i}`).digest() as Uint8Array;
    oid[0] = firstByte;
    const offset = bigEvery && i % bigEvery === 0 ? 2 ** 32 + i * 1000 : 12 + i * 100;
    return { oid, offset, crc: (i * 2654435761) >>> 0 };
  });
}

describe("ranged pack index", () => {
  it("matches the whole index on a RepoBuilder repository's pack, for every object", async () => {
    const repo = new RepoBuilder();
    for (let c = 0; c < 40; c++) repo.files({ [`dir${c % 5}/file${c}.txt`]: `content ${c}\n`, "README.md": `rev ${c}\n` });
    const { pack } = repo.pack();
    const { index } = await indexPack(new MemorySource("ranged-repo-pack", pack));
    await expectSameAsWhole(index);
  });

  it("matches the whole index with 64-bit offsets and a bucket larger than one read", async () => {
    const idx = writePackIndex(crowdedEntries(6000, 0xab, 7), new Uint8Array(20).fill(9));
    await expectSameAsWhole(idx);
  });

  it("answers missing ids: empty buckets, before and after a bucket's names, and between them", async () => {
    const entries = crowdedEntries(5000, 0x40);
    const ranged = await RangedPackIndex.open(new CountingSource(writePackIndex(entries, new Uint8Array(20))));
    expect(await ranged.find("00".repeat(20))).toBe(-1);
    expect(await ranged.find("ff".repeat(20))).toBe(-1);
    expect(await ranged.find(`40${"00".repeat(19)}`)).toBe(-1);
    expect(await ranged.find(`40${"ff".repeat(19)}`)).toBe(-1);
    expect(await ranged.find(hashObject("blob", enc.encode("absent")))).toBe(-1);
  });

  it("finds ids by prefix as the whole index does", async () => {
    const entries = crowdedEntries(5000, 0x5c);
    const idx = writePackIndex(entries, new Uint8Array(20));
    const whole = new PackIndex(idx);
    const ranged = await RangedPackIndex.open(new CountingSource(idx));
    const all = Array.from({ length: whole.count }, (_, i) => whole.oidAt(i));
    for (const oid of all.slice(0, 200)) {
      for (const len of [4, 5, 7, 40]) {
        const prefix = oid.slice(0, len);
        expect(await ranged.findByPrefix(prefix, 3)).toEqual(all.filter((o) => o.startsWith(prefix)).slice(0, 3));
      }
    }
    expect(await ranged.findByPrefix("5c", 10_000)).toEqual(all);
    expect(await ranged.findByPrefix("5d00", 2)).toEqual([]);
  });

  it("reads the fan-out table once, then a bounded number of requests per cold lookup", async () => {
    // 40,000 names in one bucket: 800 KB of names, so a lookup probes pages before one read.
    const entries = crowdedEntries(40_000, 0x11);
    const source = new CountingSource(writePackIndex(entries, new Uint8Array(20)));
    const ranged = await RangedPackIndex.open(source);
    expect(source.reads).toBe(1);
    let most = 0;
    for (const e of entries.slice(0, 50)) {
      const before = source.reads;
      const i = await ranged.find(e.oid);
      expect(await ranged.offsetAt(i)).toBe(e.offset);
      most = Math.max(most, source.reads - before);
    }
    // log2(800 KB / 64 KB) probes of a page, one read of the rest, one of the offset.
    expect(most).toBeLessThanOrEqual(7);
    expect(ranged.reads).toBe(source.reads);
  });

  it("looks an id up in one round trip: its bucket's names and offsets are requested together", async () => {
    const entries = crowdedEntries(3000, 0x33);
    const source = new CountingSource(writePackIndex(entries, new Uint8Array(20)));
    const ranged = await RangedPackIndex.open(source);
    const e = entries[1234]!;
    const pending = ranged.lookup(e.oid);
    // Every request left before any answered (nothing has been awaited yet): the bucket's names
    // and offsets, or one read when both lie in the same 256 KiB unit, as in this small index.
    const sent = source.reads;
    expect(sent).toBeGreaterThanOrEqual(2);
    expect(sent).toBeLessThanOrEqual(3);
    expect((await pending)?.offset).toBe(e.offset);
    expect(source.reads).toBe(sent);
    expect(await ranged.lookup(hashObject("blob", enc.encode("absent")))).toBeNull();
  });

  it("keeps its pages within a byte budget however many lookups it serves", async () => {
    const idx = writePackIndex(crowdedEntries(20_000, 0x22), new Uint8Array(20));
    for (let round = 0; round < 3; round++) {
      const ranged = await RangedPackIndex.open(new CountingSource(idx));
      for (let i = 0; i < ranged.count; i += 97) expect(await ranged.find(await ranged.oidAt(i))).toBe(i);
      expect(rangedPageBytes()).toBeLessThanOrEqual(RANGED_PAGE_BUDGET);
    }
  });

  it("caches nothing from a failed read: the next lookup asks storage again and succeeds", async () => {
    const entries = crowdedEntries(500, 0x44);
    const source = new CountingSource(writePackIndex(entries, new Uint8Array(20)));
    const ranged = await RangedPackIndex.open(source);
    const real = source.read.bind(source);
    let fail = true;
    source.read = async (start, end) => {
      if (fail) throw new Error("storage unavailable");
      return real(start, end);
    };
    await expect(ranged.lookup(entries[7]!.oid)).rejects.toThrow(/storage unavailable/);
    fail = false;
    expect((await ranged.lookup(entries[7]!.oid))?.offset).toBe(entries[7]!.offset);
  });

  it("rejects what is not a version 2 index, or a truncated one, with a corrupt-pack error", async () => {
    const idx = writePackIndex(crowdedEntries(100, 0x01), new Uint8Array(20));
    await expect(RangedPackIndex.open(new CountingSource(idx.subarray(0, idx.length - 1)))).rejects.toThrow(/truncated/);
    const bad = idx.slice();
    bad[0] = 0;
    await expect(RangedPackIndex.open(new CountingSource(bad))).rejects.toThrow(/not a version 2/);
  });

  it("keeps each unit it reads as the buffer the read returned: no bytes copied, one cache entry a read", async () => {
    // 30,000 names, 28 bytes each: 840 KB of index.
    const entries = Array.from({ length: 30_000 }, (_, i) => ({
      oid: sha1().update(`spread ${i}`).digest() as Uint8Array,
      offset: 12 + i * 100,
      crc: i,
    }));
    const source = new CountingSource(writePackIndex(entries, new Uint8Array(20)));
    setRangedPageBudget(RANGED_PAGE_BUDGET);
    const ranged = await RangedPackIndex.open(source);
    const opened = source.bytesRead;
    const found: (number | undefined)[] = [];
    const copied = await bytesCopied(async () => {
      for (const e of entries.slice(0, 300)) found.push((await ranged.lookup(e.oid))?.offset);
    });
    expect(found).toEqual(entries.slice(0, 300).map((e) => e.offset));
    // 64 pages of 4 KiB copied out of every 256 KiB read before.
    expect(copied).toBe(0);
    // Each unit read once and kept whole: one entry of its own size (and 64 bytes).
    const units = source.starts.slice(1);
    expect(new Set(units).size).toBe(units.length);
    expect(units.every((at) => at % RANGED_UNIT === 0)).toBe(true);
    expect(rangedPageBytes()).toBe(source.bytesRead - opened + units.length * 64);
  });

  it("looks up a batch of ids in one round trip, each unit read once, when buckets exceed one read", async () => {
    // Eight buckets of 4,000 names (80 KB of names each, the size of a bucket of a 900,000-object
    // pack): the first two buckets' names lie in the first unit, their offsets three units on.
    const entries = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80].flatMap((b) => crowdedEntries(4000, b));
    const source = new CountingSource(writePackIndex(entries, new Uint8Array(20)));
    const ranged = await RangedPackIndex.open(source);
    const picked = entries.filter((e, i) => e.oid[0]! <= 0x20 && i % 97 === 0);
    const rounds = source.rounds;
    const found = await Promise.all(picked.map((e) => ranged.lookup(e.oid)));
    expect(found.map((f) => f?.offset)).toEqual(picked.map((e) => e.offset));
    // The names around each id beside their offsets: one round (the names, then the offsets,
    // took two), and each unit read once.
    expect(source.rounds - rounds).toBe(1);
    const units = source.starts.slice(1);
    expect(new Set(units).size).toBe(units.length);
  });

  it("counts an index's reads on the request that makes them, whichever request opened it", async () => {
    const env = workerEnv as unknown as Env;
    const entries = crowdedEntries(3000, 0x66);
    const key = `ranged-meter-${Date.now().toString(36)}/pack.idx`;
    await env.OBJECTS.put(key, writePackIndex(entries, new Uint8Array(20)));
    const before = setWholeIndexMax(0);
    try {
      const first = newMeter("first");
      const opened = await loadPackIndex(meteredEnv(env, first).OBJECTS, key);
      expect(first.calls.r2).toBe(1);
      const second = newMeter("second");
      const index = await loadPackIndex(meteredEnv(env, second).OBJECTS, key);
      expect(index.count).toBe(opened.count);
      expect((await index.lookup(entries[42]!.oid))?.offset).toBe(entries[42]!.offset);
      // The bucket's names and offsets: read by the second request, on its meter.
      expect(second.calls.r2).toBeGreaterThanOrEqual(1);
      expect(first.calls.r2).toBe(1);
    } finally {
      setWholeIndexMax(before);
    }
  });

  it("reads the names around an id's estimated place in its bucket, not the whole bucket", async () => {
    // Two buckets of 8,000 names (160 KB), as a 2,000,000-object pack's: ids are hashes, spread evenly.
    const entries = Array.from({ length: 16_000 }, (_, i) => {
      const oid = sha1().update(`even ${i}`).digest() as Uint8Array;
      oid[0] = 0x70 + (i % 2);
      return { oid, offset: 12 + i, crc: 0 };
    });
    const idx = writePackIndex(entries, new Uint8Array(20));
    expect(3 * RANGED_UNIT).toBeLessThan(8000 * 20);
    let most = 0;
    for (const e of entries.filter((_, i) => i % 211 === 0)) {
      setRangedPageBudget(RANGED_PAGE_BUDGET);
      const source = new CountingSource(idx);
      const ranged = await RangedPackIndex.open(source);
      const before = source.bytesRead;
      expect((await ranged.lookup(e.oid))?.offset).toBe(e.offset);
      most = Math.max(most, source.bytesRead - before);
    }
    // A cold lookup: a unit or two of names and one of offsets, not the bucket's 160 KB and more.
    expect(most).toBeLessThanOrEqual(3 * RANGED_UNIT);
  });
});
