// What cold pages at old commits cost on a history with many merges: the walks behind the tree
// page's last-commit column, blame and the log of a path pass over merges that the changed-path
// Bloom filters rule out (no tree read), take commits the persisted graph holds as present (no
// index lookup), and a commit named by id is checked against the refs with one marking of the
// graph per refs version. Answers are compared with the same walks without a graph (which
// commit-graph.test.ts checks against git).
import { describe, expect, it } from "vitest";
import { blame } from "../../src/git/blame";
import { Budget } from "../../src/git/budget";
import { CommitGraph } from "../../src/git/commit-graph";
import { logPage } from "../../src/git/history";
import { lastCommitsOfTree } from "../../src/git/last-commit";
import { isReachable } from "../../src/git/negotiate";
import { reachableFromRefs } from "../../src/services/reachable";
import { RepoBuilder } from "./git-fixture";
import { countedGraph, memoryStore, persistedGraph } from "./graph-fixture";

const MERGES = 40;

/**
 * main: a root with README.md, LICENSE and src/; then per round a side branch that edits
 * src/a.txt, a main commit that edits src/b.txt, and a merge of the two (first parent main).
 * `gone` is a branch that no ref names any more.
 */
function mergeHistory() {
  const r = new RepoBuilder();
  const files = (a: number, b: number) => ({
    "README.md": "read me\n",
    LICENSE: "free\n",
    "src/a.txt": `${a}\n`,
    "src/b.txt": `${b}\n`,
  });
  const root = r.commit({ files: files(0, 0), message: "root" });
  let main = root;
  for (let i = 1; i <= MERGES; i++) {
    const side = r.commit({ files: files(i, i - 1), parents: [main], message: `side ${i}` });
    main = r.commit({ files: files(i - 1, i), parents: [main], message: `main ${i}` });
    main = r.commit({ files: files(i, i), parents: [main, side], message: `merge ${i}` });
  }
  const gone = r.commit({ files: { ...files(MERGES, MERGES), "gone.txt": "x\n" }, parents: [main], message: "gone" });
  return { r, root, main, gone };
}

describe("cold walks over merges", () => {
  it("last commits of a directory: merges the filters rule out read no tree, covered commits need no lookup", async () => {
    const { r, root, main } = mergeHistory();
    const store = await memoryStore(r, "merges");
    const persisted = await persistedGraph(store, [main], "merges");
    const plain = await lastCommitsOfTree(new CommitGraph(store), main, { dir: [] });
    const { graph, counts } = countedGraph(store, persisted);
    const found = await lastCommitsOfTree(graph, main, { dir: [] });
    expect(found?.complete).toBe(true);
    expect(Object.fromEntries(found!.paths)).toEqual({ "README.md": root, LICENSE: root, src: main });
    expect(found!.paths).toEqual(plain!.paths);
    // Without the filters on merges each of the 40 merges reads its tree and both parents' (122
    // trees); with them, the few commits near the tip that changed src/ (the walk compares a few
    // ahead, side by side) and the root.
    expect(counts.trees).toBeLessThan(MERGES / 2);
    expect(counts.lookups).toBe(0);
    // The same below the root: src/ at the tip.
    const src = await lastCommitsOfTree(countedGraph(store, persisted).graph, main, { dir: ["src"] });
    const srcPlain = await lastCommitsOfTree(new CommitGraph(store), main, { dir: ["src"] });
    expect(src!.paths).toEqual(srcPlain!.paths);
    // b.txt as the merge has it came from main's own commit (a.txt from the side branch's).
    const [mainSide, side] = (await new CommitGraph(store).commit(main)).parents;
    expect(src!.paths.get("src/b.txt")).toBe(mainSide);
    expect(src!.paths.get("src/a.txt")).toBe(side);
  });

  it("blame and the log of a path: merges that left the file as in the first parent read no tree", async () => {
    const { r, root, main } = mergeHistory();
    const store = await memoryStore(r, "merges");
    const persisted = await persistedGraph(store, [main], "merges");
    for (const path of [["README.md"], ["src", "b.txt"]]) {
      const log = countedGraph(store, persisted);
      const page = await logPage(log.graph, [main], { limit: 1000, path });
      const plainLog = await logPage(new CommitGraph(store), [main], { limit: 1000, path });
      expect(page.commits.map((c) => c.oid)).toEqual(plainLog.commits.map((c) => c.oid));
      const blamed = countedGraph(store, persisted);
      const result = await blame(blamed.graph, main, path);
      const plainBlame = await blame(new CommitGraph(store), main, path);
      expect(result.lines).toEqual(plainBlame.lines);
      if (path[0] === "README.md") {
        expect(page.commits.map((c) => c.oid)).toEqual([root]);
        expect(result.lines.map((l) => l.commit)).toEqual([root]);
        // The file never changed after the root: no merge is looked into.
        expect(log.counts.trees).toBeLessThan(MERGES / 4);
        expect(blamed.counts.trees).toBeLessThan(MERGES / 4);
        // Blame jumps down the first parents the filters rule out, by graph position: few commit
        // records decoded, and a sixteenth of a step each, so that 20 steps finish what takes
        // 121 commits.
        expect(blamed.graph.reads.graph).toBeLessThan(MERGES / 4);
        const bounded = await blame(countedGraph(store, persisted).graph, main, path, { budget: new Budget(Infinity, 20) });
        expect(bounded.complete).toBe(true);
        expect(bounded.lines).toEqual(plainBlame.lines);
      }
      expect(log.counts.lookups).toBe(0);
      expect(blamed.counts.lookups).toBe(0);
    }
  });

  it("commits named by id: one marking of the graph per refs version answers every commit, as a walk would", async () => {
    const { r, main, gone } = mergeHistory();
    const store = await memoryStore(r, "merges");
    // The graph was built while `gone` still had its branch; now only main names a commit.
    const persisted = await persistedGraph(store, [main, gone], "merges");
    const { graph } = countedGraph(store, persisted);
    const src = {
      repo: { tenantId: "t-reach", repoId: "r-reach" },
      snapshot: { version: 7, head: "refs/heads/main", refs: [{ name: "refs/heads/main", oid: main }], packs: [] },
      store,
      graph,
    };
    const all = [...r.objects].filter(([, o]) => o.type === "commit").map(([oid]) => oid);
    for (const oid of all) {
      const walked = await isReachable(new CommitGraph(store), oid, [main]);
      expect(await reachableFromRefs(src, oid), oid).toBe(walked);
    }
    expect(await reachableFromRefs(src, gone)).toBe(false);
    // Ids only: no commit's record was decoded for the checks (a walk decodes every commit above
    // the one asked for).
    expect(graph.reads.graph).toBe(0);
    expect(graph.reads.objects).toBe(0);

    // A tip the graph does not hold yet (pushed after it was built): walked as before, still right.
    const pushed = r.commit({ files: { "README.md": "new\n" }, parents: [main], message: "pushed" });
    const store2 = await memoryStore(r, "merges");
    const late = countedGraph(store2, persisted);
    const src2 = {
      ...src,
      snapshot: { ...src.snapshot, version: 8, refs: [{ name: "refs/heads/main", oid: pushed }] },
      store: store2,
      graph: late.graph,
    };
    expect(await reachableFromRefs(src2, main)).toBe(true);
    expect(await reachableFromRefs(src2, gone)).toBe(false);
  });
});
