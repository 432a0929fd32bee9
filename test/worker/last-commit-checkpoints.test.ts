// Last-commit checkpoints: answers stored at every 256th commit of the default branch's
// first-parent chain, written oldest first, each from the one before. A tree page at an old
// commit walks only down to the nearest checkpoint (counted in commits walked, never time), and
// every answer is the one the plain walk (no graph, no checkpoint) gives, which
// commit-graph.test.ts checks against git.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { Budget } from "../../src/git/budget";
import { CommitGraph } from "../../src/git/commit-graph";
import { lastCommitsOfTree, newWalkStats } from "../../src/git/last-commit";
import { treePaths } from "../../src/git/tree-listing";
import { ObjectStore, Pack } from "../../src/git/object-store";
import type { Oid } from "../../src/git/oid";
import { RangedPackIndex } from "../../src/git/pack-index-ranged";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource } from "../../src/git/range-source";
import { updatedTreePaths } from "../../src/git/tree-listing";
import { readStored } from "../../src/services/last-commit-store";
import {
  advanceCheckpoints,
  CHECKPOINT_INTERVAL,
  type CheckpointStep,
  findCheckpoint,
  forgetCheckpointLists,
} from "../../src/services/last-commit-checkpoints";
import { lastCommitsFor } from "../../src/services/last-commits";
import { meteredEnv, newMeter } from "../../src/obs/meter";
import { r2Keys } from "../../src/storage/keys";
import { RepoBuilder } from "./git-fixture";
import { countedGraph, graphOn, memoryStore, persistedGraph } from "./graph-fixture";
import { precomputeAfterPush } from "../../src/services/derive-after-push";

const testEnv = env as unknown as Env;
/** Main's first-parent chain: 1,100 commits, so checkpoints at depths 0, 256, 512, 768 and 1,024. */
const LENGTH = 1_100;

/**
 * main edits src/hot.txt on every commit and src/n<k>.txt every 97th; old.txt never changes.
 * - keep.txt is "A" at the root, "B" at depth 10 and "A" again at depth 20 (X).
 * - side: forked from the root before X was made (older commits), sets keep.txt to "B" then "A"
 *   (S2), and is merged at depth 300: keep.txt's newest commit at the tip is still X, though S2
 *   is above the checkpoint at 256 and X below it.
 * - gone.txt is deleted at depth 400 and added again with its old content at depth 600.
 * - late: forked at depth 700, edits docs/late.md, merged at depth 1,050.
 */
function history() {
  const r = new RepoBuilder();
  const state: Record<string, string> = {
    "old.txt": "old\n",
    "keep.txt": "A\n",
    "gone.txt": "gone\n",
    "src/hot.txt": "0\n",
    "src/n0.txt": "0\n",
    "docs/late.md": "late 0\n",
  };
  const root = r.commit({ files: { ...state }, message: "root" });
  const s1 = r.commit({ files: { ...state, "keep.txt": "B\n" }, parents: [root], message: "side 1" });
  const s2 = r.commit({ files: { ...state }, parents: [s1], message: "side 2" });
  const chain = [root];
  let tip = root;
  let x = root;
  let late: Oid | null = null;
  let lateState: Record<string, string> = {};
  for (let depth = 1; depth < LENGTH; depth++) {
    state["src/hot.txt"] = `${depth}\n`;
    if (depth % 97 === 0) state[`src/n${depth % 5}.txt`] = `${depth}\n`;
    if (depth === 10) state["keep.txt"] = "B\n";
    if (depth === 20) state["keep.txt"] = "A\n";
    if (depth === 400) delete state["gone.txt"];
    if (depth === 600) state["gone.txt"] = "gone\n";
    const parents = [tip];
    if (depth === 300) parents.push(s2);
    if (depth === 1_050) {
      parents.push(late!);
      state["docs/late.md"] = lateState["docs/late.md"]!;
    }
    tip = r.commit({ files: { ...state }, parents, message: `main ${depth}` });
    if (depth === 20) x = tip;
    if (depth === 700) {
      lateState = { ...state, "docs/late.md": "late 1\n" };
      late = r.commit({ files: lateState, parents: [tip], message: "late" });
    }
    chain.push(tip);
  }
  return { r, root, tip, chain, x, s2 };
}

async function graphOf(store: ObjectStore, tips: Oid[]): Promise<CommitGraph> {
  const persisted = await persistedGraph(store, tips, "checkpoints");
  const graph = new CommitGraph(store);
  graph.usePersisted(async () => persisted);
  return graph;
}

/** The repository's objects as one pack with a ranged index (as a large import's), its lookups counted. */
async function rangedStore(r: RepoBuilder, name: string) {
  const pack = r.pack().pack;
  const indexed = await indexPack(new MemorySource(`${name}-scan-${Math.random()}`, pack));
  const index = await RangedPackIndex.open(new MemorySource(`${name}-${Math.random()}.idx`, indexed.index));
  const counted = { lookups: 0 };
  const lookup = index.lookup.bind(index);
  index.lookup = (oid) => {
    counted.lookups++;
    return lookup(oid);
  };
  const store = new ObjectStore([new Pack(name, index, new MemorySource(`${name}-${Math.random()}.pack`, pack))]);
  return { store, counted };
}

let repoIds = 0;
const newRepo = () => ({ tenantId: "checkpoints-test", repoId: `r${++repoIds}` });

describe("last-commit checkpoints", () => {
  it("are written oldest first in bounded, resumable runs, each the plain walk's answer", async () => {
    const { r, tip, chain } = history();
    const store = await memoryStore(r, "checkpoints");
    const graph = await graphOf(store, [tip]);
    const repo = newRepo();
    // Runs of 600 steps: not one run writes them all, and each picks up where the last stopped.
    const runs: number[] = [];
    const steps: CheckpointStep[] = [];
    for (let i = 0; i < 20; i++) {
      const run = await advanceCheckpoints(testEnv, repo, graph, tip, new Budget(Infinity, 600), 150_000, (s) => steps.push(s));
      runs.push(run.written);
      if (run.complete) break;
    }
    expect(runs.length).toBeGreaterThan(1);
    // Each step lists one whole tree, its own: a run starts from the listing the one before kept.
    expect(steps.map((s) => s.fullListings)).toEqual(steps.map(() => 1));
    expect(runs.reduce((a, b) => a + b, 0)).toBe(Math.ceil(LENGTH / CHECKPOINT_INTERVAL));
    const plain = new CommitGraph(store);
    for (let depth = 0; depth < LENGTH; depth += CHECKPOINT_INTERVAL) {
      const stored = await readStored(testEnv, repo, chain[depth]!);
      expect(stored, `checkpoint at depth ${depth}`).not.toBeNull();
      const expected = await lastCommitsOfTree(plain, chain[depth]!);
      const got = new Map(Object.entries(stored!.paths).map(([p, i]) => [p, stored!.commits[i]!]));
      expect(got).toEqual(expected!.paths);
    }
  });

  it("a run locates its trees through the pack's id table: no ranged index lookup a tree read", async () => {
    const { r, tip, chain } = history();
    const { store, counted } = await rangedStore(r, "checkpoints-ranged");
    // The graph built, the walk on a fresh store of the same pack: no lookup answered from the
    // build's memo of locations (the new commits' briefs are looked up too).
    const built = await graphOf(store, [tip]);
    const graph = new CommitGraph(new ObjectStore(store.packs));
    graph.usePersisted(async () => (await built.persistedGraph())!);
    const repo = newRepo();
    const lookups: number[] = [];
    const steps: CheckpointStep[] = [];
    let from = counted.lookups;
    const run = await advanceCheckpoints(testEnv, repo, graph, tip, new Budget(), 150_000, (s) => {
      steps.push(s);
      lookups.push(counted.lookups - from);
      from = counted.lookups;
    });
    expect(run).toEqual({ written: Math.ceil(LENGTH / CHECKPOINT_INTERVAL), complete: true });
    // Each step read trees (hundreds: its listing and its comparisons), none looked up in the index;
    // one index lookup a tree read before (about 300 a step here).
    expect(steps.every((s) => s.walk.trees > 0 && s.idTable)).toBe(true);
    expect(lookups).toEqual(steps.map(() => 0));
    expect(steps.map((s) => s.indexReads)).toEqual(steps.map(() => 0));
    const plain = new CommitGraph(await memoryStore(r, "checkpoints-plain"));
    for (let depth = 0; depth < LENGTH; depth += CHECKPOINT_INTERVAL) {
      const stored = await readStored(testEnv, repo, chain[depth]!);
      const expected = await lastCommitsOfTree(plain, chain[depth]!);
      const got = new Map(Object.entries(stored!.paths).map(([p, i]) => [p, stored!.commits[i]!]));
      expect(got, `checkpoint at depth ${depth}`).toEqual(expected!.paths);
    }
  });

  it("a page at an old commit walks only down to the nearest checkpoint, with the plain walk's answer", async () => {
    const { r, root, tip, chain, x, s2 } = history();
    const store = await memoryStore(r, "checkpoints");
    const graph = await graphOf(store, [tip]);
    const repo = newRepo();
    expect((await advanceCheckpoints(testEnv, repo, graph, tip, new Budget(), 150_000)).complete).toBe(true);
    const plain = new CommitGraph(store);
    // Depth 1,060: above the merge of `late` (whose fork is below the checkpoint at 1,024), and
    // depth 700: the nearest checkpoint is 188 first-parent steps down, `side`'s merge below it.
    for (const depth of [1_060, 700, 310]) {
      const commit = chain[depth]!;
      for (const dir of [[], ["src"], ["docs"]]) {
        const expected = await lastCommitsOfTree(plain, commit, { dir });
        const stats = newWalkStats();
        const near = await findCheckpoint(testEnv, repo, graph, commit, dir);
        expect(near?.data.commit).toBe(chain[depth - (depth % CHECKPOINT_INTERVAL)]);
        const found = await lastCommitsOfTree(graph, commit, { dir, stats, checkpoint: near!.checkpoint });
        expect(found?.complete).toBe(true);
        expect(found!.paths, `${depth} ${dir.join("/")}`).toEqual(expected!.paths);
        // Without the checkpoint old.txt sends the walk down to the root (every commit). With it,
        // the walk goes down to the checkpoint, or to the fork of a branch merged above it (at
        // 1,060: late, forked at 700, whose commit brought docs/; at 310, side, forked at the root).
        const floor = depth > 1_050 ? 700 : depth === 310 ? 0 : depth - (depth % CHECKPOINT_INTERVAL);
        expect(stats.commits, `${depth} ${dir.join("/")}`).toBeLessThanOrEqual(depth - floor + 40);
      }
      if (depth === 310) {
        const top = await lastCommitsOfTree(plain, commit, { dir: [] });
        // S2 (older, merged at 300, above the checkpoint) brought keep.txt's content too; X is newer.
        expect(top!.paths.get("keep.txt")).toBe(x);
        expect(x).not.toBe(s2);
        expect(top!.paths.get("old.txt")).toBe(root);
      }
    }
    // The same through the service, as the tree page asks for its column (no push worker).
    const stats = newWalkStats();
    const page = await lastCommitsFor(
      { ...testEnv, PUSH: undefined } as Env,
      repo,
      graph,
      chain[900]!,
      [],
      ["old.txt", "keep.txt", "gone.txt", "src", "docs"],
      () => undefined,
      { wait: false, stats },
    );
    expect(page.complete).toBe(true);
    const expected = await lastCommitsOfTree(plain, chain[900]!, { dir: [] });
    expect(page.entries).toEqual(Object.fromEntries(expected!.paths));
    expect(stats.commits).toBeLessThanOrEqual((900 % CHECKPOINT_INTERVAL) + 40);
  });

  it("a page reads the checkpoint list from R2 only when the one this isolate keeps could answer differently", async () => {
    const { r, tip, chain } = history();
    const store = await memoryStore(r, "checkpoints");
    const graph = await graphOf(store, [tip]);
    const repo = newRepo();
    const key = r2Keys.lastCommitCheckpoints(repo.tenantId, repo.repoId);
    expect((await advanceCheckpoints(testEnv, repo, graph, tip, new Budget(), 150_000)).complete).toBe(true);
    const full = await (await testEnv.OBJECTS.get(key))!.text();
    // As the push worker (another isolate) left it earlier: the checkpoints at depths 0 and 256 only.
    const early = JSON.stringify({ ...JSON.parse(full), done: [chain[0], chain[256]] });
    await testEnv.OBJECTS.put(key, early);
    forgetCheckpointLists();
    let listReads = 0;
    const counted = {
      ...testEnv,
      OBJECTS: new Proxy(testEnv.OBJECTS, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (prop !== "get") return typeof value === "function" ? value.bind(target) : value;
          return (k: string, o?: R2GetOptions) => {
            if (k === key) listReads++;
            return target.get(k, o);
          };
        },
      }),
    } as Env;
    const near = async (depth: number) => (await findCheckpoint(counted, repo, graph, chain[depth]!))?.data.commit;
    // The first page reads the list (the 256 one) and keeps it; pages fewer than 256 steps above
    // a kept checkpoint read nothing more (before: one whole GET a page).
    expect(await near(300)).toBe(chain[256]);
    expect(listReads).toBe(1);
    expect(await near(400)).toBe(chain[256]);
    expect(await near(511)).toBe(chain[256]);
    expect(await near(10)).toBe(chain[0]);
    expect(listReads).toBe(1);
    // The push worker writes the rest. A page whose kept checkpoint is 256 or more steps down (or
    // none is within reach) asks R2 again and finds the nearer one, as a fresh read would.
    await testEnv.OBJECTS.put(key, full);
    expect(await near(700)).toBe(chain[512]);
    expect(listReads).toBe(2);
    expect(await near(1_060)).toBe(chain[1_024]);
    expect(listReads).toBe(2);
    expect(await near(800)).toBe(chain[768]);
    expect(listReads).toBe(2);
    // A tree page's column at a commit with no stored answer, its checkpoint's answer parsed in
    // this isolate already: one whole GET (the commit's own answer, not there); two before.
    const meter = newMeter("cold-tree", "web.source.tree");
    const page = await lastCommitsFor(
      meteredEnv({ ...counted, PUSH: undefined } as Env, meter),
      repo,
      graph,
      chain[900]!,
      [],
      ["old.txt", "src"],
      () => undefined,
      { wait: false },
    );
    expect(page.complete).toBe(true);
    expect(meter.r2.whole).toBe(1);
    expect(listReads).toBe(2);
  });

  it("a checkpoint's tree listing, updated from the one before, is the whole listing", async () => {
    const r = new RepoBuilder();
    const old = r.commit({
      files: { "a/x": "1\n", "a/y": "2\n", b: "3\n", "c/d/e": "4\n", "c/f": "5\n", g: "6\n" },
      message: "old",
    });
    // a/x changed, b a file become a directory, c (with c/d) gone, g the same, h new, i/j new.
    const next = r.commit({
      files: { "a/x": "9\n", "a/y": "2\n", "b/z": "3\n", g: "6\n", h: "7\n", "i/j": "8\n" },
      parents: [old],
      message: "new",
    });
    // And back: a directory become a file again.
    const back = r.commit({ files: { "a/x": "9\n", b: "3\n" }, parents: [next], message: "back" });
    const store = await memoryStore(r, "checkpoints");
    const graph = new CommitGraph(store);
    const tree = async (c: Oid) => (await graph.commit(c)).tree;
    let listing = (await treePaths(graph, await tree(old)))!;
    for (const [from, to] of [
      [old, next],
      [next, back],
    ] as const) {
      listing = (await updatedTreePaths(store, listing, await tree(from), await tree(to), 1000))!;
      expect(listing).toEqual(await treePaths(graph, await tree(to)));
    }
  });

  it("a step walks only the commits its checkpoint reaches and the one before does not", async () => {
    // main edits hot.txt on every commit (every commit is compared). `side` is forked at the
    // root (its commits older than all of main's) and merged at depth 300: by dates alone, the
    // walk of step 512 follows the checkpoint at 256 down to the root to learn that the root is
    // below it. gone.txt is deleted at depth 100 and comes back at depth 700 with a merge of
    // `kept`, forked at depth 50 where it still had it: no commit above the checkpoint at 512
    // brought it, and that checkpoint has no answer for it (it answered by a whole-history walk).
    const r = new RepoBuilder();
    const state: Record<string, string> = { "hot.txt": "0\n", "gone.txt": "gone\n", "old.txt": "old\n" };
    const root = r.commit({ files: { ...state }, message: "root" });
    const s1 = r.commit({ files: { ...state, "side.txt": "1\n" }, parents: [root], message: "side 1" });
    const s2 = r.commit({ files: { ...state, "side.txt": "2\n" }, parents: [s1], message: "side 2" });
    const chain = [root];
    let tip = root;
    let kept: Oid | null = null;
    for (let depth = 1; depth < 800; depth++) {
      state["hot.txt"] = `${depth}\n`;
      if (depth === 100) delete state["gone.txt"];
      if (depth === 300) state["side.txt"] = "2\n";
      if (depth === 700) state["gone.txt"] = "gone\n";
      const parents = depth === 300 ? [tip, s2] : depth === 700 ? [tip, kept!] : [tip];
      tip = r.commit({ files: { ...state }, parents, message: `main ${depth}` });
      if (depth === 50) kept = r.commit({ files: { ...state, "kept.txt": "k\n" }, parents: [tip], message: "kept" });
      if (depth === 700) state["kept.txt"] = "k\n";
      chain.push(tip);
    }
    const store = await memoryStore(r, "checkpoints");
    const graph = await graphOf(store, [tip]);
    const repo = newRepo();
    const steps: CheckpointStep[] = [];
    const run = await advanceCheckpoints(testEnv, repo, graph, tip, new Budget(), 150_000, (s) => steps.push(s));
    expect(run.complete).toBe(true);
    expect(steps.map((s) => s.depth)).toEqual([0, 256, 512, 768]);
    for (const step of steps.slice(1)) {
      // The commits above the checkpoint before (256; side's 2 more at 512, kept's at 768),
      // each compared once; the other side is passed by generation number, never walked commit
      // by commit (nor compared).
      const above = step.walk.commits - (step.walk.fullSearch ?? 0);
      expect(above, `step ${step.depth}`).toBeLessThanOrEqual(CHECKPOINT_INTERVAL + 2);
      expect(step.walk.compares, `step ${step.depth}`).toBeLessThanOrEqual(CHECKPOINT_INTERVAL + 2 + 5);
    }
    // Step 768: gone.txt alone is searched for below the checkpoint, by graph position and its
    // Bloom filter (down to the root, comparing only where the filter may hold it).
    expect(steps[3]!.walk.fullSearch).toBeGreaterThan(0);
    const plain = new CommitGraph(store);
    for (const depth of [256, 512, 768]) {
      const stored = await readStored(testEnv, repo, chain[depth]!);
      const expected = await lastCommitsOfTree(plain, chain[depth]!);
      expect(new Map(Object.entries(stored!.paths).map(([p, i]) => [p, stored!.commits[i]!]))).toEqual(expected!.paths);
    }
    expect((await readStored(testEnv, repo, chain[768]!))!.paths["gone.txt"]).toBeDefined();
    const at768 = await readStored(testEnv, repo, chain[768]!);
    expect(at768!.commits[at768!.paths["gone.txt"]!]).toBe(root);
  });
});

describe("a pushed branch tip's answer", () => {
  it("comes from the old tip's or the nearest checkpoint's, reading only the directories that differ and the new commits", async () => {
    // 300 first-parent commits over 40 directories (81 trees a commit). Above the checkpoint at
    // 256: top.txt changed and changed back (its answer is the commit that brought it back, not
    // the checkpoint's), a side branch forked at depth 100 merged at 270, d39/ deleted, new/ added.
    const r = new RepoBuilder();
    const state: Record<string, string> = { "top.txt": "0\n", "hot.txt": "0\n" };
    for (let d = 0; d < 40; d++) {
      state[`d${d}/a.txt`] = "a\n";
      state[`d${d}/deep/b.txt`] = "b\n";
    }
    const chain = [r.commit({ files: { ...state }, message: "root" })];
    let side: Oid | null = null;
    for (let depth = 1; depth < 300; depth++) {
      state["hot.txt"] = `${depth}\n`;
      if (depth % 7 === 0) state[`d${depth % 40}/a.txt`] = `${depth}\n`;
      if (depth === 280) state["top.txt"] = "x\n";
      if (depth === 290) state["top.txt"] = "0\n";
      if (depth === 285) for (const f of Object.keys(state)) if (f.startsWith("d39/")) delete state[f];
      if (depth === 295) state["new/x.txt"] = "new\n";
      if (depth === 270) state["d5/deep/b.txt"] = "side\n";
      const parents = depth === 270 ? [chain[depth - 1]!, side!] : [chain[depth - 1]!];
      chain.push(r.commit({ files: { ...state }, parents, message: `main ${depth}` }));
      if (depth === 100)
        side = r.commit({ files: { ...state, "d5/deep/b.txt": "side\n" }, parents: [chain[100]!], message: "side" });
    }
    const tip = chain[299]!;
    const pushed = r.commit({ files: { ...state, "top.txt": "pushed\n" }, parents: [tip], message: "pushed" });
    const store = await memoryStore(r, "pushed-tip");
    const persisted = await persistedGraph(store, [pushed], "pushed-tip");
    const repo = newRepo();
    const graph = graphOn(store, persisted);
    expect((await advanceCheckpoints(testEnv, repo, graph, tip, new Budget(), 150_000)).complete).toBe(true);
    const plain = new CommitGraph(store);
    const answer = async (commit: Oid) => {
      const stored = await readStored(testEnv, repo, commit);
      return stored && new Map(Object.entries(stored.paths).map(([p, i]) => [p, stored.commits[i]!]));
    };
    const update = (old: Oid, next: Oid) => [{ name: "refs/heads/main", old, new: next }];
    // The old tip has no answer: from the checkpoint at 256.
    expect(await precomputeAfterPush(testEnv, repo, graphOn(store, persisted), update(chain[298]!, tip))).toBe(1);
    expect(await answer(tip)).toEqual((await lastCommitsOfTree(plain, tip))!.paths);
    expect((await answer(tip))!.get("top.txt")).toBe(chain[290]);
    // One commit pushed on a tip with an answer: its two root trees, compared once, and its own
    // commit's subject; every other entry keeps the old tip's answer. Listing both trees whole
    // read 88 trees here (each tree is 81), and every commit named in the answer again.
    const { graph: counted, counts } = countedGraph(store, persisted);
    let commitReads = 0;
    const readTyped = counted.store.readTyped.bind(counted.store);
    counted.store.readTyped = async (oid, type, o) => {
      if (type === "commit") commitReads++;
      return readTyped(oid, type, o);
    };
    expect(await precomputeAfterPush(testEnv, repo, counted, update(tip, pushed))).toBe(1);
    expect(counts.trees).toBeLessThanOrEqual(4);
    expect(commitReads).toBeLessThanOrEqual(1);
    expect(await answer(pushed)).toEqual((await lastCommitsOfTree(plain, pushed))!.paths);
    // The tree page at the pushed commit then walks nothing: its column is the stored answer.
    const stats = newWalkStats();
    const names = ["top.txt", "hot.txt", "new", "d5", "d39", "d0"];
    const page = await lastCommitsFor({ ...testEnv, PUSH: undefined } as Env, repo, graph, pushed, [], names, () => undefined, {
      wait: false,
      stats,
    });
    expect(page.complete).toBe(true);
    expect(stats.commits).toBe(0);
    const expected = (await lastCommitsOfTree(plain, pushed, { dir: [] }))!.paths;
    expect(page.entries).toEqual(Object.fromEntries(names.filter((n) => expected.has(n)).map((n) => [n, expected.get(n)])));
    expect(page.entries["top.txt"]).toBe(pushed);
  });
});
