// The compact id table the commit-graph build of an import looks trees up in (git/pack-id-table.ts):
// read in one pass over a ranged index, it answers offsets as the index does, and leaves to the
// index what 8 bytes of an id cannot tell (ids sharing them) and what 4 bytes of offset cannot hold.
import { describe, expect, it } from "vitest";
import { concatBytes } from "../../src/utils/bytes";
import { ObjectStore, Pack } from "../../src/git/object-store";
import { bulkLocator, idTableLocator, PackIdTable, pageTableLocator, setKeptTablesBudget } from "../../src/git/pack-id-table";
import { writePackIndexColumns } from "../../src/git/pack-index";
import { RangedPackIndex } from "../../src/git/pack-index-ranged";
import { MemorySource } from "../../src/git/range-source";
import { IdTableFromIdx, idTableFileOf } from "../../src/git/pack-id-table-file";
import { RoundsSource } from "./rounds-source";
import { TURN_UNITS } from "../../src/utils/pace";
import { TABLE_ENTRIES_PER_UNIT } from "../../src/git/pack-id-table";
import { turnsDuring } from "./turns";

/** A version 2 pack index of `entries` (ids sorted here), with big offsets where needed. */
function indexOf(entries: { oid: string; offset: number }[]): Uint8Array {
  const sorted = [...entries].sort((a, b) => (a.oid < b.oid ? -1 : 1));
  const n = sorted.length;
  const big = sorted.filter((e) => e.offset >= 0x80000000);
  const out = new Uint8Array(8 + 1024 + n * 28 + big.length * 8 + 40);
  const v = new DataView(out.buffer);
  out.set([0xff, 0x74, 0x4f, 0x63]);
  v.setUint32(4, 2);
  for (const e of sorted)
    for (let b = Number.parseInt(e.oid.slice(0, 2), 16); b < 256; b++) v.setUint32(8 + b * 4, v.getUint32(8 + b * 4) + 1);
  const names = 8 + 1024;
  const offs = names + n * 24;
  let k = 0;
  sorted.forEach((e, i) => {
    for (let j = 0; j < 20; j++) out[names + i * 20 + j] = Number.parseInt(e.oid.slice(j * 2, j * 2 + 2), 16);
    if (e.offset < 0x80000000) v.setUint32(offs + i * 4, e.offset);
    else {
      v.setUint32(offs + i * 4, 0x80000000 | k);
      v.setUint32(offs + n * 4 + k * 8, Math.floor(e.offset / 2 ** 32));
      v.setUint32(offs + n * 4 + k * 8 + 4, e.offset % 2 ** 32);
      k++;
    }
  });
  return out;
}

const id = (prefix: string) => prefix.padEnd(40, "0");

/** The id table file of the .idx `idx`, fed to the writer `chunk` bytes at a time. */
function tableFileOf(idx: Uint8Array, chunk: number): Uint8Array {
  const derive = new IdTableFromIdx();
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < idx.length; at += chunk)
    for (const p of derive.feed(idx.subarray(at, at + chunk))) pieces.push(p.slice());
  return concatBytes(pieces);
}

/** A source in memory that counts the bytes read from it. */
class CountingBytes extends MemorySource {
  bytesRead = 0;
  override async read(start: number, end: number): Promise<Uint8Array> {
    const bytes = await super.read(start, end);
    this.bytesRead += bytes.length;
    return bytes;
  }
}

describe("the id table of a ranged pack index", () => {
  const entries = [
    { oid: id("0a"), offset: 12 },
    { oid: id("5511223344556677aa"), offset: 1000 },
    // Same first 8 bytes as the one above: only the index can tell them apart.
    { oid: id("5511223344556677bb"), offset: 2000 },
    { oid: id("77"), offset: 3 * 2 ** 31 },
    { oid: id("ff01"), offset: 4096 },
  ];
  const source = () => new MemorySource(`id-table-${Math.random()}`, indexOf(entries));

  it("answers offsets, absent ids, and leaves shared prefixes and big offsets to the index", async () => {
    const index = await RangedPackIndex.open(source());
    const before = index.reads;
    const table = await PackIdTable.read(index);
    // One pass: names and offsets, one read each.
    expect(index.reads - before).toBe(2);
    expect(table.find(id("0a"))).toBe(12);
    expect(table.find(id("ff01"))).toBe(4096);
    expect(table.find(id("ff02"))).toBeNull();
    expect(table.find(id("00"))).toBeNull();
    expect(table.find(id("5511223344556677aa"))).toBe("index");
    expect(table.find(id("5511223344556677bb"))).toBe("index");
    expect(table.find(id("77"))).toBe("index");
  });

  it("locates as the store does, asking the index where the table cannot tell", async () => {
    const store = new ObjectStore([
      new Pack("p", await RangedPackIndex.open(source()), new MemorySource("p.pack", new Uint8Array(0))),
    ]);
    const locate = await bulkLocator(store, 1_000_000);
    const ids = [...entries.map((e) => e.oid), id("ff02")];
    const found = await locate(ids);
    expect(found.map((l) => l?.offset ?? null)).toEqual([...entries.map((e) => e.offset), null]);
    expect(found.map((l) => l?.offset ?? null)).toEqual((await store.locateMany(ids)).map((l) => l?.offset ?? null));
  });

  it("is not read for a few lookups against a large index", async () => {
    const index = await RangedPackIndex.open(source());
    const store = new ObjectStore([new Pack("p", index, new MemorySource("p2.pack", new Uint8Array(0)))]);
    const before = index.reads;
    // Fewer lookups than 1 in 256 objects: the store's own lookups.
    await bulkLocator(store, 0);
    expect(index.reads).toBe(before);
  });

  it("is kept once per isolate for every reader: a page uses the table a blame read", async () => {
    const index = await RangedPackIndex.open(source());
    const store = new ObjectStore([new Pack("p", index, new MemorySource("p3.pack", new Uint8Array(0)))]);
    // Before any walk read it, a page has no table (its unit reads are far from a third of the index).
    expect(await pageTableLocator(store)).toBeNull();
    const walk = await idTableLocator(store);
    expect(walk).not.toBeNull();
    const before = index.reads;
    const page = await pageTableLocator(store);
    // The page's locator answers from the same kept table, with no read of its own.
    expect(index.reads).toBe(before);
    expect(page?.(id("ff01"))).toEqual(walk?.(id("ff01")));
    expect(page?.(id("ff01"))?.offset).toBe(4096);
  });

  it("is not read again by a bulk locator when kept for the isolate (a checkpoint run after a tip walk)", async () => {
    const index = await RangedPackIndex.open(source());
    const store = new ObjectStore([new Pack("p", index, new MemorySource("p5.pack", new Uint8Array(0)))]);
    const walk = await idTableLocator(store);
    const before = index.reads;
    const bulk = await bulkLocator(store, 1_000_000);
    expect(bulk.inMemory).toBe(true);
    expect(index.reads).toBe(before);
    expect((await bulk([id("ff01")]))[0]?.offset).toBe(walk?.(id("ff01"))?.offset);
  });

  it("is not kept for the isolate when read with keep: false (a compaction frees its tables when done)", async () => {
    const index = await RangedPackIndex.open(source());
    const store = new ObjectStore([new Pack("p", index, new MemorySource("p4.pack", new Uint8Array(0)))]);
    const once = await idTableLocator(store, { keep: false });
    expect(once?.(id("ff01"))?.offset).toBe(4096);
    expect(once?.bytes).toBe(entries.length * 12);
    const before = index.reads;
    // Not kept: the next reader reads it again (names and offsets, one read each), and keeps it.
    await idTableLocator(store);
    expect(index.reads - before).toBe(2);
    await idTableLocator(store);
    expect(index.reads - before).toBe(2);
  });

  it("makes room for a page's new table by dropping the least used (a retired pack's would else keep its room)", async () => {
    // Room for one table of these five entries (60 bytes and 64 of bookkeeping: 124) and no more.
    const budget = setKeptTablesBudget(150);
    try {
      const retired = await RangedPackIndex.open(source());
      await idTableLocator(new ObjectStore([new Pack("old", retired, new MemorySource("old.pack", new Uint8Array(0)))]));
      const index = await RangedPackIndex.open(source());
      const store = new ObjectStore([new Pack("new", index, new MemorySource("new.pack", new Uint8Array(0)))]);
      // A lookup by ranges reads the whole (small) index by units: past a third of its size.
      await index.lookup(id("0a"));
      const page = await pageTableLocator(store);
      expect(page?.(id("ff01"))?.offset).toBe(4096);
    } finally {
      setKeptTablesBudget(budget);
    }
  });

  it("reads batches side by side ahead when asked (blame): the same reads in a quarter of the rounds", async () => {
    // 300,000 made-up ids: five batches of 65,536.
    const n = 300_000;
    const oids = new Uint8Array(20 * n);
    for (let i = 0; i < n; i++) new DataView(oids.buffer).setUint32(20 * i, Math.floor((i * 2 ** 32) / n));
    const bytes = writePackIndexColumns(oids, new Float64Array(n).fill(12), new Uint32Array(n), new Uint8Array(20));
    const rounds = async (ahead?: number) => {
      const storage = new RoundsSource(`id-table-ahead-${Math.random()}`, bytes);
      const index = await RangedPackIndex.open(storage);
      const store = new ObjectStore([new Pack("p", index, new MemorySource("p5.pack", new Uint8Array(0)))]);
      const [reads, before] = [storage.reads, storage.rounds];
      const table = await idTableLocator(store, { keep: false, ahead });
      expect(table?.bytes).toBe(n * 12);
      return { reads: storage.reads - reads, rounds: storage.rounds - before };
    };
    const one = await rounds();
    const ahead = await rounds(3);
    expect(one).toEqual({ reads: 10, rounds: 5 });
    expect(ahead).toEqual({ reads: 10, rounds: 2 });
  });

  it("reads a pack's id table file when it has one: the same answers from 12 bytes an object, not the .idx's 24", async () => {
    // Fed in chunks that cut ids, the header and the sections anywhere: the same file.
    const idx = indexOf(entries);
    const file = tableFileOf(idx, 7);
    expect(file).toEqual(tableFileOf(idx, 1));
    expect(file).toEqual(idTableFileOf(idx));
    expect(file.length).toBe(12 + entries.length * 12);
    const withFile = (await RangedPackIndex.open(source())).withIdTable({
      source: new MemorySource(`ids-${Math.random()}`, file),
      present: async () => true,
    });
    const table = await PackIdTable.read(withFile);
    for (const e of [...entries, { oid: id("ff02") }, { oid: id("00") }])
      expect(table.find(e.oid)).toBe(await PackIdTable.read(await RangedPackIndex.open(source())).then((t) => t.find(e.oid)));
    // 300,000 made-up ids: the table's bytes read from the file or from the .idx.
    const n = 300_000;
    const oids = new Uint8Array(20 * n);
    for (let i = 0; i < n; i++) new DataView(oids.buffer).setUint32(20 * i, Math.floor((i * 2 ** 32) / n));
    const big = writePackIndexColumns(oids, new Float64Array(n).fill(12), new Uint32Array(n), new Uint8Array(20));
    const read = async (hasFile: boolean) => {
      const idxSource = new CountingBytes(`ids-idx-${Math.random()}`, big);
      const fileSource = new CountingBytes(`ids-file-${Math.random()}`, tableFileOf(big, 65_536));
      const index = (await RangedPackIndex.open(idxSource)).withIdTable({ source: fileSource, present: async () => hasFile });
      const before = index.reads;
      const t = await PackIdTable.read(index);
      expect(t.find(id("00"))).toBe(12);
      return { bytes: idxSource.bytesRead + fileSource.bytesRead, reads: index.reads - before };
    };
    // From the .idx: 24 bytes an object in 10 reads; from the file: 12 in 6 (batches of 131,072).
    expect(await read(false)).toEqual({ bytes: n * 24 + 8 + 1024, reads: 10 });
    expect(await read(true)).toEqual({ bytes: n * 12 + 8 + 1024, reads: 6 });
  });

  it("reads the .idx when the pack has no id table file (packs indexed before it was written)", async () => {
    const index = (await RangedPackIndex.open(source())).withIdTable({
      source: new MemorySource(`absent-${Math.random()}`, new Uint8Array(0)),
      present: async () => false,
    });
    const table = await PackIdTable.read(index);
    expect(table.find(id("ff01"))).toBe(4096);
    expect(table.find(id("77"))).toBe("index");
  });
});

describe("reading a large table gives turns to other requests", () => {
  it("between its arrays' allocations and while a batch is copied in (git/git's batch held the thread 10 to 17 ms)", async () => {
    // One batch of the .idx (65,536 entries a batch): the copy of 40,000 entries between two reads.
    const n = 40_000;
    const entries = Array.from({ length: n }, (_, i) => ({ oid: id(i.toString(16).padStart(16, "0")), offset: 12 + i * 10 }));
    const index = await RangedPackIndex.open(new MemorySource(`turns-${Math.random()}`, indexOf(entries)));
    const build = PackIdTable.build(index);
    const { result: table, turns } = await turnsDuring(() => build.step(1, index));
    // Two between the three arrays, then one every 16,384 entries of the copy (TABLE_ENTRIES_PER_UNIT
    // units of TURN_UNITS): two, less one as the budget may have been part spent before. Before,
    // none: the reads from memory give none, and the copy ran at once.
    expect(turns).toBeGreaterThanOrEqual(3);
    expect(TABLE_ENTRIES_PER_UNIT * TURN_UNITS).toBeLessThanOrEqual(16_384);
    expect(table).not.toBeNull();
    expect(table!.find(entries[0]!.oid)).toBe(12);
    expect(table!.find(entries[n - 1]!.oid)).toBe(12 + (n - 1) * 10);
    expect(table!.find(id("ffff"))).toBeNull();
  });
});
