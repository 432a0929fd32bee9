// The build's tree reader (commit-graph build, compaction walk) on a delta chain spread over more
// pack windows than it has: each entry of the chain in a window of its own, far apart, as the
// versions of one directory's tree lie in a large pack made in recency order.
import { describe, expect, it } from "vitest";
import { BuildPackReader } from "./commit-graph-pack";
import { BuildTreeReader } from "./commit-graph-trees";
import { createDelta } from "./delta-encode";
import { ObjectStore, Pack } from "./object-store";
import { sha1 } from "./oid";
import { encodeEntryHeader, encodeOfsDistance, OBJ_BLOB, OBJ_OFS_DELTA, packHeader, typeNumber } from "./pack-format";
import { PackIndex } from "./pack-index";
import { indexPack } from "./pack-indexer";
import { MemorySource, type RangeSource } from "./range-source";
import { deflate } from "./zlib";
import { concatBytes } from "../utils/bytes";

const WINDOW = 4096;

/** A tree's bytes with `n` entries (version `v` changes one entry's id). */
function treeBytes(n: number, v: number): Uint8Array {
  const parts: number[] = [];
  for (let i = 0; i < n; i++) {
    for (const ch of `100644 file-${String(i).padStart(3, "0")}.txt`) parts.push(ch.charCodeAt(0));
    parts.push(0);
    for (let k = 0; k < 20; k++) parts.push((i * 31 + k * 7 + (i === v % n ? v : 0)) & 0xff);
  }
  return Uint8Array.from(parts);
}

/** Bytes zlib cannot shrink, so a blob of them fills its windows. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/**
 * A pack of `versions` trees, each an OFS_DELTA of the one before (the first whole), with a blob of
 * two windows of noise between each two: reading the last resolves the whole chain, one window an
 * entry. Returns the pack, each tree's offset and its bytes.
 */
function chainPack(versions: number): { pack: Uint8Array; offsets: number[]; trees: Uint8Array[] } {
  const parts: Uint8Array[] = [packHeader(2 * versions - 1)];
  let at = 12;
  const add = (b: Uint8Array) => {
    parts.push(b);
    at += b.length;
  };
  const offsets: number[] = [];
  const trees: Uint8Array[] = [];
  for (let v = 0; v < versions; v++) {
    if (v > 0) {
      const blob = noise(2 * WINDOW, v);
      add(encodeEntryHeader(OBJ_BLOB, blob.length));
      add(deflate(blob));
    }
    const tree = treeBytes(40, v);
    const start = at;
    if (v === 0) {
      add(encodeEntryHeader(typeNumber("tree"), tree.length));
      add(deflate(tree));
    } else {
      const delta = createDelta(trees[v - 1]!, tree)!;
      add(encodeEntryHeader(OBJ_OFS_DELTA, delta.length));
      add(encodeOfsDistance(start - offsets[v - 1]!));
      add(deflate(delta));
    }
    offsets.push(start);
    trees.push(tree);
  }
  const body = concatBytes(parts);
  return { pack: concatBytes([body, sha1().update(body).digest()]), offsets, trees };
}

/** A source that fails past `limit` reads: a reader that never ends fails the test instead of hanging it. */
function limited(source: MemorySource, limit: number): RangeSource & { reads: number } {
  const s = {
    id: source.id,
    size: source.size,
    reads: 0,
    read: (start: number, end: number) => source.read(start, end),
    readInto: (start: number, into: Uint8Array) => {
      if (++s.reads > limit) throw new Error(`more than ${limit} reads`);
      return source.readInto(start, into);
    },
  };
  return s;
}

describe("the build's tree reader", () => {
  it("resolves a delta chain spread over more windows than it holds, each window read about once", async () => {
    const versions = 12;
    const { pack, offsets, trees } = chainPack(versions);
    const memory = new MemorySource("chain", pack);
    const indexed = await indexPack(memory);
    const source = limited(memory, 200);
    const p = new Pack("chain", new PackIndex(indexed.index), source);
    const store = new ObjectStore([p]);
    // Four windows against a chain over twelve entries, each in a window of its own: on the code
    // before, every fill evicted the chain's top and the read went on until the source refused.
    const reader = new BuildTreeReader(store, 1024 * 1024, new BuildPackReader(store, 4 * WINDOW, false, WINDOW));
    const obj = await reader.readAt(p, offsets[versions - 1]!);
    expect(obj.type).toBe("tree");
    expect(Buffer.from(obj.data).equals(Buffer.from(trees[versions - 1]!))).toBe(true);
    expect(reader.inflated).toBe(versions);
    // Each entry's window once on the way down and at most once more on the way up.
    expect(source.reads).toBeLessThanOrEqual(2 * versions + 2);
    // Every version again, from the slab or the chain below it.
    for (let v = 0; v < versions; v++) {
      const again = await reader.readAt(p, offsets[v]!);
      expect(Buffer.from(again.data).equals(Buffer.from(trees[v]!))).toBe(true);
    }
  });
});
