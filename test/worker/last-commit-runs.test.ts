// Runs of a branch tip's last-commit walk (services/last-commits.ts, derive-after-push.ts): a walk
// from a checkpoint that runs out of budget keeps its progress and the next run goes on from it
// (counted in runs, never time); the derive steps of the same tip share one run; a checkpoint
// drive ends with the default branch tip's own answer. Every answer is the plain walk's. The
// start's listing, made from the base's, reads each level's differing directories side by side;
// on a pack with a ranged index, a walk from a checkpoint locates its trees through the pack's id
// table (counted in index lookups).
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { Budget } from "../../src/git/budget";
import { CommitGraph } from "../../src/git/commit-graph";
import { lastCommitsOfTree } from "../../src/git/last-commit";
import { treePaths, updatedTreePaths } from "../../src/git/tree-listing";
import type { Oid } from "../../src/git/oid";
import { advanceCheckpoints } from "../../src/services/last-commit-checkpoints";
import { readStored } from "../../src/services/last-commit-store";
import { precomputeAfterPush } from "../../src/services/derive-after-push";
import { importRecorded } from "./recorded-import";
import type { CheckpointDrive } from "../../src/services/checkpoint-drive";
import { handlePostPushBatch } from "../../src/services/post-push";
import type { RepoRef } from "../../src/services/repositories";
import { apiCall, newForge, tenantD1, type Forge } from "./browser";
import { RepoBuilder } from "./git-fixture";
import { graphOn, memoryStore, persistedGraph } from "./graph-fixture";
import { ObjectStore, Pack } from "../../src/git/object-store";
import { RangedPackIndex } from "../../src/git/pack-index-ranged";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource, WindowedSource } from "../../src/git/range-source";
import { PackIndex } from "../../src/git/pack-index";
import { r2Keys } from "../../src/storage/keys";
import { countedBatch } from "./recording-queue";

const env = workerEnv as unknown as Env;
let repoIds = 0;
const newRepo = () => ({ tenantId: "last-commit-runs", repoId: `r${++repoIds}` });

/**
 * 300 first-parent commits over 10 directories (checkpoints at depths 0 and 256), and a side branch
 * forked at 100 merged at 270: the tip is 43 first-parent commits above its checkpoint.
 */
async function history(name: string, open?: (r: RepoBuilder) => Promise<ObjectStore>) {
  const r = new RepoBuilder();
  const state: Record<string, string> = { "top.txt": "0\n", "hot.txt": "0\n" };
  for (let d = 0; d < 10; d++) state[`d${d}/a.txt`] = "a\n";
  const chain = [r.commit({ files: { ...state }, message: "root" })];
  let side: Oid | null = null;
  for (let depth = 1; depth < 300; depth++) {
    state["hot.txt"] = `${depth}\n`;
    if (depth % 3 === 0) state[`d${depth % 10}/a.txt`] = `${depth}\n`;
    if (depth === 280) state["top.txt"] = "x\n";
    if (depth === 290) state["top.txt"] = "0\n";
    if (depth === 270) state["d5/b.txt"] = "side\n";
    const parents = depth === 270 ? [chain[depth - 1]!, side!] : [chain[depth - 1]!];
    chain.push(r.commit({ files: { ...state }, parents, message: `main ${depth}` }));
    if (depth === 100) side = r.commit({ files: { ...state, "d5/b.txt": "side\n" }, parents: [chain[100]!], message: "side" });
  }
  const tip = chain[299]!;
  const store = await (open ? open(r) : memoryStore(r, name));
  const persisted = await persistedGraph(store, [tip], name);
  const repo = newRepo();
  expect((await advanceCheckpoints(env, repo, graphOn(store, persisted), chain[256]!, new Budget(), 150_000)).complete).toBe(
    true,
  );
  const plain = (await lastCommitsOfTree(new CommitGraph(store), tip))!.paths;
  const update = [{ name: "refs/heads/main", old: chain[298]!, new: tip }];
  return { store, persisted, repo, chain, tip, plain, update };
}

const answerOf = async (repo: RepoRef, commit: Oid) => {
  const stored = await readStored(env, repo, commit);
  return stored && new Map(Object.entries(stored.paths).map(([p, i]) => [p, stored.commits[i]!]));
};

describe("a branch tip's walk from a checkpoint", () => {
  it("out of budget keeps its progress, and the next run goes on from it", async () => {
    const { store, persisted, repo, tip, plain, update } = await history("resumed");
    // Ten commits a run: the 43 above the checkpoint (and the side branch's) take several runs.
    // Each run that started again from the checkpoint would never get past its first ten.
    let runs = 0;
    while (!(await readStored(env, repo, tip)) && runs < 12) {
      runs++;
      await precomputeAfterPush(env, repo, graphOn(store, persisted), update, new Budget(Infinity, 10));
    }
    expect(runs).toBeGreaterThan(1);
    expect(runs).toBeLessThan(12);
    expect(await answerOf(repo, tip)).toEqual(plain);
    expect((await answerOf(repo, tip))!.get("top.txt")).not.toBe(update[0]!.old);
  });

  it("is one run for derive steps of the same tip side by side", async () => {
    const { store, persisted, repo, tip, plain, update } = await history("twice");
    // Each run that finishes stores the answer: counted as the bucket's puts of its key.
    const key = r2Keys.lastCommits(repo.tenantId, repo.repoId, tip);
    let puts = 0;
    const objects = new Proxy(env.OBJECTS, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (prop === "put" && args[0] === key) puts++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const counted = { ...env, OBJECTS: objects } as Env;
    const graph = graphOn(store, persisted);
    const stored = await Promise.all([
      precomputeAfterPush(counted, repo, graph, update),
      precomputeAfterPush(counted, repo, graph, update),
    ]);
    expect(stored).toEqual([1, 1]);
    expect(puts).toBe(1);
    expect(await answerOf(repo, tip)).toEqual(plain);
  });
});

/**
 * A store whose one pack has a ranged index (as a large pack's is): its lookups and the reads of
 * its index and pack sources are counted.
 */
async function rangedStore(r: RepoBuilder, name: string) {
  const pack = r.pack().pack;
  const counted = { lookups: 0, indexReads: 0, packReads: 0 };
  const countedSource = (id: string, bytes: Uint8Array, key: "indexReads" | "packReads") => {
    const source = new MemorySource(`${id}-${Math.random()}`, bytes);
    const read = source.read.bind(source);
    source.read = (start, end) => {
      counted[key]++;
      return read(start, end);
    };
    return source;
  };
  const indexed = await indexPack(new MemorySource(`${name}-scan-${Math.random()}`, pack));
  const index = await RangedPackIndex.open(countedSource(`${name}.idx`, indexed.index, "indexReads"));
  const lookup = index.lookup.bind(index);
  index.lookup = (oid) => {
    counted.lookups++;
    return lookup(oid);
  };
  const store = new ObjectStore([new Pack(name, index, countedSource(`${name}.pack`, pack, "packReads"))]);
  return { store, counted };
}

describe("a pushed tip's walk from a checkpoint, on a pack with a ranged index", () => {
  it("locates its listing's and its walk's trees through the pack's id table, not the index", async () => {
    let ranged: Awaited<ReturnType<typeof rangedStore>> | undefined;
    const { persisted, repo, tip, plain, update } = await history("ranged", async (r) => {
      ranged = await rangedStore(r, "ranged");
      return ranged.store;
    });
    // The walk on a fresh store of the same pack (nothing located yet), counted from here.
    const store = new ObjectStore(ranged!.store.packs);
    const counted = ranged!.counted;
    counted.lookups = 0;
    // The old tip has no answer: the walk starts from the checkpoint 43 commits below, its
    // listing reads every directory that differs (10 of them and the root, at both ends).
    expect(await precomputeAfterPush(env, repo, graphOn(store, persisted), update)).toBe(1);
    // Only the old tip and the pushed commit, looked up before the base is chosen; before, one
    // lookup a tree read besides (the listing's 22 and the walk's comparisons: 96 in all).
    expect(counted.lookups).toBeLessThanOrEqual(2);
    expect(await answerOf(repo, tip)).toEqual(plain);
  });
});

describe("a pushed tip the graph does not cover yet", () => {
  it("is walked from its first parent's checkpoint, not from nothing", async () => {
    const { store, repo, chain, tip, plain, update } = await history("uncovered");
    // The graph as it was before the push: up to the old tip (its update for the tip under way).
    const before = await persistedGraph(store, [chain[298]!], "uncovered-before");
    const lines: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
      log(...args);
    };
    try {
      expect(await precomputeAfterPush(env, repo, graphOn(store, before), update)).toBe(1);
    } finally {
      console.log = log;
    }
    const walks = lines.filter((l) => l.includes('job {\\"job\\":\\"walk\\"'));
    expect(walks.length).toBe(1);
    // No base before: the whole tree listed and the whole history walked.
    expect(walks[0]).toContain('\\"base\\":\\"checkpoint\\"');
    expect(await answerOf(repo, tip)).toEqual(plain);
  });
});

describe("a listing brought up to date from an older tree's", () => {
  it("reads each level's differing directories side by side, and is the whole listing", async () => {
    // 40 directories, each with a subdirectory, all changed by one commit.
    const r = new RepoBuilder();
    const files = (v: string) => Object.fromEntries([...Array(40).keys()].map((d) => [`d${d}/e/f.txt`, `${d} ${v}`]));
    const old = r.commit({ files: files("1\n"), message: "old" });
    const next = r.commit({ files: files("2\n"), parents: [old], message: "next" });
    const store = await memoryStore(r, "listing");
    const graph = new CommitGraph(store);
    const tree = async (c: Oid) => (await graph.commit(c)).tree;
    const before = (await treePaths(graph, await tree(old)))!;
    let reading = 0;
    let most = 0;
    const read = store.read.bind(store);
    store.read = async (oid, o) => {
      most = Math.max(most, ++reading);
      try {
        return await read(oid, o);
      } finally {
        reading--;
      }
    };
    const listing = await updatedTreePaths(store, before, await tree(old), await tree(next), 1000);
    // One directory pair at a time read two trees at once.
    expect(most).toBeGreaterThanOrEqual(16);
    expect(listing).toEqual(await treePaths(graph, await tree(next)));
  });
});

describe("a listing's trees spread over a large pack", () => {
  it("are read a cluster of windows at a time, not a storage read a window", async () => {
    // 40 directories, each a subdirectory with a file of 60,000 random letters (about 40 KB
    // deflated): the trees lie a window or so apart, the files between them.
    const r = new RepoBuilder();
    let seed = 7;
    const letter = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return 97 + ((seed >>> 0) % 26);
    };
    const letters = (n: number) => String.fromCharCode(...Array.from({ length: n }, letter));
    const files = () => Object.fromEntries([...Array(40).keys()].map((d) => [`d${d}/e/f.txt`, letters(60_000)]));
    const old = r.commit({ files: files(), message: "old" });
    const next = r.commit({ files: files(), parents: [old], message: "next" });
    const bytes = r.pack().pack;
    const indexed = await indexPack(new MemorySource(`spread-scan-${Math.random()}`, bytes));
    const inner = new MemorySource(`spread-${Math.random()}.pack`, bytes);
    let reads = 0;
    const read = inner.read.bind(inner);
    inner.read = (start, end) => {
      reads++;
      return read(start, end);
    };
    const store = new ObjectStore([new Pack("spread", new PackIndex(indexed.index), new WindowedSource(inner))]);
    const plain = new CommitGraph(await memoryStore(r, "spread-plain"));
    const tree = async (c: Oid) => (await plain.commit(c)).tree;
    const before = (await treePaths(plain, await tree(old)))!;
    const listing = await updatedTreePaths(store, before, await tree(old), await tree(next), 1000);
    expect(listing).toEqual(await treePaths(plain, await tree(next)));
    // 162 trees over about 50 windows of 64 KiB: one read a window before (45 here), a few runs of up
    // to 16 windows each now.
    expect(bytes.length).toBeGreaterThan(40 * 2 * 64 * 1024 * 0.5);
    expect(reads).toBeLessThanOrEqual(12);
  });
});

describe("a checkpoint drive", () => {
  let forge: Forge;
  beforeAll(async () => {
    forge = await newForge("lastcommitruns");
  }, 60_000);

  it("ends with the default branch tip's own answer", async () => {
    expect((await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "tipped" })).status).toBe(201);
    const db = await tenantD1(forge);
    const row = await db.prepare("SELECT repo_id FROM projects WHERE name = ?").bind("tipped").first<{ repo_id: string }>();
    const repo: RepoRef = { tenantId: forge.id, repoId: row!.repo_id };
    // 300 commits: checkpoints at 0 and 256, the tip 43 above the last.
    const built = new RepoBuilder();
    const commits: Oid[] = [];
    for (let i = 0; i < 300; i++)
      commits.push(
        built.commit({
          files: { "a.txt": `${i}\n`, [`d/${i % 7}.txt`]: `${i}\n` },
          parents: commits.slice(-1),
          message: `c${i}`,
        }),
      );
    const { queue, consumerEnv } = await importRecorded<CheckpointDrive>(repo, built, [
      { name: "refs/heads/main", oid: commits.at(-1)! },
    ]);
    // The import's drive, delivered to the consumer deriving in place (no push worker).
    const { batch } = countedBatch("edgeforge-post-push", queue.take());
    await handlePostPushBatch(batch as MessageBatch<never>, consumerEnv);
    expect(await readStored(env, repo, commits[256]!)).toBeTruthy();
    const tip = commits.at(-1)!;
    // Each commit's tree is a.txt and d/<i % 7>.txt: all three paths are the tip's.
    expect(await answerOf(repo, tip)).toEqual(
      new Map([
        ["a.txt", tip],
        ["d", tip],
        [`d/${299 % 7}.txt`, tip],
      ]),
    );
    expect(queue.messages).toEqual([]);
  });
});
