// What the commit-graph build of an import holds per commit: an import's whole history (git/git's
// 70,000 commits) is recorded before its filters are built, so each commit must cost tens of bytes
// in typed arrays, not the hundreds of maps of hex strings (and the commit headers those strings,
// sliced out of them, kept alive) that put the push isolate past 128 MB with its caches.
import { describe, expect, it } from "vitest";
import { extendCommitGraph } from "../../src/git/commit-graph-build";
import { GraphLayer, PersistedGraph } from "../../src/git/commit-graph-file";
import { CommitRecords, Seen } from "../../src/git/commit-graph-records";
import { BuildTreeReader } from "../../src/git/commit-graph-trees";
import { ObjectStore, Pack } from "../../src/git/object-store";
import { parseCommitLinks } from "../../src/git/objects";
import type { Oid } from "../../src/git/oid";
import { PackIndex } from "../../src/git/pack-index";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource, WindowedSource } from "../../src/git/range-source";
import { BUILD_WINDOW_BYTES, BuildPackReader } from "../../src/git/commit-graph-pack";
import { changedPathsOfMany } from "../../src/git/commit-graph-levels";
import { bulkLocator } from "../../src/git/pack-id-table";
import { bloomKey, buildFilter, FilterBuilder } from "../../src/git/bloom";
import { RangedPackIndex } from "../../src/git/pack-index-ranged";
import { RepoBuilder } from "./git-fixture";
import { memoryStore, persistedGraph } from "./graph-fixture";

/** 120 commits over nested directories, each root tree a delta of the one before (a chain). */
async function deltaHistory(): Promise<{ store: ObjectStore; tip: Oid; repo: RepoBuilder }> {
  const repo = new RepoBuilder();
  const files: Record<string, string> = {};
  for (let n = 0; n < 64; n++) files[`d${n % 4}/e${(n >> 2) % 4}/f${n}.txt`] = `${n}\n`;
  let tip = repo.commit({ files, message: "start" });
  const deltas: Record<Oid, Oid> = {};
  let tree = parseCommitLinks(repo.objects.get(tip)!.data).tree;
  for (let i = 1; i < 120; i++) {
    files[`d${i % 4}/e${(i * 3) % 4}/f${(i * 7) % 64}.txt`] = `change ${i}\n`;
    tip = repo.commit({ files: { ...files, [`top${i % 9}.txt`]: `${i}\n` }, parents: [tip], message: `change ${i}` });
    const next = parseCommitLinks(repo.objects.get(tip)!.data).tree;
    deltas[next] = tree;
    tree = next;
  }
  const source = new MemorySource(`delta-history-${Date.now()}-${Math.random()}`, repo.pack(undefined, { deltas }).pack);
  const index = new PackIndex((await indexPack(source)).index);
  return { store: new ObjectStore([new Pack("delta-history", index, source)]), tip, repo };
}

describe("the commit-graph build's memory", () => {
  it("records a history of 3,000 commits (merges included) in at most 96 bytes a commit", async () => {
    const repo = new RepoBuilder();
    let tip = repo.commit({ files: { "a/b.txt": "0\n" }, message: "start" });
    let side = tip;
    let commits = 1;
    for (let i = 1; i < 3000; i++) {
      if (i % 100 === 0)
        tip = repo.commit({ files: { "a/b.txt": `${i}\n`, "s.txt": `${i}\n` }, parents: [tip, side], message: `merge ${i}` });
      else if (i % 7 === 0)
        side = repo.commit({ files: { "a/b.txt": "0\n", "s.txt": `${i}\n` }, parents: [side], message: `side ${i}` });
      else tip = repo.commit({ files: { "a/b.txt": `${i}\n` }, parents: [tip], message: `change ${i}` });
      commits++;
    }
    const store = await memoryStore(repo, "records");
    const held: Record<string, number> = {};
    let chain: GraphLayer[] = [];
    let n = 0;
    const added = await extendCommitGraph(
      {
        store,
        graph: null,
        writeLayer: async (bytes) => GraphLayer.open(new MemorySource(`records-layer-${Date.now()}-${++n}`, bytes)),
        saveChain: async (layers) => {
          chain = layers;
        },
        onPhase: (name, recordBytes) => {
          held[name] = recordBytes;
        },
      },
      [tip, side],
      1024,
    );
    expect(added).toBe(commits);
    expect(new PersistedGraph(chain).count).toBe(commits);
    // 3,456 records of 65 bytes (ids, trees, links, times, positions, generations, what is known)
    // and 8,192 table slots of 4: about 86 bytes a commit (growing by half, not doubling).
    const bytes = held["order parents first"]!;
    expect(bytes).toBeGreaterThan(0);
    expect(bytes / commits).toBeLessThanOrEqual(96);
  });

  it("finds records by id, keeps octopus parents, and grows without losing any", () => {
    const records = new CommitRecords(4);
    const id = (n: number) => n.toString(16).padStart(8, "0").repeat(5);
    const nums = Array.from({ length: 5000 }, (_, n) => records.intern(id(n)));
    expect(records.size).toBe(5000);
    expect(nums).toEqual(Array.from({ length: 5000 }, (_, n) => n));
    for (let n = 0; n < 5000; n += 97) {
      expect(records.find(id(n))).toBe(n);
      expect(records.intern(id(n))).toBe(n);
      expect(records.oid(n)).toBe(id(n));
    }
    expect(records.find(id(5001))).toBe(-1);
    records.setLinks(7, id(1), [1, 2, 3, 4], 1234.5);
    records.mark(7, Seen.Fresh);
    records.setLinks(8, id(2), [7], 99);
    records.place(8, 42, 3);
    expect(records.tree(7)).toBe(id(1));
    expect(records.parents(7)).toEqual([1, 2, 3, 4]);
    expect(records.parents(8)).toEqual([7]);
    expect(records.parents(9)).toEqual([]);
    expect(records.firstParent(8)).toBe(7);
    expect(records.time(7)).toBe(1234.5);
    expect(records.seenAs(7)).toBe(Seen.Fresh);
    expect(records.seenAs(8)).toBe(Seen.Named);
    expect([records.position(8), records.generation(8)]).toEqual([42, 3]);
    records.setParents(7, [1]);
    expect(records.parents(7)).toEqual([1]);
  });

  it("reads the filters' trees into a slab of its own, not through the isolate's shared cache", async () => {
    const { store, tip } = await deltaHistory();
    let shared = 0;
    const readAt = store.readAt.bind(store);
    store.readAt = async (pack, offset) => {
      const obj = await readAt(pack, offset);
      if (obj.type === "tree") shared++;
      return obj;
    };
    const graph = await persistedGraph(store, [tip], "own-reader");
    expect(graph.count).toBe(120);
    // Every tree of every filter went through the build's reader: objects it resolved lived only as
    // long as its small cache kept them (the shared cache's evictions filled the old generation).
    expect(shared).toBe(0);
  });

  it("resolves delta chains as the store does, into one slab whatever its size", async () => {
    const { store, repo } = await deltaHistory();
    // A slab smaller than most trees (they get buffers of their own), one the ring comes round
    // often, and one that holds everything.
    for (const slab of [512, 16 * 1024, 1024 * 1024]) {
      const reader = new BuildTreeReader(store, slab);
      for (const oid of repo.objects.keys()) {
        const at = (await store.locate(oid))!;
        const own = await reader.readAt(at.pack, at.offset);
        const theirs = await store.readAt(at.pack, at.offset);
        expect(own.type).toBe(theirs.type);
        expect(own.data).toEqual(theirs.data);
        // Kept aside, a read stays valid past the next one.
        const kept = await reader.readAt(at.pack, at.offset, true);
        await reader.readAt(at.pack, at.offset);
        expect(kept.data).toEqual(theirs.data);
        // What the slab still holds is found without a read; what it does not, is not.
        const peeked = reader.peek(at.pack, at.offset);
        if (slab >= 1024 * 1024) expect(peeked?.data).toEqual(theirs.data);
        else if (peeked) expect(peeked.data).toEqual(theirs.data);
      }
    }
  });
});

describe("the commit-graph build's reads", () => {
  it("reads pack entries through windows of its own, not the isolate's shared window cache", async () => {
    const { repo, tip } = await deltaHistory();
    // Commits first, as git writes a pack (and an import's pack is): the build reads them in a row.
    const all = [...repo.objects.keys()];
    const commitsFirst = [
      ...all.filter((oid) => repo.objects.get(oid)!.type === "commit"),
      ...all.filter((oid) => repo.objects.get(oid)!.type !== "commit"),
    ];
    const inner = new MemorySource(`own-windows-${Date.now()}-${Math.random()}`, repo.pack(commitsFirst).pack);
    const index = new PackIndex((await indexPack(inner)).index);
    const counts = { shared: 0, own: 0 };
    const read = inner.read.bind(inner);
    inner.read = async (start, end) => {
      counts.shared++;
      return read(start, end);
    };
    const readInto = inner.readInto.bind(inner);
    inner.readInto = async (start, into) => {
      counts.own++;
      return readInto(start, into);
    };
    const store = new ObjectStore([new Pack("own-windows", index, new WindowedSource(inner))]);
    const graph = await persistedGraph(store, [tip], "own-windows");
    expect(graph.count).toBe(120);
    // Every header, commit and tree the build read came through its windows, filled in place: the
    // shared windows (an array buffer each, dead once evicted) were never filled.
    expect(counts.shared).toBe(0);
    expect(counts.own).toBeGreaterThan(0);
    // Those windows are bounded whatever the pack's size.
    const reader = new BuildPackReader(store, 4 * 64 * 1024);
    const pack = store.packs[0]!;
    for (const oid of repo.objects.keys()) {
      const at = (await store.locate(oid))!;
      const header = await reader.header(pack, at.offset);
      await reader.inflate(pack, at.offset, header);
    }
    expect(reader.heldBytes).toBeLessThanOrEqual(4 * 64 * 1024);
    expect(BUILD_WINDOW_BYTES).toBeLessThanOrEqual(12 * 1024 * 1024);
  });

  it("resolves an object its windows hold without an await: storage reads are the only waits", async () => {
    const { store, repo } = await deltaHistory();
    const packs = new BuildPackReader(store);
    const first = new BuildTreeReader(store, 1024 * 1024, packs);
    const where = [];
    for (const oid of repo.objects.keys()) where.push((await store.locate(oid))!);
    for (const at of where) await first.readAt(at.pack, at.offset);
    const reads = packs.reads;
    expect(reads).toBeGreaterThan(0);
    // A reader with an empty slab over the same windows: every object, delta chains included, is
    // resolved by `peek` (no promise), the same bytes as the store's, and no storage read is made.
    const second = new BuildTreeReader(store, 1024 * 1024, packs);
    for (const at of where) {
      const now = second.peek(at.pack, at.offset);
      expect(now).not.toBeNull();
      expect(now!.data).toEqual((await store.readAt(at.pack, at.offset)).data);
    }
    expect(packs.reads).toBe(reads);
  });

  it("finds a level's trees from their bytes when id tables answer: no hex id looked up", async () => {
    const { repo, tip } = await deltaHistory();
    const packBytes = repo.pack().pack;
    const source = new MemorySource(`bytes-${Date.now()}-${Math.random()}`, packBytes);
    const idx = (await indexPack(source)).index;
    const ranged = await RangedPackIndex.open(new MemorySource(`bytes-idx-${Date.now()}-${Math.random()}`, idx));
    const store = new ObjectStore([new Pack("bytes", ranged, source)]);
    const whole = new ObjectStore([new Pack("bytes-whole", new PackIndex(idx), source)]);
    const table = await bulkLocator(store, 1_000_000);
    expect(table.inMemory).toBe(true);
    let hexLookups = 0;
    const counted = Object.assign(
      (oids: readonly Oid[]) => {
        hexLookups += oids.length;
        return table(oids);
      },
      { at: table.at },
    );
    // Every commit against its first parent, as the build pairs them.
    const pairs: { before: Oid | null; after: Oid | null }[] = [];
    for (let c: Oid | undefined = tip; c; ) {
      const links = parseCommitLinks(repo.objects.get(c)!.data);
      const parent = links.parents[0];
      pairs.push({ before: parent ? parseCommitLinks(repo.objects.get(parent)!.data).tree : null, after: links.tree });
      c = parent;
    }
    const got = await changedPathsOfMany(store, pairs, counted, new BuildTreeReader(store));
    expect(hexLookups).toBe(0);
    // The same paths as through the store with its whole index and hex lookups.
    const expected = await changedPathsOfMany(whole, pairs);
    expect(got.map((p) => p?.sort())).toEqual(expected.map((p) => p?.sort()));
    expect(got.some((p) => (p?.length ?? 0) > 3)).toBe(true);
  });

  it("builds each filter from two hash values a path in a reused array, the same bytes as from keys", () => {
    const builder = new FilterBuilder();
    const bytes = (p: string) => Uint8Array.from(p, (c) => c.charCodeAt(0));
    // Byte strings as the build has them (UTF-8 bytes one char each), up to past git's limit.
    for (const n of [0, 1, 2, 7, 100, 512, 513]) {
      const paths = Array.from({ length: n }, (_, i) => `dir${i % 5}/\u00c3\u00a9t\u00e9 ${i}.txt`);
      for (const p of paths) builder.add(bytes(p));
      expect(builder.finish()).toEqual(buildFilter(paths.map((p) => bloomKey(bytes(p)))));
    }
  });
});
