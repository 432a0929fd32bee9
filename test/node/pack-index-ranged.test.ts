// The ranged pack index on git's own .idx of the express fixture, checked against `git show-index`
// (git's listing of every entry) and the whole-index reader, object by object.
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { PackIndex } from "../../src/git/pack-index";
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
});
