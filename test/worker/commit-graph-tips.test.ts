// Extending the commit-graph after a push to a repository with many refs: the tips the graph holds
// already must cost no pack-index lookup (git/git's 992 refs made adding one pushed commit 1,041
// R2 calls on big.git), only the tips it lacks.
import { describe, expect, it } from "vitest";
import { extendCommitGraph } from "../../src/git/commit-graph-build";
import { GraphLayer, PersistedGraph } from "../../src/git/commit-graph-file";
import { ObjectStore, Pack } from "../../src/git/object-store";
import type { Oid } from "../../src/git/oid";
import { PackIndex } from "../../src/git/pack-index";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource } from "../../src/git/range-source";
import { RepoBuilder } from "./git-fixture";
import { persistedGraph } from "./graph-fixture";

const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

/** A pack of `oids` of `repo` whose index lookups are counted (a ranged index's R2 reads in the forge). */
async function countedPack(repo: RepoBuilder, oids: Oid[], name: string, counts: { lookups: Oid[] }): Promise<Pack> {
  const source = new MemorySource(`${name}-${run}.pack`, repo.pack(oids).pack);
  const index = new PackIndex((await indexPack(source)).index);
  const lookup = index.lookup.bind(index);
  index.lookup = async (oid) => {
    if (typeof oid === "string") counts.lookups.push(oid);
    return lookup(oid);
  };
  // A pack id of its own: nothing the isolate learned about the other packs' places applies.
  return new Pack(`${name}-${run}`, index, source);
}

describe("an incremental commit-graph update", () => {
  it("looks up in the pack index only the tips the graph lacks", async () => {
    // 300 branches, each at its own commit of one line of history (as a mirror's many refs).
    const repo = new RepoBuilder();
    const branches: Oid[] = [];
    let tip = repo.commit({ files: { "a.txt": "0\n" }, message: "start" });
    branches.push(tip);
    for (let i = 1; i < 300; i++) {
      tip = repo.commit({ files: { "a.txt": `${i}\n` }, parents: [tip], message: `change ${i}` });
      branches.push(tip);
    }
    const before = [...repo.objects.keys()];
    const built = await persistedGraph(
      new ObjectStore([await countedPack(repo, before, "first", { lookups: [] })]),
      branches,
      "tips",
    );
    expect(built.count).toBe(300);

    // One commit pushed on the newest branch, in a pack of its own.
    const pushed = repo.commit({ files: { "a.txt": "pushed\n" }, parents: [tip], message: "pushed" });
    const added = [...repo.objects.keys()].filter((oid) => !before.includes(oid));
    const counts = { lookups: [] as Oid[] };
    const store = new ObjectStore([
      await countedPack(repo, added, "pushed", counts),
      await countedPack(repo, before, "old", counts),
    ]);
    let chain: GraphLayer[] = [];
    const n = await extendCommitGraph(
      {
        store,
        graph: built,
        writeLayer: async (bytes) => GraphLayer.open(new MemorySource(`tips-layer-${run}`, bytes)),
        saveChain: async (layers) => {
          chain = layers;
        },
      },
      [...branches.slice(0, -1), pushed],
    );
    expect(n).toBe(1);
    const graph = new PersistedGraph(chain);
    const at = await graph.find(pushed);
    expect(at).toBe(300);
    expect((await graph.commit(at)).generation).toBe(301);
    // The pushed commit and its parent (present before the graph says it is covered), and the
    // two trees its filter compares: none of the 299 other tips.
    const distinct = new Set(counts.lookups);
    expect(distinct.has(pushed)).toBe(true);
    expect(branches.slice(0, -1).filter((b) => distinct.has(b))).toEqual([]);
    expect(distinct.size).toBeLessThanOrEqual(4);
  });
});
