// The persisted commit-graph and its changed-path Bloom filters, and the walks that use them (path
// log, last commit per tree entry, blame), checked against what the real git answered about the
// same repository (test/fixtures/history-repo.json, made by make-history-repo.ts): merges, a
// rename, a file deleted and re-added, deep directories. Answers must not depend on the graph:
// none, a partial one, one split in many layers, or one whose filters all say "maybe".
import { env as workerEnv } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import fixture from "../fixtures/history-repo.json";
import { blame } from "../../src/git/blame";
import { bloomKey, bloomKeysOf, filterMayContain, murmur3 } from "../../src/git/bloom";
import { CommitGraph } from "../../src/git/commit-graph";
import { changedPaths, extendCommitGraph } from "../../src/git/commit-graph-build";
import { GraphLayer, PersistedGraph } from "../../src/git/commit-graph-file";
import { logPage } from "../../src/git/history";
import { isReachable } from "../../src/git/negotiate";
import { lastCommitsOfTree } from "../../src/git/last-commit";
import { ObjectStore, Pack } from "../../src/git/object-store";
import type { Oid } from "../../src/git/oid";
import { PackIndex } from "../../src/git/pack-index";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource } from "../../src/git/range-source";
import type { Env } from "../../src/env";
import { readChain } from "../../src/services/commit-graphs";
import { lastCommitsFor, runLastCommitsWalk } from "../../src/services/last-commits";
import { currentSnapshot, openStore as openRepoStore } from "../../src/services/repositories";
import { newForge, tenantD1 } from "./browser";
import { importRepo, RepoBuilder } from "./git-fixture";
import { graphOn } from "./graph-fixture";

const env = workerEnv as unknown as Env;

const encoder = new TextEncoder();
const revs = fixture.revs as Record<"tip" | "older", Oid>;
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

let storeOnce: Promise<ObjectStore> | undefined;
function openStore(): Promise<ObjectStore> {
  storeOnce ??= (async () => {
    const pack = Uint8Array.from(atob(fixture.pack), (c) => c.charCodeAt(0));
    const source = new MemorySource("history-repo.pack", pack);
    const indexed = await indexPack(source);
    return new ObjectStore([new Pack("history", new PackIndex(indexed.index), source)]);
  })();
  return storeOnce;
}

let layerIds = 0;
/** Builds a persisted graph in memory, from `tips`, on top of `graph`; layers of at most `layerMax`. */
async function build(store: ObjectStore, tips: Oid[], opts: { on?: PersistedGraph | null; layerMax?: number } = {}) {
  let chain: GraphLayer[] = opts.on?.layers ?? [];
  let layersWritten = 0;
  const added = await extendCommitGraph(
    {
      store,
      graph: opts.on ?? null,
      writeLayer: async (bytes) => {
        layersWritten++;
        return GraphLayer.open(new MemorySource(`layer-${++layerIds}`, bytes));
      },
      saveChain: async (layers) => {
        chain = layers;
      },
    },
    tips,
    opts.layerMax,
  );
  return { graph: new PersistedGraph(chain), added, layersWritten };
}

/** Every answer the fixture holds, computed through `persisted`. */
async function checkAnswers(store: ObjectStore, persisted: PersistedGraph | null) {
  for (const [key, expected] of Object.entries(fixture.logs)) {
    const [rev, path] = key.split(" ") as ["tip" | "older", string];
    const page = await logPage(graphOn(store, persisted), [revs[rev]], { limit: 1000, path: path.split("/") });
    expect(
      page.commits.map((c) => c.oid),
      `log ${key}`,
    ).toEqual(expected);
  }
  for (const [rev, expected] of Object.entries(fixture.last)) {
    const found = await lastCommitsOfTree(graphOn(store, persisted), revs[rev as "tip"]);
    expect(found?.complete).toBe(true);
    expect(Object.fromEntries(found!.paths), `last commits at ${rev}`).toEqual(expected);
    // One directory's entries at a time, as a tree page asks for them.
    const dirs = new Set(Object.keys(expected).map((p) => p.slice(0, Math.max(0, p.lastIndexOf("/")))));
    for (const dir of dirs) {
      const listed = await lastCommitsOfTree(graphOn(store, persisted), revs[rev as "tip"], { dir: dir ? dir.split("/") : [] });
      const want = Object.fromEntries(
        Object.entries(expected).filter(([p]) => p.slice(0, Math.max(0, p.lastIndexOf("/"))) === dir),
      );
      expect(listed?.complete).toBe(true);
      expect(Object.fromEntries(listed!.paths), `last commits of ${dir || "the root"} at ${rev}`).toEqual(want);
    }
  }
  for (const [key, expected] of Object.entries(fixture.blame)) {
    const [rev, path] = key.split(" ") as ["tip" | "older", string];
    const result = await blame(graphOn(store, persisted), revs[rev], path.split("/"));
    expect(
      result.lines.map((l) => [l.commit, l.line]),
      `blame ${key}`,
    ).toEqual(expected);
  }
}

describe("changed-path Bloom filters", () => {
  it("hash with git's murmur3", () => {
    // git's t0095-bloom.sh
    expect(murmur3(0, encoder.encode(""))).toBe(0);
    expect(murmur3(0, encoder.encode("Hello world!"))).toBe(0x627b0c2c);
    expect(murmur3(0, encoder.encode("The quick brown fox jumps over the lazy dog"))).toBe(0x2e4ff723);
  });

  it("list the paths git lists and equal git's own filters byte for byte", async () => {
    const store = await openStore();
    const { graph } = await build(store, [revs.tip, ...fixture.commits.map((c) => c.oid)]);
    expect(graph.count).toBe(fixture.commits.length);
    for (const c of fixture.commits) {
      const pos = await graph.find(c.oid);
      expect(pos).toBeGreaterThanOrEqual(0);
      const rec = await graph.commit(pos);
      expect(rec.tree).toBe(c.tree);
      expect(rec.time).toBe(c.time);
      expect(await Promise.all(rec.parents.map(async (p) => (await graph.commit(p)).oid))).toEqual(c.parents);
      const paths = await changedPaths(
        store,
        c.parents[0] ? (await graphOn(store, null).commit(c.parents[0])).tree : null,
        c.tree,
      );
      expect(paths?.sort(), `changed paths of ${c.oid}`).toEqual(
        [...(fixture.changed as Record<string, string[]>)[c.oid]!].sort(),
      );
      const filter = await graph.filter(pos);
      expect(hex(filter), `filter of ${c.oid}`).toBe((fixture.gitFilters as Record<string, string>)[c.oid]);
      for (const p of paths!) expect(filterMayContain(filter, bloomKeysOf(p))).toBe(true);
    }
  });

  it("number generations from 1 at the roots, one more than the highest parent", async () => {
    const store = await openStore();
    const { graph } = await build(store, [revs.tip]);
    const gen = new Map<string, number>();
    const byOid = new Map(fixture.commits.map((c) => [c.oid, c]));
    const genOf = (oid: string): number => {
      const known = gen.get(oid);
      if (known) return known;
      const g = 1 + Math.max(0, ...byOid.get(oid)!.parents.map(genOf));
      gen.set(oid, g);
      return g;
    };
    for (let pos = 0; pos < graph.count; pos++) {
      const c = await graph.commit(pos);
      expect(c.generation).toBe(genOf(c.oid));
    }
  });
});

describe("walks against git", () => {
  it("answer as git does without a persisted graph", async () => {
    await checkAnswers(await openStore(), null);
  });

  it("answer as git does with a full graph, and read no commit object for covered commits", async () => {
    const store = await openStore();
    const { graph } = await build(store, [revs.tip]);
    await checkAnswers(store, graph);
    const g = graphOn(store, graph);
    const page = await logPage(g, [revs.tip], { limit: 1000, path: ["a", "b", "c", "d", "e", "deep.txt"] });
    expect(page.commits.length).toBe(fixture.logs["tip a/b/c/d/e/deep.txt"].length);
    expect(g.reads.objects).toBe(0);
    expect(g.reads.graph).toBeGreaterThan(0);
  });

  it("answer as git does with a graph of many layers, built in steps (incremental: only new commits)", async () => {
    const store = await openStore();
    const first = await build(store, [revs.older], { layerMax: 7 });
    const second = await build(store, [revs.tip], { on: first.graph, layerMax: 7 });
    expect(first.added + second.added).toBe(second.graph.count);
    expect(second.added).toBeLessThan(second.graph.count);
    expect(second.graph.layers.length).toBeGreaterThan(2);
    // Nothing new: nothing written.
    const again = await build(store, [revs.tip], { on: second.graph, layerMax: 7 });
    expect(again.added).toBe(0);
    expect(again.layersWritten).toBe(0);
    await checkAnswers(store, second.graph);
  });

  it("answer as git does when the graph covers only part of history", async () => {
    const store = await openStore();
    const { graph } = await build(store, [revs.older]);
    expect(graph.count).toBeLessThan(fixture.commits.length);
    await checkAnswers(store, graph);
  });

  it("never change an answer on a false positive: filters that all say 'maybe'", async () => {
    const store = await openStore();
    const { graph } = await build(store, [revs.tip]);
    // The same graph whose every filter is "too many changes" (all bits set).
    const saturated = Object.create(graph) as PersistedGraph;
    saturated.filter = async () => Uint8Array.of(0xff);
    await checkAnswers(store, saturated);
    // And filters that say "maybe" to one path they do not hold, on purpose: still right.
    const key = bloomKey("src/main.c");
    const noisy = Object.create(graph) as PersistedGraph;
    noisy.filter = async (pos: number) => {
      const f = (await graph.filter(pos)).slice();
      if (f.length > 1) for (const h of key) f[(h % (f.length * 8)) >>> 3]! |= 1 << ((h % (f.length * 8)) & 7);
      return f;
    };
    await checkAnswers(store, noisy);
  });

  it("tell which commits a tip reaches, stopping at generation numbers", async () => {
    const store = await openStore();
    const { graph } = await build(store, [revs.tip, ...fixture.commits.map((c) => c.oid)]);
    const parents = new Map(fixture.commits.map((c) => [c.oid, c.parents]));
    const reached = new Set<string>();
    const stack = [revs.older];
    while (stack.length) {
      const oid = stack.pop()!;
      if (reached.has(oid)) continue;
      reached.add(oid);
      stack.push(...parents.get(oid)!);
    }
    for (const c of fixture.commits) {
      for (const g of [graphOn(store, null), graphOn(store, graph)]) {
        expect(await isReachable(g, c.oid, [revs.older]), c.oid).toBe(reached.has(c.oid));
      }
    }
  });

  it("skip the trees of commits that the filter rules out", async () => {
    const store = await openStore();
    const { graph } = await build(store, [revs.tip]);
    const path = ["a", "b", "c", "d", "e", "deep.txt"];
    const reads = { without: 0, with: 0 };
    const count = (g: CommitGraph, k: "without" | "with") => {
      const read = g.store.read.bind(g.store);
      g.store.read = async (oid: Oid) => {
        const o = await read(oid);
        if (o.type === "tree") reads[k]++;
        return o;
      };
    };
    const storeA = new ObjectStore(store.packs);
    const storeB = new ObjectStore(store.packs);
    const a = new CommitGraph(storeA);
    const b = graphOn(storeB, graph);
    count(a, "without");
    count(b, "with");
    await logPage(a, [revs.tip], { limit: 1000, path });
    await logPage(b, [revs.tip], { limit: 1000, path });
    // Both walks remember every tree on the path (a commit reads only the trees that differ from
    // the last one looked at: 210 reads before, 68 now); the filters still save a third of those.
    expect(reads.with).toBeLessThan(reads.without * 0.7);
  });
});

describe("background walks", () => {
  it("run in the push worker, not in the page's isolate, one per repository and commit", async () => {
    const forge = await newForge("walks");
    const r = new RepoBuilder();
    let tip = r.commit({ files: { "old.txt": "old\n", "hot.txt": "0\n", "dir/deep/x.txt": "x\n" }, message: "start" });
    const root = tip;
    for (let i = 1; i < 60; i++)
      tip = r.commit({
        files: { "old.txt": "old\n", "hot.txt": `${i}\n`, "dir/deep/x.txt": "x\n" },
        parents: [tip],
        message: `edit ${i}`,
      });
    await importRepo(forge.slug, "walks", r, { "refs/heads/main": tip });
    const db = await tenantD1(forge);
    const row = await db.prepare("SELECT repo_id FROM projects WHERE name = 'walks'").first<{ repo_id: string }>();
    const repo = { tenantId: forge.id, repoId: row!.repo_id };

    // Two pages at once (held until both have looked for a stored answer, so that neither can
    // finish first): one request to the push worker; the page's own graph reads nothing.
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const gated = (extra: Partial<Env>) =>
      ({
        ...env,
        ...extra,
        OBJECTS: new Proxy(env.OBJECTS, {
          get(target, prop) {
            if (prop !== "get") return Reflect.get(target, prop).bind(target);
            return async (key: string, opts?: R2GetOptions) => {
              if (!key.includes("/derived/last-commit/")) return target.get(key, opts);
              await gate;
              return null;
            };
          },
        }),
      }) as Env;
    const asked: string[] = [];
    const push = env.PUSH!;
    const counting = gated({
      PUSH: {
        fetch: (url: string, init?: RequestInit) => {
          asked.push(url);
          return push.fetch(url, init);
        },
      } as unknown as Fetcher,
    });
    const snapshot = await currentSnapshot(env, repo);
    const pageGraph = new CommitGraph(await openRepoStore(env.OBJECTS, repo, snapshot));
    const reads: Oid[] = [];
    const read = pageGraph.store.read.bind(pageGraph.store);
    pageGraph.store.read = async (oid: Oid) => {
      reads.push(oid);
      return read(oid);
    };
    const waits: Promise<unknown>[] = [];
    const pages = [0, 1].map(() =>
      lastCommitsFor(counting, repo, pageGraph, tip, [], ["old.txt", "hot.txt", "dir"], (p) => void waits.push(p)),
    );
    release();
    const [a, b] = await Promise.all(pages);
    await Promise.all(waits);
    expect(asked).toHaveLength(1);
    expect(a).toEqual(b);
    expect(a!.complete).toBe(true);
    expect(a!.entries).toEqual({ "old.txt": root, "hot.txt": tip, dir: root });
    expect(reads).toEqual([]);
    // The push worker built the commit-graph on its way (the repository was imported, not pushed).
    expect((await readChain(env, repo))?.count).toBe(60);

    // The push worker's side, twice at once for another commit: the second joins the first's walk.
    let open = () => {};
    const held = new Promise<void>((r) => (open = r));
    const gate2 = gated({});
    const objects = gate2.OBJECTS;
    gate2.OBJECTS = new Proxy(objects, {
      get(target, prop) {
        if (prop !== "get") return Reflect.get(target, prop);
        return async (key: string, opts?: R2GetOptions) => {
          if (!key.includes("/derived/last-commit/")) return target.get(key, opts);
          await held;
          return null;
        };
      },
    });
    const older = (await new CommitGraph(pageGraph.store).commit(tip)).parents[0]!;
    const runs = [0, 1].map(() => runLastCommitsWalk(gate2, repo, older, 1000, (p) => void waits.push(p)));
    open();
    const answers = await Promise.all(runs);
    expect(answers.map((x) => x.kind)).toEqual(["complete", "complete"]);
    expect(answers.map((x) => Boolean(x.joined))).toEqual([false, true]);
    // Bad input gets a precise 400.
    const bad = await push.fetch(`http://push/internal/repos/${repo.tenantId}/${repo.repoId}/last-commits/nope`, {
      method: "POST",
    });
    expect(bad.status).toBe(400);
  });
});
