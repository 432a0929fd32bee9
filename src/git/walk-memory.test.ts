// What the object walk holds per object: a compaction or a clone walks every object of the
// repository, so the walk's object set must cost tens of bytes an object (raw ids in typed
// arrays), not the ~200 of a Map of hex strings that filled the push isolate on 320k objects.
import { afterEach, describe, expect, it, vi } from "vitest";
import { RepoBuilder, type FileMap } from "../../test/worker/git-fixture";
import { CommitGraph } from "./commit-graph";
import { forEachTreeEntry } from "./objects";
import { ObjectStore, Pack } from "./object-store";
import { hashObject, type ObjectType, type Oid } from "./oid";
import { OidTypeMap } from "./oid-map";
import { PackIndex, writePackIndexColumns } from "./pack-index";
import { indexPack } from "./pack-indexer";
import { writePack } from "./pack-writer";
import { MemorySource } from "./range-source";
import { enumerateObjects } from "./walk";

let fixtures = 0;

afterEach(() => {
  vi.restoreAllMocks();
});

/** A repository of `commits` commits, each changing a few of `files` files in 20 directories. */
async function repository(commits: number, files: number): Promise<{ store: ObjectStore; tip: Oid; objects: number }> {
  const repo = new RepoBuilder();
  const tree: FileMap = {};
  for (let i = 0; i < files; i++) tree[`d${i % 20}/f${i}.txt`] = `file ${i}\n`;
  let tip = repo.commit({ files: tree, message: "start" });
  for (let c = 1; c < commits; c++) {
    for (let k = 0; k < 3; k++) tree[`d${(c + k) % 20}/f${(c * 7 + k) % files}.txt`] = `file changed at ${c}.${k}\n`;
    tip = repo.commit({ files: tree, parents: [tip], message: `change ${c}` });
  }
  // A name of its own: the isolate's shared caches key objects by pack, and every fixture differs.
  const name = `pack-walk-${++fixtures}`;
  const source = new MemorySource(name, repo.pack().pack);
  const index = new PackIndex((await indexPack(source)).index);
  return { store: new ObjectStore([new Pack(name, index, source)]), tip, objects: repo.objects.size };
}

describe("the object walk's memory", () => {
  it("holds each object it sends in tens of bytes, and writes the same pack as a Map would", async () => {
    const { store, tip, objects } = await repository(100, 1000);
    const walk = await enumerateObjects(new CommitGraph(store), { wants: [tip], haves: [], shallow: new Set() });
    expect(walk.objects.size).toBe(objects);
    // Whatever the count, growth by doubling keeps this under 58 bytes (ids, types, table).
    expect(walk.objects.byteLength / walk.objects.size).toBeLessThanOrEqual(64);

    const write = async (set: Parameters<typeof writePack>[1]) => {
      const chunks: Uint8Array[] = [];
      await writePack(store, set, { ofsDelta: true, thin: false, clientHas: new Set() }, async (c) => {
        chunks.push(c.slice());
      });
      return hashObject("blob", new Uint8Array(await new Blob(chunks).arrayBuffer()));
    };
    expect(await write(walk.objects)).toBe(await write(new Map(walk.objects)));
  });

  it("collects a written pack's index as columns (12 bytes an object beside the set), the .idx git would make", async () => {
    const { store, tip } = await repository(30, 300);
    const walk = await enumerateObjects(new CommitGraph(store), { wants: [tip], haves: [], shallow: new Set() });
    const chunks: Uint8Array[] = [];
    const stats = await writePack(
      store,
      walk.objects,
      { ofsDelta: true, thin: false, clientHas: new Set(), index: true },
      async (c) => {
        chunks.push(c.slice());
      },
    );
    const { oids, offsets, crcs } = stats.index!;
    // The ids are the set's own column, not a copy: offsets and CRCs are all the index adds.
    expect(oids.buffer).toBe(walk.objects.idColumn().buffer);
    expect((offsets.byteLength + crcs.byteLength) / stats.objects).toBe(12);
    // The plan: a byte for the pack, 4 for the offset (packs under 4 GiB), 4 for the stored order.
    expect(stats.planBytes / stats.objects).toBe(9);
    const written = new Uint8Array(await new Blob(chunks).arrayBuffer());
    const indexed = (await indexPack(new MemorySource("written", written))).index;
    expect(writePackIndexColumns(oids, offsets, crcs, stats.checksum)).toEqual(indexed);
  });

  it("keeps insertion order, types and lookups as a Map does", () => {
    const map = new Map<Oid, ObjectType>();
    const typed = new OidTypeMap(4);
    const types: ObjectType[] = ["commit", "tree", "blob", "tag"];
    // Enough ids to grow the table several times; some set twice with another type.
    for (let i = 0; i < 5000; i++) {
      const oid = hashObject("blob", new TextEncoder().encode(`${i % 4000}`));
      const type = types[i % 4]!;
      map.set(oid, type);
      typed.set(oid, type);
    }
    expect(typed.size).toBe(map.size);
    expect([...typed]).toEqual([...map]);
    for (const oid of map.keys()) expect([typed.has(oid), typed.get(oid)]).toEqual([true, map.get(oid)]);
    const absent = hashObject("blob", new TextEncoder().encode("absent"));
    expect([typed.has(absent), typed.get(absent)]).toEqual([false, undefined]);
  });

  it("keeps no per-commit maps in a graph told not to remember (a compaction's walk asks each commit once)", async () => {
    const { store, tip, objects } = await repository(60, 200);
    const graph = new CommitGraph(store, (oid) => store.read(oid), false);
    const walk = await enumerateObjects(graph, { wants: [tip], haves: [], shallow: new Set() });
    expect(walk.objects.size).toBe(objects);
    expect(walk.commits).toBe(60);
    // Before: every commit stayed in the graph's commits map, and its position (-1: there is no
    // persisted graph) in another, for as long as the graph lived.
    const held = graph as unknown as { commits: Map<Oid, unknown>; positions: Map<Oid, number> };
    expect(held.commits.size).toBe(0);
    expect(held.positions.size).toBe(0);
    // The walk read each commit once (the tip twice: peeled, then walked).
    expect(graph.reads.objects).toBe(60);
  });

  it("skips entries its set holds by their raw ids: a hex id only for objects new to the walk", async () => {
    const { store, tip, objects } = await repository(100, 1000);
    const byHex = vi.spyOn(OidTypeMap.prototype, "has");
    const walk = await enumerateObjects(new CommitGraph(store), { wants: [tip], haves: [], shallow: new Set() });
    expect(walk.objects.size).toBe(objects);
    // Before: every entry of every tree walked was made a hex string and looked up by it (about
    // 17,000 here, most of them unchanged since the tree's next version); now only the new ones.
    expect(byHex.mock.calls.length).toBeLessThanOrEqual(objects);
  });

  it("adds trees and blobs by their raw ids, in the order a recursive walk gave them", async () => {
    const { store, tip, objects } = await repository(40, 300);
    const byHex = vi.spyOn(OidTypeMap.prototype, "set");
    const walk = await enumerateObjects(new CommitGraph(store), { wants: [tip], haves: [], shallow: new Set() });
    expect(walk.objects.size).toBe(objects);
    // Before: every tree and blob was added by a hex string made for it, each held
    // in a list of its tree's new entries down the recursion; now only the commits are.
    expect(byHex.mock.calls.length).toBe(walk.commits);
    // Depth first, each tree's new blobs before its subtrees, as `git rev-list --objects` lists them.
    const order = [...walk.objects.keys()];
    const expected: Oid[] = [];
    const listed = new Set<Oid>();
    const visit = async (tree: Oid) => {
      if (listed.has(tree)) return;
      listed.add(tree);
      expected.push(tree);
      const subtrees: Oid[] = [];
      forEachTreeEntry(await store.readTyped(tree, "tree"), (mode, oid) => {
        if (listed.has(oid)) return;
        if (mode === "40000") subtrees.push(oid);
        else {
          listed.add(oid);
          expected.push(oid);
        }
      });
      for (const t of subtrees) await visit(t);
    };
    const commits = order.slice(0, walk.commits);
    for (const c of commits) listed.add(c);
    for (const c of commits) await visit((await new CommitGraph(store).commit(c)).tree);
    expect(order.slice(walk.commits)).toEqual(expected);
  });
});
