// Indexing a pack into R2 (what imports and pushes do): the indexer's sorted runs go to R2 under
// the repository's spill/ prefix and are gone when it ends, also when the pack is refused; the
// .idx is streamed to its key and is the one the in-memory indexer writes.
import { env as workerEnv } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bytesToHex, sha1 } from "../../src/git/oid";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource } from "../../src/git/range-source";
import { PackIndex } from "../../src/git/pack-index";
import { indexPackIntoR2, openIndexed } from "../../src/storage/index-spill";
import { loadPackIndex, setWholeIndexMax } from "../../src/storage/pack-store";
import { PackIdTable } from "../../src/git/pack-id-table";
import type { RangedPackIndex } from "../../src/git/pack-index-ranged";
import { idTableFileOf } from "../../src/git/pack-id-table-file";
import { r2Keys } from "../../src/storage/keys";
import { r2SpillStore } from "../../src/storage/spill-store";
import { R2StreamWriter } from "../../src/storage/r2-writer";
import { TipObjects } from "../../src/git/tip-objects";
import type { CommitGraph } from "../../src/git/commit-graph";
import { RepoBuilder } from "./git-fixture";

const env = workerEnv as unknown as { OBJECTS: R2Bucket };
const digest = (bytes: Uint8Array) => bytesToHex(sha1().update(bytes).digest());

/** 2,000 blobs, half of them REF_DELTAs written before their bases. */
function deltaPack() {
  const repo = new RepoBuilder();
  const deltas: Record<string, string> = {};
  for (let i = 0; i < 1000; i++) {
    const text = `line one of file ${i}\nline two, the same in every file of this pack\n`;
    deltas[repo.blob(`${text}and a third line\n`)] = repo.blob(text);
  }
  return { repo, deltas };
}

const spillPrefix = r2Keys.spillPrefix("spill-test", "1");

/** The bucket, recording the options of every GET (a whole GET has no range). */
function countingBucket(): { bucket: R2Bucket; gets: R2GetOptions[] } {
  const gets: R2GetOptions[] = [];
  const bucket = new Proxy(env.OBJECTS, {
    get(target, prop) {
      if (prop === "get") {
        return (key: string, options?: R2GetOptions) => {
          gets.push(options ?? {});
          return target.get(key, options);
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { bucket, gets };
}

async function keysUnder(prefix: string): Promise<string[]> {
  return (await env.OBJECTS.list({ prefix })).objects.map((o) => o.key);
}

describe("indexing into R2", () => {
  it("spills sorted runs, deletes them, and streams the .idx to its key", async () => {
    const { repo, deltas } = deltaPack();
    const { pack } = repo.pack(undefined, { deltas });
    const keys = { idxKey: "t/spill-test/r/1/objects/pack/ok.idx", spill: r2SpillStore(env.OBJECTS, "spill-test", "1", "index") };
    const indexed = await indexPackIntoR2(env.OBJECTS, new MemorySource("spill-ok", pack), keys, { recordBudget: 8 * 1024 });
    expect(indexed.count).toBe(2000);
    expect(indexed.spilledRuns).toBe(Math.floor(2000 / Math.floor((8 * 1024) / 60)));
    expect(indexed.basesFirst).toBe(false);
    expect(await keysUnder(spillPrefix)).toEqual([]);
    const stored = new Uint8Array(await (await env.OBJECTS.get(keys.idxKey))!.arrayBuffer());
    const whole = (await indexPack(new MemorySource("spill-whole", pack))).index;
    expect(digest(stored)).toBe(digest(whole));
  });

  it("writes the .idx from the indexer's read buffer, handed on after the second pass, not a part buffer of its own", async () => {
    const { repo, deltas } = deltaPack();
    const { pack } = repo.pack(undefined, { deltas });
    const keys = {
      idxKey: "t/spill-test/r/1/objects/pack/adopt.idx",
      spill: r2SpillStore(env.OBJECTS, "spill-test", "1", "index"),
    };
    // What the .idx was stored from: the size of the memory under the bytes handed to put.
    const stores: number[] = [];
    const bucket = new Proxy(env.OBJECTS, {
      get(target, prop) {
        if (prop === "put") {
          return (key: string, value: Uint8Array, options?: R2PutOptions) => {
            if (key === keys.idxKey) stores.push(value.buffer.byteLength);
            return target.put(key, value, options);
          };
        }
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    await indexPackIntoR2(bucket, new MemorySource("spill-adopt", pack), keys, {});
    // The indexer reads the pack into a buffer of its size (at least two 64 KiB windows); the
    // writer's own part would have been 64 KiB, doubled as the .idx grew (8 MiB for a large one).
    expect(stores).toEqual([Math.max(pack.length, 128 * 1024)]);
    const stored = new Uint8Array(await (await env.OBJECTS.get(keys.idxKey))!.arrayBuffer());
    expect(digest(stored)).toBe(digest((await indexPack(new MemorySource("adopt-whole", pack))).index));
  });

  it("makes no part buffer when given one large enough, and writes what it was given", async () => {
    const writer = new R2StreamWriter(env.OBJECTS, "t/spill-test/r/1/adopt-part", 5 * 1024 * 1024);
    writer.adopt(new Uint8Array(6 * 1024 * 1024));
    const piece = new Uint8Array(100 * 1024).map((_, i) => i & 255);
    for (let i = 0; i < 120; i++) await writer.write(piece);
    expect(await writer.finish()).toBe(120 * piece.length);
    expect(writer.allocated).toBe(0);
    const back = new Uint8Array(await (await env.OBJECTS.get("t/spill-test/r/1/adopt-part"))!.arrayBuffer());
    expect(back.length).toBe(120 * piece.length);
    expect(back[5 * 1024 * 1024 + 7]).toBe(((5 * 1024 * 1024 + 7) % piece.length) & 255);
  });

  it("opens the stored .idx for the callers by ranges when large, never reading it whole", async () => {
    const { repo, deltas } = deltaPack();
    const { pack } = repo.pack(undefined, { deltas });
    const keys = {
      idxKey: "t/spill-test/r/1/objects/pack/open.idx",
      spill: r2SpillStore(env.OBJECTS, "spill-test", "1", "index"),
    };
    const indexed = await indexPackIntoR2(env.OBJECTS, new MemorySource("spill-open", pack), keys, {});
    const whole = new PackIndex((await indexPack(new MemorySource("open-whole", pack))).index);
    const before = setWholeIndexMax(0);
    try {
      const { bucket, gets } = countingBucket();
      const { index, ids } = await openIndexed(bucket, keys.idxKey, indexed);
      expect(index).not.toBeInstanceOf(PackIndex);
      expect(ids.count).toBe(2000);
      expect(digest(await ids.read(0, 2000))).toBe(digest(whole.bytes.subarray(8 + 1024, 8 + 1024 + 2000 * 20)));
      const oid = whole.oidAt(1234);
      expect(await index.lookup(oid)).toEqual({ position: 1234, offset: whole.offsetAt(1234) });
      // Ranged GETs only: the head and fan-out, the count, the ids, a few pages for the lookup.
      expect(gets.every((g) => g.range !== undefined)).toBe(true);
    } finally {
      setWholeIndexMax(before);
    }
  });

  it("writes the id table file beside a .idx read by ranges, from which its id table is read at 12 bytes an object", async () => {
    const { repo, deltas } = deltaPack();
    const { pack } = repo.pack(undefined, { deltas });
    const keys = (name: string) => ({
      idxKey: `t/spill-test/r/1/objects/pack/${name}.idx`,
      spill: r2SpillStore(env.OBJECTS, "spill-test", "1", "index"),
    });
    // A small pack (its index read whole): no table file.
    await indexPackIntoR2(env.OBJECTS, new MemorySource("ids-small", pack), keys("small"), {});
    expect(await env.OBJECTS.head(r2Keys.packIdTableBeside(keys("small").idxKey))).toBeNull();
    const before = setWholeIndexMax(0);
    try {
      await indexPackIntoR2(env.OBJECTS, new MemorySource("ids-large", pack), keys("large"), { recordBudget: 8 * 1024 });
      const idx = new Uint8Array(await (await env.OBJECTS.get(keys("large").idxKey))!.arrayBuffer());
      const file = new Uint8Array(await (await env.OBJECTS.get(r2Keys.packIdTableBeside(keys("large").idxKey)))!.arrayBuffer());
      expect(file.length).toBe(12 + 2000 * 12);
      expect(digest(file)).toBe(digest(idTableFileOf(idx)));
      // The index opened from R2 reads its table from the file: 12 bytes an object and its head.
      const { bucket, gets } = countingBucket();
      const index = (await loadPackIndex(bucket, keys("large").idxKey, 2000)) as RangedPackIndex;
      const table = await PackIdTable.read(index);
      const whole = new PackIndex(idx);
      expect(table.find(whole.oidAt(1234))).toBe(whole.offsetAt(1234));
      const lengths = gets.map((g) => (g.range as { length: number }).length);
      expect(lengths.reduce((a, b) => a + b, 0)).toBe(8 + 1024 + 12 + 2000 * 12);
    } finally {
      setWholeIndexMax(before);
    }
  });

  it("leaves neither runs nor .idx behind when the pack is refused", async () => {
    const { repo, deltas } = deltaPack();
    const oids = [...repo.objects.keys()];
    // One object twice: found only when the spilled runs are merged into the .idx.
    const { pack } = repo.pack([...oids, oids[5]!], { deltas });
    const keys = {
      idxKey: "t/spill-test/r/1/objects/pack/bad.idx",
      spill: r2SpillStore(env.OBJECTS, "spill-test", "1", "index"),
    };
    await expect(
      indexPackIntoR2(env.OBJECTS, new MemorySource("spill-bad", pack), keys, { recordBudget: 8 * 1024 }),
    ).rejects.toThrow(/same object twice/);
    expect(await keysUnder(spillPrefix)).toEqual([]);
    expect(await env.OBJECTS.head(keys.idxKey)).toBeNull();
    // Nor the id table file of an index read by ranges.
    const before = setWholeIndexMax(0);
    try {
      await expect(
        indexPackIntoR2(env.OBJECTS, new MemorySource("spill-bad-ranged", pack), keys, { recordBudget: 8 * 1024 }),
      ).rejects.toThrow(/same object twice/);
      expect(await env.OBJECTS.head(keys.idxKey)).toBeNull();
      expect(await env.OBJECTS.head(r2Keys.packIdTableBeside(keys.idxKey))).toBeNull();
    } finally {
      setWholeIndexMax(before);
    }
  });

  it("copies what it is given into its part, so one chunk buffer can write a multipart object", async () => {
    // The .idx writer refills one chunk buffer after each write: the R2 writer must not keep it.
    const chunk = new Uint8Array(256 * 1024);
    const writer = new R2StreamWriter(env.OBJECTS, "t/spill-test/writer-copies");
    const chunks = 70; // 17.5 MiB: two whole 8 MiB parts and a last one
    for (let i = 0; i < chunks; i++) {
      chunk.fill(i);
      await writer.write(chunk);
    }
    expect(await writer.finish()).toBe(chunks * chunk.length);
    const stored = new Uint8Array(await (await env.OBJECTS.get("t/spill-test/writer-copies"))!.arrayBuffer());
    expect(stored.length).toBe(chunks * chunk.length);
    const wrong: number[] = [];
    for (let i = 0; i < chunks; i++)
      if (stored[i * chunk.length] !== i || stored[(i + 1) * chunk.length - 1] !== i) wrong.push(i);
    expect(wrong).toEqual([]);
    await env.OBJECTS.delete("t/spill-test/writer-copies");
  });

  it("shows the ref tips' objects as it indexes them, so refs are peeled without reading them again", async () => {
    const repo = new RepoBuilder();
    const first = repo.commit({ files: { "a.txt": "one\n" }, message: "first" });
    const second = repo.commit({ files: { "a.txt": "one\ntwo\n" }, parents: [first], message: "second" });
    const enc = new TextEncoder();
    const tag = repo.put("tag", enc.encode(`object ${second}\ntype commit\ntag v1\ntagger T <t@example.com> 1 +0000\n\nv1\n`));
    const tagOfTag = repo.put(
      "tag",
      enc.encode(`object ${tag}\ntype tag\ntag v1-again\ntagger T <t@example.com> 1 +0000\n\nagain\n`),
    );
    // The second commit as a delta of the first: tips found in the second pass too.
    const { pack } = repo.pack(undefined, { deltas: { [second]: first } });
    const tips = new TipObjects([second, tag, tagOfTag, "f".repeat(40)]);
    await indexPack(new MemorySource("tips", pack), { wanted: tips.wanted, onWanted: tips.onWanted });
    expect([second, tag, tagOfTag].map((oid) => tips.has(oid))).toEqual([true, true, true]);
    expect(tips.has("f".repeat(40))).toBe(false);
    const reads: string[] = [];
    const graph = {
      peel: async (oid: string) => {
        reads.push(oid);
        return { oid: second, type: "commit" as const, tags: [tagOfTag, tag] };
      },
    } as unknown as CommitGraph;
    expect(await tips.peel(second, graph)).toEqual({ oid: second, type: "commit", tags: [] });
    expect(await tips.peel(tag, graph)).toEqual({ oid: second, type: "commit", tags: [tag] });
    expect(reads).toEqual([]);
    // A tag of a tag is read through the graph.
    expect((await tips.peel(tagOfTag, graph)).oid).toBe(second);
    expect(reads).toEqual([tagOfTag]);
  });
});
