// What a comparison of two commits far apart costs, counted, not timed: its merge base and commit
// range take the commits the persisted graph holds as present (no index lookup), and its tree diff
// reads the trees of one level side by side (sequential storage rounds grow with the depth of the
// trees, not their number). Answers are checked against a brute force of `git log A..B` and the
// walks without a graph (which commit-graph.test.ts checks against git).
import { describe, expect, it } from "vitest";
import { Budget } from "../../src/git/budget";
import { CommitGraph } from "../../src/git/commit-graph";
import { logPage } from "../../src/git/history";
import { mergeBase, rangeLog } from "../../src/git/ancestry";
import { ObjectStore, Pack } from "../../src/git/object-store";
import type { Oid } from "../../src/git/oid";
import { RangedPackIndex } from "../../src/git/pack-index-ranged";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource, type RangeSource } from "../../src/git/range-source";
import { diffTrees } from "../../src/git/tree-diff";
import { COMPARE_FILES } from "../../src/routes/web/source/compare";
import { Browser, newForge } from "./browser";
import { importRepo, RepoBuilder } from "./git-fixture";
import { countedGraph, memoryStore, persistedGraph } from "./graph-fixture";

/** Unique names: the isolate's page caches are keyed by them. */
const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

/**
 * A source that counts sequential rounds of reads: reads started before any of them finished share
 * a round (as the request meter counts round trips). Each read answers on a later turn of the
 * event loop, so reads started side by side are all out before the first one finishes.
 */
class RoundSource implements RangeSource {
  rounds = 0;
  private finished = 0;
  constructor(private readonly inner: MemorySource) {}
  get id(): string {
    return this.inner.id;
  }
  get size(): number {
    return this.inner.size;
  }
  async read(start: number, end: number): Promise<Uint8Array> {
    const depth = this.finished + 1;
    this.rounds = Math.max(this.rounds, depth);
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.finished = Math.max(this.finished, depth);
    return this.inner.read(start, end);
  }
}

/** The repository's objects in one pack read by ranges, its index too, both counting rounds. */
async function rangedStore(r: RepoBuilder, name: string) {
  const pack = r.pack().pack;
  const indexed = await indexPack(new MemorySource(`${name}-scan`, pack));
  const packSource = new RoundSource(new MemorySource(`${name}-${run}.pack`, pack));
  const indexSource = new RoundSource(new MemorySource(`${name}-${run}.idx`, indexed.index));
  const index = await RangedPackIndex.open(indexSource);
  const store = new ObjectStore([new Pack(name, index, packSource)]);
  const rounds = () => packSource.rounds + indexSource.rounds;
  return { store, rounds };
}

/**
 * main: rounds of a side branch forked a few commits back, main commits, and a merge (first
 * parent main); `base` is main part way up, `feature` a branch off it that main never merged.
 */
function history() {
  const r = new RepoBuilder();
  const files = (i: number) => ({ "README.md": "read me\n", "src/n.txt": `${i}\n` });
  let main = r.commit({ files: files(0), message: "root" });
  let base = main;
  let feature = main;
  for (let i = 1; i <= 30; i++) {
    const side = r.commit({ files: { ...files(i), [`side/${i}.txt`]: "s\n" }, parents: [main], message: `side ${i}` });
    main = r.commit({ files: files(i), parents: [main], message: `main ${i}` });
    main = r.commit({ files: { ...files(i), [`side/${i}.txt`]: "s\n" }, parents: [main, side], message: `merge ${i}` });
    if (i === 10) {
      base = main;
      feature = r.commit({ files: { ...files(i), "feature.txt": "f\n" }, parents: [main], message: "feature" });
    }
  }
  return { r, main, base, feature };
}

/** `git log include --not exclude` by definition: reachable from one, not from the other, newest first. */
async function bruteRange(graph: CommitGraph, include: Oid, exclude: Oid): Promise<Oid[]> {
  const reach = async (tip: Oid) => {
    const seen = new Map<Oid, number>();
    const stack = [tip];
    while (stack.length) {
      const oid = stack.pop()!;
      if (seen.has(oid)) continue;
      const c = await graph.commit(oid);
      seen.set(oid, c.time);
      stack.push(...c.parents);
    }
    return seen;
  };
  const inc = await reach(include);
  const exc = await reach(exclude);
  return [...inc]
    .filter(([oid]) => !exc.has(oid))
    .sort((a, b) => b[1] - a[1])
    .map(([oid]) => oid);
}

describe("comparing two commits far apart", () => {
  it("merge base and range: commits the graph holds need no index lookup, answers as without it", async () => {
    const { r, main, base, feature } = history();
    const store = await memoryStore(r, "compare-history");
    const persisted = await persistedGraph(store, [main, feature], "compare");
    for (const [a, b] of [
      [base, main],
      [feature, main],
      [main, feature],
    ] as const) {
      const plain = new CommitGraph(store);
      const withGraph = countedGraph(store, persisted);
      const mb = await mergeBase(withGraph.graph, a, b);
      expect(mb).toBe(await mergeBase(plain, a, b));
      expect(mb).toBe(base);
      const range = await rangeLog(withGraph.graph, [b], [a], 1000);
      expect(range.more).toBe(false);
      expect(range.commits.map((c) => c.oid)).toEqual(await bruteRange(plain, b, a));
      expect(range.commits.map((c) => c.oid)).toEqual((await rangeLog(plain, [b], [a], 1000)).commits.map((c) => c.oid));
      // Every commit here is in the graph: none is looked up in the pack index.
      expect(withGraph.counts.lookups).toBe(0);
    }
  });

  it("tree diff: the trees of one level are read side by side, in sorted batches of lookups", async () => {
    const r = new RepoBuilder();
    // 3 levels of 6 directories, a file in each directory at the bottom; the second commit
    // changes every file (216 files, 259 trees a side).
    const files = (v: string) => {
      const out: Record<string, string> = {};
      const dirs = ["a", "b", "c", "d", "e", "f"];
      for (const x of dirs) for (const y of dirs) for (const z of dirs) out[`${x}/${y}/${z}/f.txt`] = `${x}${y}${z} ${v}\n`;
      return out;
    };
    const one = r.commit({ files: files("one"), message: "one" });
    const two = r.commit({ files: files("two"), parents: [one], message: "two" });
    const plain = await memoryStore(r, "deep-diff");
    const treeOf = async (c: Oid) => (await new CommitGraph(plain).commit(c)).tree;
    const [ta, tb] = [await treeOf(one), await treeOf(two)];
    const expected = await diffTrees(plain, ta, tb);
    expect(expected.changes.length).toBe(6 ** 3);
    const { store, rounds } = await rangedStore(r, "deep-diff");
    const got = await diffTrees(store, ta, tb);
    expect(got).toEqual(expected);
    // One tree after another: a lookup and two reads each (header, entry), over 1,000 rounds.
    // Side by side: a few rounds per level (index pages, then batches of reads), 4 levels.
    expect(rounds()).toBeLessThan(60);
  });

  it("log of a path: a commit that changed another part of the tree reads only the trees that differ", async () => {
    const r = new RepoBuilder();
    const deep = ["a", "b", "c", "f.txt"];
    let tip = r.commit({ files: { "a/b/c/f.txt": "0\n", "a/g.txt": "0\n", "z.txt": "0\n" }, message: "root" });
    const changed = [tip];
    for (let i = 1; i <= 40; i++) {
      const f = `${Math.floor(i / 10)}\n`;
      tip = r.commit({
        files: { "a/b/c/f.txt": f, "a/g.txt": `${i % 3}\n`, "z.txt": `${i}\n` },
        parents: [tip],
        message: `${i}`,
      });
      if (i % 10 === 0) changed.unshift(tip);
    }
    const store = await memoryStore(r, "deep-log");
    const { graph, counts } = countedGraph(store, null);
    const page = await logPage(graph, [tip], { limit: 1000, path: deep });
    expect(page.commits.map((c) => c.oid)).toEqual(changed);
    // Each of the 41 commits has a root of its own. Down the whole path every time: 4 trees a
    // commit (164). Remembering every tree on the way: its root, a/ when a/g.txt changed too,
    // and the whole path where f.txt changed.
    expect(counts.trees).toBeLessThan(100);
  });

  it("tree diff by pages: the pages together are the whole diff, and a page reads only its own trees", async () => {
    const r = new RepoBuilder();
    const files = (v: string, extra: Record<string, string>) => {
      const out: Record<string, string> = { ...extra };
      for (const x of ["a", "b", "c", "d"])
        for (const y of ["p", "q", "r"]) for (const z of ["1", "2"]) out[`${x}/${y}/${z}.txt`] = `${x}${y}${z} ${v}\n`;
      return out;
    };
    // Changed, added, deleted files and directories, a file that became a directory, names
    // whose byte order differs from their directories' (a.txt, a-b, a/).
    const one = r.commit({ files: files("one", { "a.txt": "x\n", "a-b": "y\n", "gone/f": "z\n", e: "file\n" }), message: "one" });
    const two = r.commit({
      files: files("two", { "a.txt": "x2\n", "new/deep/f": "n\n", "e/inside": "dir\n" }),
      parents: [one],
      message: "two",
    });
    const store = await memoryStore(r, "paged-diff");
    const treeOf = async (c: Oid) => (await new CommitGraph(store).commit(c)).tree;
    const [ta, tb] = [await treeOf(one), await treeOf(two)];
    const whole = await diffTrees(store, ta, tb, { renames: false });
    expect(whole.truncated).toBe(false);
    for (const limit of [1, 3, 7]) {
      const paged: string[] = [];
      let after: string | undefined;
      for (let n = 0; n < 100; n++) {
        const page = await diffTrees(store, ta, tb, { renames: false, limit, after });
        paged.push(...page.changes.map((c) => `${c.status} ${c.path}`));
        if (!page.truncated) break;
        after = page.last;
      }
      expect(paged, `pages of ${limit}`).toEqual(whole.changes.map((c) => `${c.status} ${c.path}`));
    }
    // The first page of 3 reads the trees down to its files, not the whole diff's.
    const full = countedGraph(store, null);
    await diffTrees(full.graph.store, ta, tb);
    const first = countedGraph(store, null);
    await diffTrees(first.graph.store, ta, tb, { limit: 3 });
    expect(first.counts.trees).toBeLessThan(full.counts.trees / 2);
  });

  it("the compare page lists a page of changed files and links to the next, which lists the rest", async () => {
    const forge = await newForge("cmp");
    const r = new RepoBuilder();
    const n = COMPARE_FILES + 20;
    const files = (v: string) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i % 7}/f${String(i).padStart(3, "0")}.txt`, `${i} ${v}\n`]));
    const one = r.commit({ files: files("one"), message: "one" });
    const two = r.commit({ files: files("two"), parents: [one], message: "two" });
    await importRepo(forge.slug, "wide", r, { "refs/heads/main": two, "refs/heads/old": one });
    const get = async (path: string) => {
      const res = await new Browser(forge.host).get(path);
      expect(res.status, path).toBe(200);
      return res.text();
    };
    const listed = (body: string) => [...body.matchAll(/<td><a href="#f\d+">([^<]+)<\/a>/g)].map((m) => m[1]!);
    const first = await get("/p/wide/source/compare/old...main");
    expect(first).toContain(`${COMPARE_FILES}+ files changed`);
    const next = /<p class="next"><a href="([^"]+)">/.exec(first)?.[1]?.replaceAll("&amp;", "&");
    expect(next).toBe(`/p/wide/source/compare/old...main?after=${encodeURIComponent(listed(first).at(-1)!)}`);
    const second = await get(next!);
    expect(second).not.toContain('class="next"');
    const all = Object.keys(files("")).sort();
    expect([...listed(first), ...listed(second)]).toEqual(all);
  });

  it("log of a path on one line of history: passes the commits the filters rule out without decoding them", async () => {
    const r = new RepoBuilder();
    let tip = r.commit({ files: { "src/x.txt": "0\n", "other.txt": "0\n" }, message: "root" });
    const changed = [tip];
    for (let i = 1; i <= 200; i++) {
      const x = `${Math.floor(i / 70)}\n`;
      tip = r.commit({ files: { "src/x.txt": x, "other.txt": `${i}\n` }, parents: [tip], message: `${i}` });
      if (i % 70 === 0) changed.unshift(tip);
    }
    const store = await memoryStore(r, "line-log");
    const persisted = await persistedGraph(store, [tip], "compare");
    const plain = await logPage(new CommitGraph(store), [tip], { limit: 50, path: ["src", "x.txt"] });
    expect(plain.commits.map((c) => c.oid)).toEqual(changed);
    const { graph } = countedGraph(store, persisted);
    const budget = new Budget(Number.POSITIVE_INFINITY, 1000);
    const page = await logPage(graph, [tip], { limit: 50, path: ["src", "x.txt"], budget });
    expect(page.commits.map((c) => c.oid)).toEqual(changed);
    expect(page.next).toBeNull();
    expect(page.scanned).toBe(201);
    // Commit by commit: 201 records decoded. Passed by position: a step each all the same, so
    // that a page ends where a walk commit by commit would.
    expect(graph.reads.graph).toBeLessThan(20);
    expect(budget.used).toBeGreaterThanOrEqual(201);
    expect(budget.used).toBeLessThan(220);
  });

  it("log of a path on one line of history: reads the trees of the commits ahead together, a level at a time", async () => {
    const r = new RepoBuilder();
    const path = ["a", "b", "c", "f.txt"];
    let tip = r.commit({ files: { "a/b/c/f.txt": "0\n", "z.txt": "0\n" }, message: "root" });
    const changed = [tip];
    for (let i = 1; i <= 90; i++) {
      // f.txt changes every third commit; z.txt every commit (roots differ each time).
      const f = `${Math.floor(i / 3)}\n`;
      tip = r.commit({ files: { "a/b/c/f.txt": f, "z.txt": `${i}\n` }, parents: [tip], message: `${i}` });
      if (i % 3 === 0) changed.unshift(tip);
    }
    const plain = await memoryStore(r, "ahead-log");
    const persisted = await persistedGraph(plain, [tip], "ahead");
    const want = await logPage(new CommitGraph(plain), [tip], { limit: 50, path });
    expect(want.commits.map((c) => c.oid)).toEqual(changed);
    const { store, rounds } = await rangedStore(r, "ahead-log");
    const graph = new CommitGraph(store);
    graph.usePersisted(async () => persisted);
    const budget = new Budget(Number.POSITIVE_INFINITY, 1000);
    const page = await logPage(graph, [tip], { limit: 50, path, budget });
    expect(page.commits.map((c) => c.oid)).toEqual(changed);
    expect(page.next).toEqual(want.next);
    expect(page.scanned).toBe(want.scanned);
    // One commit after another (its path, 4 trees, then its parent's; each tree a lookup, then
    // reads): 310 sequential rounds. Together, a level at a time for 16 commits: 18.
    expect(rounds()).toBeLessThan(40);
  });
});
