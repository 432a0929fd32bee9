// Reads served from the shared window cache wait for nothing: a page whose objects are all cached
// gives way to the isolate's other requests every CACHED_READS_PER_TURN reads instead of running
// from start to end in one go (issue 19: the warm page during cold blob pages).
import { describe, expect, it, vi } from "vitest";
import { concatBytes } from "../utils/bytes";
import { ObjectStore, Pack, READS_PER_TURN } from "./object-store";
import { hashObject, sha1 } from "./oid";
import { encodeEntryHeader, packHeader, typeNumber } from "./pack-format";
import { PackIndex } from "./pack-index";
import { indexPack } from "./pack-indexer";
import { deflate } from "./zlib";
import { CACHED_READS_PER_TURN, MemorySource, WindowedSource } from "./range-source";
import { turnsDuring } from "../../test/worker/turns";
import { TURN_UNITS } from "../utils/pace";

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe("reads served from the window cache", () => {
  it("give way every CACHED_READS_PER_TURN reads, and read the same bytes", async () => {
    const data = bytes(64 * 1024, 7);
    const id = `cached-reads-${Math.random()}`;
    const source = new WindowedSource(new MemorySource(id, data), 4096);
    // Fill the 16 windows (each a wait for the source), then read from them only.
    for (let at = 0; at < data.length; at += 4096) await source.read(at, at + 10);
    const reads = 1000;
    const { result, turns } = await turnsDuring(async () => {
      let sum = 0;
      for (let i = 0; i < reads; i++) {
        const at = (i * 977) % (data.length - 100);
        const got = await source.read(at, at + 100);
        expect(got).toEqual(data.subarray(at, at + 100));
        sum += got[0]!;
      }
      return sum;
    });
    expect(result).toBeGreaterThan(0);
    expect(turns).toBeGreaterThanOrEqual(Math.floor(reads / (CACHED_READS_PER_TURN + 1)) - 1);
  });

  it("look the shared cache up once for reads of one window in a row, and read the same bytes", async () => {
    const data = bytes(16 * 1024, 3);
    const source = new WindowedSource(new MemorySource(`one-window-${Math.random()}`, data), 4096);
    for (let at = 0; at < data.length; at += 4096) await source.read(at, at + 10);
    const get = vi.spyOn(Map.prototype, "get");
    let lookups: number;
    try {
      // An entry's header, then its bytes, then what follows it (learnAfter's peek): one window.
      for (let i = 0; i < 50; i++) {
        expect(await source.read(4096 + i, 4096 + i + 32)).toEqual(data.subarray(4096 + i, 4096 + i + 32));
        expect(await source.read(4096 + i, 4096 + i + 500)).toEqual(data.subarray(4096 + i, 4096 + i + 500));
        expect(source.peek(4096 + i + 500, 8192)).toEqual(data.subarray(4096 + i + 500, 8192));
      }
      lookups = get.mock.calls.filter(([key]) => typeof key === "string" && key.includes("#4096:")).length;
    } finally {
      get.mockRestore();
    }
    // 150 lookups before (three a round); now one, for the first read.
    expect(lookups).toBe(1);
    // Another window, then back: each looked up once more, with the same bytes.
    expect(await source.read(100, 110)).toEqual(data.subarray(100, 110));
    expect(await source.read(4100, 4110)).toEqual(data.subarray(4100, 4110));
  });

  it("let other requests in while a store reads cached objects", async () => {
    // 400 small blobs in one pack, read twice through a windowed source: the second time every
    // window is cached (a fresh store and source per pass, as each page opens its own).
    const enc = new TextEncoder();
    const blobs = Array.from({ length: 400 }, (_, i) => enc.encode(`blob ${i}\n${"body of the file\n".repeat(20)}`));
    const parts: Uint8Array[] = [packHeader(blobs.length)];
    for (const b of blobs) parts.push(encodeEntryHeader(typeNumber("blob"), b.length), deflate(b));
    const body = concatBytes(parts);
    const pack = concatBytes([body, new Uint8Array(sha1().update(body).digest())]);
    const id = `cached-pack-${Math.random()}`;
    const index = new PackIndex((await indexPack(new MemorySource(id, pack))).index);
    const oids = blobs.map((b) => hashObject("blob", b));
    const open = () => new ObjectStore([new Pack("pack-cached", index, new WindowedSource(new MemorySource(id, pack), 4096))]);
    const first = open();
    for (const oid of oids) await first.readTyped(oid, "blob");
    // Raw entries, not readTyped: the shared cache of resolved objects would answer those
    // without reading the pack at all.
    const { turns } = await turnsDuring(async () => {
      const store = open();
      for (const [i, oid] of oids.entries()) {
        const loc = (await store.locate(oid))!;
        expect((await loc.pack.rawEntry(loc.offset)).header.size).toBe(blobs[i]!.length);
      }
    });
    // 400 entries, one read each from cached windows (the index is held whole): about 6 turns.
    expect(turns).toBeGreaterThanOrEqual(4);
  });

  it("let other requests in while a store reads objects the shared cache holds", async () => {
    // Objects resolved once are answered from the isolate's cache with no pack read at all (the
    // trees and blobs of a commit page after other pages of the same commit): the store's own
    // count of reads gives the turns.
    const enc = new TextEncoder();
    const blobs = Array.from({ length: 640 }, (_, i) => enc.encode(`object ${i}\n`));
    const parts: Uint8Array[] = [packHeader(blobs.length)];
    for (const b of blobs) parts.push(encodeEntryHeader(typeNumber("blob"), b.length), deflate(b));
    const body = concatBytes(parts);
    const pack = concatBytes([body, new Uint8Array(sha1().update(body).digest())]);
    const id = `resolved-pack-${Math.random()}`;
    const index = new PackIndex((await indexPack(new MemorySource(id, pack))).index);
    const oids = blobs.map((b) => hashObject("blob", b));
    const open = () => new ObjectStore([new Pack("pack-resolved", index, new MemorySource(id, pack))]);
    const first = open();
    for (const oid of oids) await first.readTyped(oid, "blob");
    const { turns } = await turnsDuring(async () => {
      const store = open();
      for (const [i, oid] of oids.entries()) expect(await store.readTyped(oid, "blob")).toEqual(blobs[i]);
    });
    expect(turns).toBeGreaterThanOrEqual(oids.length / READS_PER_TURN - 1);
  });

  it("share one budget across the stores of the isolate: pages side by side, or one page's several stores", async () => {
    // Three stores (three pages at once, each under its own budget before) read 50 objects each
    // from the shared cache of resolved objects, in turn: 150 reads, each store below 64 of its own.
    const enc = new TextEncoder();
    const blobs = Array.from({ length: 50 }, (_, i) => enc.encode(`shared budget ${i}\n`));
    const parts: Uint8Array[] = [packHeader(blobs.length)];
    for (const b of blobs) parts.push(encodeEntryHeader(typeNumber("blob"), b.length), deflate(b));
    const body = concatBytes(parts);
    const pack = concatBytes([body, new Uint8Array(sha1().update(body).digest())]);
    const id = `shared-budget-${Math.random()}`;
    const index = new PackIndex((await indexPack(new MemorySource(id, pack))).index);
    const oids = blobs.map((b) => hashObject("blob", b));
    const open = () => new ObjectStore([new Pack("pack-shared", index, new MemorySource(id, pack))]);
    const first = open();
    for (const oid of oids) await first.readTyped(oid, "blob");
    const { turns } = await turnsDuring(async () => {
      const stores = [open(), open(), open()];
      for (const [i, oid] of oids.entries())
        for (const store of stores) expect(await store.readTyped(oid, "blob")).toEqual(blobs[i]);
    });
    // 150 units: at least 2 turns (the budget may have been part spent before); each store's own
    // count of 64 gave none.
    expect(turns).toBeGreaterThanOrEqual(Math.floor((3 * oids.length) / TURN_UNITS));
  });
});
