// The ranged pack index on git's own .idx of the express fixture, checked against `git show-index`
// (git's listing of every entry) and the whole-index reader, object by object.
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { PackIndex, writePackIndex } from "../../src/git/pack-index";
import { sha1 } from "../../src/git/oid";
import { RangedPackIndex } from "../../src/git/pack-index-ranged";
import { MemorySource } from "../../src/git/range-source";
import { expressMirror } from "../e2e/git";

describe("ranged pack index on git's express index", () => {
  it("finds every object at git's offset with git's CRC, and ids by prefix", async () => {
    const dir = join(await expressMirror(), "objects", "pack");
    const name = readdirSync(dir).find((f) => f.endsWith(".idx"))!;
    const bytes = new Uint8Array(readFileSync(join(dir, name)));
    const listed = execFileSync("git", ["show-index"], { input: bytes, maxBuffer: 64 * 1024 * 1024 })
      .toString()
      .trim()
      .split("\n")
      .map((line) => {
        const [offset, oid, crc] = line.split(" ");
        return { oid: oid!, offset: Number(offset), crc: parseInt(crc!.slice(1, -1), 16) };
      });
    const whole = new PackIndex(bytes);
    const ranged = await RangedPackIndex.open(new MemorySource(`express-idx-${name}`, bytes));
    expect(ranged.count).toBe(listed.length);
    expect(listed.length).toBeGreaterThan(10_000);
    for (const e of listed) {
      const i = await ranged.find(e.oid);
      expect(i).toBe(whole.find(e.oid));
      expect(await ranged.offsetAt(i)).toBe(e.offset);
      expect(await ranged.crcAt(i)).toBe(e.crc);
    }
    const sorted = listed.map((e) => e.oid).sort();
    for (const oid of sorted.filter((_, i) => i % 101 === 0)) {
      for (const len of [4, 6, 9]) {
        const prefix = oid.slice(0, len);
        expect(await ranged.findByPrefix(prefix, 2)).toEqual(sorted.filter((o) => o.startsWith(prefix)).slice(0, 2));
      }
    }
    expect(await ranged.find("0".repeat(40))).toBe(-1);
  });

  it("reads 64-bit offsets (entries past 2 GiB) where git show-index reads them, at bucket edges too", async () => {
    // No pack over 2 GiB in the tests: an index that says so is enough for both readers.
    const entries = Array.from({ length: 3000 }, (_, i) => {
      const oid = sha1().update(`big offsets ${i}`).digest() as Uint8Array;
      const offset = i % 3 === 0 ? 2 ** 31 + i * 4099 : i % 3 === 1 ? 2 ** 33 + i * 77 : 12 + i * 300;
      return { oid, offset, crc: (i * 2654435761) >>> 0 };
    });
    const bytes = writePackIndex(entries, new Uint8Array(20).fill(7));
    const listed = execFileSync("git", ["show-index"], { input: bytes })
      .toString()
      .trim()
      .split("\n")
      .map((line) => {
        const [offset, oid] = line.split(" ");
        return { oid: oid!, offset: Number(offset) };
      });
    expect(listed.length).toBe(entries.length);
    expect(listed.filter((e) => e.offset >= 2 ** 31).length).toBe(2000);
    const ranged = await RangedPackIndex.open(new MemorySource("big-offsets-idx", bytes));
    for (const e of listed) expect((await ranged.lookup(e.oid))?.offset, e.oid).toBe(e.offset);
    // The first and last id of each fan-out bucket, and the entry end after the last offset.
    const firsts = new Map<string, { oid: string; offset: number }>();
    const lasts = new Map<string, { oid: string; offset: number }>();
    for (const e of listed) {
      if (!firsts.has(e.oid.slice(0, 2))) firsts.set(e.oid.slice(0, 2), e);
      lasts.set(e.oid.slice(0, 2), e);
    }
    for (const e of [...firsts.values(), ...lasts.values()]) expect((await ranged.lookup(e.oid))?.offset).toBe(e.offset);
    const sortedOffsets = listed.map((e) => e.offset).sort((a, b) => a - b);
    const packSize = sortedOffsets[sortedOffsets.length - 1]! + 1000;
    for (const k of [0, 1, 1500, sortedOffsets.length - 2, sortedOffsets.length - 1]) {
      const next = k + 1 < sortedOffsets.length ? sortedOffsets[k + 1]! : packSize - 20;
      expect(await ranged.nextOffset(sortedOffsets[k]!, packSize)).toBe(next);
    }
  });
});
