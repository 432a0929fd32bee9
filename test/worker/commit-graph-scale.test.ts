// Building the commit-graph of a repository whose pack index is larger than the page cache, as a
// large repository's is in production (git/git's 900,000 objects: a 25 MB index, a 10 MiB cache):
// the storage reads of the build must not grow with one lookup per tree read. The answers must
// be the same as with the index held whole.
import { env as workerEnv } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Budget } from "../../src/git/budget";
import { CommitGraph } from "../../src/git/commit-graph";
import { changedPaths } from "../../src/git/commit-graph-build";
import { ObjectStore, Pack } from "../../src/git/object-store";
import type { Oid } from "../../src/git/oid";
import { PackIndex } from "../../src/git/pack-index";
import { RangedPackIndex } from "../../src/git/pack-index-ranged";
import { setRangedPageBudget } from "../../src/git/pack-index-unit-cache";
import { indexPack } from "../../src/git/pack-indexer";
import { lastCommitsOfTree } from "../../src/git/last-commit";
import { MemorySource } from "../../src/git/range-source";
import type { Env } from "../../src/env";
import { precomputeAfterPush } from "../../src/services/derive-after-push";
import { RepoBuilder } from "./git-fixture";
import { persistedGraph } from "./graph-fixture";

/** 300 commits, each changing two files four directories deep (of 256), and a merge every 50. */
function history(): { repo: RepoBuilder; tips: Oid[]; commits: number } {
  const repo = new RepoBuilder();
  const files: Record<string, string> = {};
  const path = (n: number) => `a${n & 3}/b${(n >> 2) & 3}/c${(n >> 4) & 3}/file${(n >> 6) & 3}.txt`;
  for (let n = 0; n < 256; n++) files[path(n)] = `${n}\n`;
  let tip = repo.commit({ files, message: "start" });
  let side = tip;
  let commits = 1;
  for (let i = 1; i < 300; i++) {
    files[path((i * 37) % 256)] = `change ${i}\n`;
    files[path((i * 101 + 7) % 256)] = `change ${i} too\n`;
    if (i % 50 === 0) {
      tip = repo.commit({ files, parents: [tip, side], message: `merge ${i}` });
      side = tip;
    } else if (i % 5 === 0)
      side = repo.commit({ files: { ...files, "side.txt": `${i}\n` }, parents: [side], message: `side ${i}` });
    else tip = repo.commit({ files, parents: [tip], message: `change ${i}` });
    commits++;
  }
  return { repo, tips: [tip, side], commits };
}

/** The history above packed commits first, as git writes a pack, with the pack's index. */
async function packedHistory(name: string) {
  const { repo, tips, commits } = history();
  const all = [...repo.objects.keys()];
  const { pack } = repo.pack([
    ...all.filter((oid) => repo.objects.get(oid)!.type === "commit"),
    ...all.filter((oid) => repo.objects.get(oid)!.type !== "commit"),
  ]);
  const packSource = new MemorySource(`${name}-pack-${Date.now()}`, pack);
  const { index: idx } = await indexPack(packSource);
  return { tips, commits, packSource, idx };
}

let previousBudget = 0;
beforeAll(() => {
  // Four 4 KiB pages: the index below is about 25 of them.
  previousBudget = setRangedPageBudget(16 * 1024);
});
afterAll(() => {
  setRangedPageBudget(previousBudget);
});

describe("building the commit-graph over a ranged index larger than its cache", () => {
  it("reads index pages a few times per tree level, not once per tree, and writes the same graph", async () => {
    const { tips, commits, packSource, idx } = await packedHistory("scale");
    const ranged = await RangedPackIndex.open(new MemorySource(`scale-idx-${Date.now()}`, idx));
    const indexPages = Math.ceil(idx.length / 4096);
    expect(indexPages).toBeGreaterThan(16);

    const before = ranged.reads;
    const graph = await persistedGraph(new ObjectStore([new Pack("ranged", ranged, packSource)]), tips, "scale");
    const reads = ranged.reads - before;
    expect(graph.count).toBe(commits);
    // The commits are read in pack order (no lookup); the trees of all of them are located level
    // by level in id order: about the index's pages per level (four levels of directories).
    // A lookup per commit and per tree read, in walk order, made 9,797 reads here.
    expect(reads).toBeLessThan(12 * indexPages);

    const whole = await persistedGraph(new ObjectStore([new Pack("whole", new PackIndex(idx), packSource)]), tips, "scale");
    expect(whole.count).toBe(graph.count);
    for (let pos = 0; pos < graph.count; pos++) {
      expect(await graph.commit(pos)).toEqual(await whole.commit(pos));
      expect(await graph.filter(pos)).toEqual(await whole.filter(pos));
    }
  });

  it("looks the trees of a whole history's filters up in a table read in one pass over the index", async () => {
    const { tips, commits, packSource, idx } = await packedHistory("table");
    const idxSource = new MemorySource(`table-idx-${Date.now()}`, idx);
    let bytes = 0;
    const read = idxSource.read.bind(idxSource);
    idxSource.read = async (start, end) => {
      const got = await read(start, end);
      bytes += got.length;
      return got;
    };
    const ranged = await RangedPackIndex.open(idxSource);
    bytes = 0;
    const graph = await persistedGraph(new ObjectStore([new Pack("table", ranged, packSource)]), tips, "table");
    expect(graph.count).toBe(commits);
    // Names and offsets once (24 bytes an object) and nothing more: the filters' lookups were
    // 909,696 bytes of index reads here before (each level's ids swept the index again through its cache,
    // at git/git's size 6.8 GB for one build).
    expect(bytes).toBeLessThanOrEqual(ranged.count * 24);
  });

  it("lists as git does a mode change, a file turned directory, and paths only one side has", async () => {
    const repo = new RepoBuilder();
    const before = repo.files({
      "run.sh": "echo hi\n",
      x: "a file\n",
      "keep/a.txt": "a\n",
      "gone/deep/b.txt": "b\n",
    });
    const after = repo.files({
      "run.sh": { data: "echo hi\n", mode: "100755" },
      "x/inner.txt": "now a directory\n",
      "keep/a.txt": "a\n",
      "new/c.txt": "c\n",
    });
    const { pack } = repo.pack();
    const source = new MemorySource(`modes-${Date.now()}`, pack);
    const store = new ObjectStore([new Pack("modes", new PackIndex((await indexPack(source)).index), source)]);
    // git diff-tree -r -t --name-only of the same trees, with the directories git's filters add.
    expect((await changedPaths(store, before, after))?.sort()).toEqual(
      ["gone", "gone/deep", "gone/deep/b.txt", "new", "new/c.txt", "run.sh", "x", "x/inner.txt"].sort(),
    );
    expect(await changedPaths(store, before, before)).toEqual([]);
  });

  it("lists a whole tree for the last-commit walk with index reads per level, not per directory", async () => {
    // 1,296 files in 259 directories, four levels deep.
    const repo = new RepoBuilder();
    const files: Record<string, string> = {};
    for (let n = 0; n < 6 ** 4; n++) files[`d${n % 6}/e${Math.floor(n / 6) % 6}/f${Math.floor(n / 36) % 6}/${n}.txt`] = `${n}\n`;
    const tip = repo.commit({ files, message: "many directories" });
    const { pack } = repo.pack();
    const packSource = new MemorySource(`list-pack-${Date.now()}`, pack);
    const { index: idx } = await indexPack(packSource);
    const ranged = await RangedPackIndex.open(new MemorySource(`list-idx-${Date.now()}`, idx));
    const indexPages = Math.ceil(idx.length / 4096);
    const graph = new CommitGraph(new ObjectStore([new Pack("list", ranged, packSource)]));
    const before = ranged.reads;
    const found = await lastCommitsOfTree(graph, tip, { budget: new Budget(Infinity, 1_000_000) });
    expect(found?.complete).toBe(true);
    expect(found?.paths.size).toBe(6 ** 4 + 6 + 36 + 216);
    // Four levels, each located in id order: a few passes over the index's pages (53 reads).
    // One lookup per directory (259), in walk order, made 725.
    expect(ranged.reads - before).toBeLessThan(6 * indexPages);
  });

  it("after a push of many branches, stops walking branches once the shared budget is spent", async () => {
    const repo = new RepoBuilder();
    const files: Record<string, string> = {};
    for (let n = 0; n < 216; n++) files[`d${n % 6}/e${Math.floor(n / 6) % 6}/${n}.txt`] = `${n}\n`;
    const base = repo.commit({ files, message: "base" });
    const tips = Array.from({ length: 6 }, (_, i) =>
      repo.commit({ files: { ...files, [`d${i}/branch.txt`]: `${i}\n` }, parents: [base], message: `branch ${i}` }),
    );
    const { pack } = repo.pack();
    const source = new MemorySource(`branches-${Date.now()}`, pack);
    const index = new PackIndex((await indexPack(source)).index);
    const env = workerEnv as unknown as Env;
    const readsFor = async (branches: number) => {
      // A repository each: a walk out of budget keeps its progress, which a second call would resume.
      const ref = { tenantId: `budget-${Date.now().toString(36)}`, repoId: `r${branches}` };
      const graph = new CommitGraph(new ObjectStore([new Pack("branches", index, source)]));
      const read = vi.spyOn(graph.store, "read");
      const updates = tips.slice(0, branches).map((tip, i) => ({ name: `refs/heads/b${i}`, old: "0".repeat(40), new: tip }));
      // One step: the first branch's walk spends it.
      expect(await precomputeAfterPush(env, ref, graph, updates, new Budget(Infinity, 1))).toBe(0);
      return read.mock.calls.length;
    };
    // Each branch walked would read its commit and list its tree (43 directories) again.
    expect(await readsFor(6)).toBe(await readsFor(1));
  });
});
