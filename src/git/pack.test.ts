// The pack plumbing in workerd: index format, indexer (thin packs, corrupt packs), reader, writer.
import { describe, expect, it } from "vitest";
import { applyDelta } from "./delta";
import { varint } from "./delta-encode";
import { GitError } from "./errors";
import { ObjectStore, Pack } from "./object-store";
import { hashObject, hexToBytes, sha1, type ObjectType } from "./oid";
import { encodeEntryHeader, encodeOfsDistance, OBJ_OFS_DELTA, OBJ_REF_DELTA, packHeader, typeNumber } from "./pack-format";
import { PackIndex, writePackIndex } from "./pack-index";
import { indexPack } from "./pack-indexer";
import { writePack } from "./pack-writer";
import { parsePktLines, pkt } from "./pkt-line";
import { MemorySource } from "./range-source";
import { deflate } from "./zlib";
import { concatBytes } from "../utils/bytes";

const enc = new TextEncoder();

type TestEntry =
  | { type: ObjectType; data: Uint8Array }
  | { ofsDeltaOf: number; delta: Uint8Array }
  | { refDeltaOf: string; delta: Uint8Array };

/** A pack written by hand (what git would send), with the right trailer unless told otherwise. */
function buildPack(entries: TestEntry[], opts: { count?: number } = {}): Uint8Array {
  const parts: Uint8Array[] = [packHeader(opts.count ?? entries.length)];
  const offsets: number[] = [];
  let pos = 12;
  for (const e of entries) {
    offsets.push(pos);
    let bytes: Uint8Array;
    if ("type" in e) bytes = concatBytes([encodeEntryHeader(typeNumber(e.type), e.data.length), deflate(e.data)]);
    else if ("ofsDeltaOf" in e) {
      bytes = concatBytes([
        encodeEntryHeader(OBJ_OFS_DELTA, e.delta.length),
        encodeOfsDistance(pos - offsets[e.ofsDeltaOf]!),
        deflate(e.delta),
      ]);
    } else {
      bytes = concatBytes([encodeEntryHeader(OBJ_REF_DELTA, e.delta.length), hexToBytes(e.refDeltaOf), deflate(e.delta)]);
    }
    parts.push(bytes);
    pos += bytes.length;
  }
  const body = concatBytes(parts);
  const trailer = sha1().update(body).digest();
  return concatBytes([body, new Uint8Array(trailer)]);
}

/** A delta that copies the base's first `keep` bytes and appends `extra`. */
function appendDelta(baseSize: number, keep: number, extra: string): Uint8Array {
  const ins = enc.encode(extra);
  return Uint8Array.from([...varint(baseSize), ...varint(keep + ins.length), 0x90, keep, ins.length, ...ins]);
}

const blobA = enc.encode("hello world, this is the first version of a file\n".repeat(3));
const treeData = concatBytes([enc.encode("100644 a.txt\0"), hexToBytes(hashObject("blob", blobA))]);
const commitData = enc.encode(
  `tree ${hashObject("tree", treeData)}\nauthor A <a@x> 1700000000 +0000\ncommitter A <a@x> 1700000000 +0000\n\nfirst\n`,
);

function samplePack() {
  const delta = appendDelta(blobA.length, 40, "and a second version\n");
  const delta2 = appendDelta(40 + 21, 30, "third\n");
  const entries: TestEntry[] = [
    { type: "blob", data: blobA },
    { type: "tree", data: treeData },
    { type: "commit", data: commitData },
    { ofsDeltaOf: 0, delta },
    { refDeltaOf: hashObject("blob", blobA), delta: appendDelta(blobA.length, 10, "ref delta\n") },
    { ofsDeltaOf: 3, delta: delta2 },
  ];
  const blobB = applyDelta(blobA, delta);
  const expected = [
    hashObject("blob", blobA),
    hashObject("tree", treeData),
    hashObject("commit", commitData),
    hashObject("blob", blobB),
    hashObject("blob", applyDelta(blobA, appendDelta(blobA.length, 10, "ref delta\n"))),
    hashObject("blob", applyDelta(blobB, delta2)),
  ];
  return { pack: buildPack(entries), expected };
}

async function refused(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GitError);
    return (err as GitError).message;
  }
  throw new Error("expected the pack to be refused");
}

describe("pack index", () => {
  it("finds every object, its offset, CRC and the next entry, including offsets past 2 GiB", () => {
    const entries = Array.from({ length: 300 }, (_, i) => ({
      oid: hexToBytes(hashObject("blob", enc.encode(String(i)))),
      offset: i === 299 ? 3 * 2 ** 31 + 12 : 12 + i * 100,
      crc: i * 7,
    }));
    const idx = new PackIndex(writePackIndex(entries, new Uint8Array(20)));
    expect(idx.count).toBe(300);
    for (const e of entries) {
      const i = idx.find(e.oid);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(idx.offsetAt(i)).toBe(e.offset);
      expect(idx.crcAt(i)).toBe(e.crc);
    }
    expect(idx.find(hashObject("blob", enc.encode("absent")))).toBe(-1);
    expect(idx.nextOffset(12, 10 ** 12)).toBe(112);
    expect(idx.nextOffset(12 + 298 * 100, 10 ** 12)).toBe(3 * 2 ** 31 + 12);
    expect(idx.nextOffset(3 * 2 ** 31 + 12, 3 * 2 ** 31 + 512)).toBe(3 * 2 ** 31 + 492);
    expect(idx.oidAtOffset(112)).toBe(hashObject("blob", enc.encode("1")));
    expect(idx.oidAtOffset(113)).toBeNull();
  });
});

describe("indexPack", () => {
  it("indexes whole objects and OFS/REF deltas (chained) and the reader rebuilds them", async () => {
    const { pack, expected } = samplePack();
    const result = await indexPack(new MemorySource("sample", pack));
    expect(result.count).toBe(6);
    expect(new PackIndex(result.index).entries().map((e) => e.oid)).toEqual(expected);
    expect(result.missingBases).toEqual([]);
    const store = new ObjectStore([new Pack("p", new PackIndex(result.index), new MemorySource("sample", pack))]);
    for (const oid of expected) {
      const obj = await store.read(oid);
      expect(hashObject(obj.type, obj.data)).toBe(oid);
      expect((await store.info(oid)).size).toBe(obj.data.length);
    }
  });

  it("completes a thin pack from objects outside it and reports the bases it used", async () => {
    const external = { type: "blob" as const, data: blobA };
    const pack = buildPack([{ refDeltaOf: hashObject("blob", blobA), delta: appendDelta(blobA.length, 5, "thin\n") }]);
    await expect(indexPack(new MemorySource("thin", pack))).rejects.toThrow(/could not be resolved/);
    const result = await indexPack(new MemorySource("thin2", pack), {
      external: async (oid) => (oid === hashObject("blob", blobA) ? external : null),
    });
    expect(result.missingBases).toEqual([hashObject("blob", blobA)]);
  });

  it("refuses truncated packs, corrupt zlib, wrong counts, bad trailers and unknown types", async () => {
    const { pack } = samplePack();
    expect(await refused(indexPack(new MemorySource("t1", pack.subarray(0, pack.length - 30))))).toMatch(
      /truncated|ends|checksum/,
    );
    const corrupt = pack.slice();
    corrupt[40] = corrupt[40]! ^ 0xff;
    expect(await refused(indexPack(new MemorySource("t2", corrupt)))).toMatch(/object|checksum|delta/);
    const { pack: miscounted } = { pack: buildPack([{ type: "blob", data: blobA }], { count: 2 }) };
    expect(await refused(indexPack(new MemorySource("t3", miscounted)))).toMatch(/ends after 1 of 2 objects/);
    const badTrailer = pack.slice();
    badTrailer[badTrailer.length - 1] = badTrailer[badTrailer.length - 1]! ^ 1;
    expect(await refused(indexPack(new MemorySource("t4", badTrailer)))).toMatch(/checksum/);
    const unknown = buildPack([{ type: "blob", data: blobA }]);
    unknown[12] = (unknown[12]! & 0x8f) | (5 << 4);
    expect(await refused(indexPack(new MemorySource("t5", unknown)))).toMatch(/unknown object type 5/);
    const garbage = concatBytes([buildPack([{ type: "blob", data: blobA }]).subarray(0, -20), enc.encode("junk")]);
    const withTrailer = concatBytes([garbage, new Uint8Array(sha1().update(garbage).digest())]);
    expect(await refused(indexPack(new MemorySource("t6", withTrailer)))).toMatch(/garbage|object/);
  });
});

describe("writePack", () => {
  it("writes a pack git can index: reused entries, rebased deltas, rebuilt objects", async () => {
    const { pack, expected } = samplePack();
    const source = new MemorySource("w", pack);
    const store = new ObjectStore([new Pack("p", new PackIndex((await indexPack(source)).index), source)]);
    // Send only the deltas (not their base): they must come out whole.
    const wanted = new Map<string, ObjectType>(expected.slice(3).map((o) => [o, "blob"]));
    const chunks: Uint8Array[] = [];
    const stats = await writePack(store, wanted, { ofsDelta: true, thin: false, clientHas: new Set() }, async (c) => {
      chunks.push(c);
    });
    const out = concatBytes(chunks);
    expect(stats.objects).toBe(3);
    const reindexed = await indexPack(new MemorySource("out", out));
    expect(
      new PackIndex(reindexed.index)
        .entries()
        .map((e) => e.oid)
        .sort(),
    ).toEqual(expected.slice(3).sort());
    // With the base on the client and a thin pack allowed, deltas are sent as they are stored.
    const thin = await writePack(
      store,
      wanted,
      { ofsDelta: true, thin: true, clientHas: new Set([expected[0]!]) },
      async () => undefined,
    );
    expect(thin.rebuilt).toBe(0);
  });
});

describe("pkt-line", () => {
  it("parses flush, delimiter and data lines, and refuses oversized or malformed ones", () => {
    const body = concatBytes([pkt("want abc\n"), enc.encode("0000"), enc.encode("0001"), pkt("done\n")]);
    expect(parsePktLines(body).map((l) => (l.kind === "data" ? l.text : l.kind))).toEqual(["want abc", "flush", "delim", "done"]);
    expect(() => parsePktLines(enc.encode(`fff1${"x".repeat(65517)}`))).toThrow(/over the limit/);
    expect(() => parsePktLines(enc.encode("00zz"))).toThrow(/bad pkt-line length/);
    expect(() => parsePktLines(enc.encode("0010abc"))).toThrow(/truncated/);
  });
});

describe("delta", () => {
  it("refuses deltas that copy outside their base", () => {
    expect(() => applyDelta(enc.encode("abc"), Uint8Array.from([3, 10, 0x90, 10]))).toThrow(/outside/);
    expect(() => applyDelta(enc.encode("abc"), Uint8Array.from([4, 1, 1, 65]))).toThrow(/base of 4 bytes/);
  });
});

describe("createDelta", () => {
  it("makes deltas that rebuild the target, small for small edits", async () => {
    const { createDelta } = await import("./delta-encode");
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}: the quick brown fox\n`).join("");
    const base = enc.encode(lines);
    const target = enc.encode(`${lines.replace("line 1000:", "LINE 1000 (edited):")}an appended line\n`);
    const delta = createDelta(base, target)!;
    expect(delta).not.toBeNull();
    expect(applyDelta(base, delta)).toEqual(target);
    expect(delta.length).toBeLessThan(200);
    // Unrelated content: no delta worth sending.
    expect(
      createDelta(
        base,
        enc.encode("x".repeat(50_000).replace(/x/g, () => String.fromCharCode(97 + Math.floor(Math.random() * 26)))),
      ),
    ).toBeNull();
    // Copies longer than 64 KiB are split, offsets above 16 MiB encoded.
    const big = new Uint8Array(17 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    const bigTarget = concatBytes([big.subarray(16 * 1024 * 1024), enc.encode("tail")]);
    const bigDelta = createDelta(big, bigTarget)!;
    // Compared byte by byte: toEqual on a 1 MiB typed array builds more than the 128 MB heap holds.
    const rebuilt = applyDelta(big, bigDelta);
    expect(rebuilt.length === bigTarget.length && rebuilt.every((b, i) => b === bigTarget[i])).toBe(true);
  });
});

describe("links and connectivity", () => {
  it("collects what commits, trees and tags point at, skipping submodule commits, in a growing OidSet", async () => {
    const { OidSet } = await import("./oid-set");
    const { collectLinks } = await import("./links");
    const { checkConnectivity, indexIds, isClosure, linkRuns } = await import("./connectivity");
    const { MemorySpillStore } = await import("./spill-memory");
    const links = new OidSet(4);
    const blob = hashObject("blob", blobA);
    const sub = hashObject("commit", enc.encode("not really a commit"));
    const tree = concatBytes([enc.encode("100644 a.txt\0"), hexToBytes(blob), enc.encode("160000 vendor\0"), hexToBytes(sub)]);
    collectLinks("tree", tree, links);
    collectLinks("commit", commitData, links);
    const tag = enc.encode(`object ${hashObject("commit", commitData)}\ntype commit\ntag v1\n\nmsg\n`);
    collectLinks("tag", tag, links);
    expect(links.size).toBe(3);
    expect(links.has(hexToBytes(blob))).toBe(true);
    expect(links.has(hexToBytes(sub))).toBe(false);
    for (let i = 0; i < 5000; i++) links.add(hexToBytes(hashObject("blob", enc.encode(String(i)))));
    expect(links.size).toBe(5003);
    expect(links.has(hexToBytes(hashObject("blob", enc.encode("4999"))))).toBe(true);
    // A tree and its blob: closure of the tree; adding an unlinked blob breaks it.
    const indexOf = (oids: string[]) =>
      new PackIndex(
        writePackIndex(
          oids.map((oid, i) => ({ oid: hexToBytes(oid), offset: 12 + i, crc: 0 })),
          new Uint8Array(20),
        ),
      );
    const treeOid = hashObject("tree", treeData);
    const check = async (pack: string[], tips: string[], repository: string[] = []) => {
      const runs = linkRuns(new MemorySpillStore());
      collectLinks("tree", treeData, runs);
      const result = await checkConnectivity(runs, indexIds(indexOf(pack)), tips, async (oids) =>
        oids.filter((o) => repository.includes(o)),
      );
      await runs.dispose();
      return result;
    };
    const closed = await check([treeOid, blob], [treeOid]);
    expect(closed).toEqual({ missing: null, unlinked: new Set([treeOid]) });
    expect(isClosure(closed, [treeOid])).toBe(true);
    const extra = await check([treeOid, blob, sub], [treeOid]);
    expect(extra.missing).toBeNull();
    expect(isClosure(extra, [treeOid])).toBe(false);
    // The blob is missing from the pack: found in the repository, or reported.
    expect((await check([treeOid], [treeOid], [blob])).missing).toBeNull();
    expect((await check([treeOid], [treeOid])).missing).toBe(blob);
    // A tip neither in the pack nor in the repository.
    expect((await check([treeOid, blob], [treeOid, sub])).missing).toBe(sub);
  });
});
