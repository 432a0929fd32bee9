// The source browser's plumbing on small repositories built in memory: line diffs (against a
// brute-force LCS), hunks as git prints them, history pages and their cursors, merge bases,
// per-entry last commits (budgets, incremental answers), blame across merges and renames.
import { describe, expect, it } from "vitest";
import { RepoBuilder } from "../../test/worker/git-fixture";
import { blame } from "./blame";
import { Budget } from "./budget";
import { CommitGraph } from "./commit-graph";
import { diffLines, splitLines } from "./diff";
import { hunksText, makeHunks } from "./hunks";
import { diffTrees } from "./tree-diff";
import { logPage } from "./history";
import { mergeBase, rangeLog } from "./ancestry";
import { lastCommitsOfTree } from "./last-commit";
import { ObjectStore, Pack } from "./object-store";
import { PackIndex } from "./pack-index";
import { indexPack } from "./pack-indexer";
import { MemorySource } from "./range-source";
import { decodePathSegments } from "./tree-path";
import { escapeHtml, highlightLines } from "../views/highlight";
import { tarGzStream, zipStream } from "./archive";
import { crc32 } from "./crc32";
import { gunzipSync, inflateRawSync } from "node:zlib";

async function graphOf(repo: RepoBuilder): Promise<CommitGraph> {
  const { pack } = repo.pack();
  const source = new MemorySource(`mem-${Math.random()}`, pack);
  const indexed = await indexPack(source);
  return new CommitGraph(new ObjectStore([new Pack("p", new PackIndex(indexed.index), source)]));
}

function lcs(a: string[], b: string[]): number {
  const dp = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      dp[i]![j] = a[i] === b[j] ? dp[i + 1]![j + 1]! + 1 : Math.max(dp[i + 1]![j]!, dp[i]![j + 1]!);
  return dp[0]![0]!;
}

describe("line diffs", () => {
  it("finds a longest common subsequence and an edit that turns one side into the other", () => {
    let seed = 42;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    for (let round = 0; round < 300; round++) {
      const a = Array.from({ length: rand(30) }, () => "abcde"[rand(5)]!);
      const b = Array.from({ length: rand(30) }, () => "abcde"[rand(5)]!);
      const chunks = diffLines(a, b);
      const rebuilt: string[] = [];
      let same = 0;
      for (const c of chunks) {
        if (c.equal) {
          expect(a.slice(c.aStart, c.aStart + c.aLen)).toEqual(b.slice(c.bStart, c.bStart + c.bLen));
          same += c.aLen;
        }
        rebuilt.push(...b.slice(c.bStart, c.bStart + c.bLen));
      }
      expect(rebuilt).toEqual(b);
      expect(same).toBe(lcs(a, b));
    }
  });

  it("prints hunks as git does, including a missing newline at the end", () => {
    const a = splitLines("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n");
    const b = splitLines("a\nB\nc\nd\ne\nf\ng\nh\ni\nj");
    expect(hunksText(makeHunks(a, b))).toBe(
      "@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n@@ -7,4 +7,4 @@ f\n g\n h\n i\n-j\n+j\n\\ No newline at end of file\n",
    );
    expect(hunksText(makeHunks(splitLines(""), splitLines("x\n")))).toBe("@@ -0,0 +1 @@\n+x\n");
  });

  it("slides a change down past repeated lines, as xdiff does", () => {
    const chunks = diffLines(["x", "}", "y"], ["x", "}", "z", "}", "y"]);
    const added = chunks.filter((c) => !c.equal).map((c) => [c.bStart, c.bLen]);
    expect(added).toEqual([[2, 2]]);
  });
});

describe("tree diffs", () => {
  it("lists additions, deletions, changes and exact renames in git's order", async () => {
    const r = new RepoBuilder();
    const c1 = r.commit({ files: { "a.txt": "a\n", "d/x.txt": "x\n", "d/y.txt": "y\n", "e.txt": "e\n" }, message: "1" });
    const c2 = r.commit({
      files: { "a.txt": "A\n", "d/x.txt": "x\n", "moved.txt": "y\n", "n.txt": "n\n" },
      parents: [c1],
      message: "2",
    });
    const g = await graphOf(r);
    const { changes } = await diffTrees(g.store, (await g.commit(c1)).tree, (await g.commit(c2)).tree);
    expect(changes.map((c) => `${c.status} ${c.oldPath ? `${c.oldPath} -> ` : ""}${c.path}`)).toEqual([
      "M a.txt",
      "D e.txt",
      "R d/y.txt -> moved.txt",
      "A n.txt",
    ]);
  });
});

/** main: m1 - m2 ----- merge - m4;  side: m2 - s1 - s2 (merged) */
function mergedHistory() {
  const r = new RepoBuilder();
  const m1 = r.commit({ files: { "f.txt": "1\n", "keep.txt": "k\n", "lib/a.js": "a\n" }, message: "m1" });
  const m2 = r.commit({ files: { "f.txt": "1\n2\n", "keep.txt": "k\n", "lib/a.js": "a\n" }, parents: [m1], message: "m2" });
  const s1 = r.commit({ files: { "f.txt": "1\n2\n", "keep.txt": "k\n", "lib/a.js": "a\nside\n" }, parents: [m2], message: "s1" });
  const m3 = r.commit({ files: { "f.txt": "1\n2\n3\n", "keep.txt": "k\n", "lib/a.js": "a\n" }, parents: [m2], message: "m3" });
  const s2 = r.commit({
    files: { "f.txt": "1\n2\n", "keep.txt": "k\n", "lib/a.js": "a\nside\nmore\n" },
    parents: [s1],
    message: "s2",
  });
  const merge = r.commit({
    files: { "f.txt": "1\n2\n3\n", "keep.txt": "k\n", "lib/a.js": "a\nside\nmore\n" },
    parents: [m3, s2],
    message: "merge",
  });
  const m4 = r.commit({
    files: { "f.txt": "1\n2\n3\n4\n", "keep.txt": "k\n", "lib/a.js": "a\nside\nmore\n" },
    parents: [merge],
    message: "m4",
  });
  return { r, m1, m2, s1, m3, s2, merge, m4 };
}

describe("history", () => {
  it("pages a log newest first and resumes from its cursor", async () => {
    const h = mergedHistory();
    const g = await graphOf(h.r);
    const all = await logPage(g, [h.m4], { limit: 100 });
    expect(all.commits.map((c) => c.oid)).toEqual([h.m4, h.merge, h.s2, h.m3, h.s1, h.m2, h.m1]);
    const seen: string[] = [];
    let starts = [h.m4];
    for (;;) {
      const page = await logPage(g, starts, { limit: 2 });
      seen.push(...page.commits.map((c) => c.oid));
      if (!page.next) break;
      starts = page.next;
    }
    expect(seen).toEqual(all.commits.map((c) => c.oid));
  });

  it("simplifies a path's history like git log -- path", async () => {
    const h = mergedHistory();
    const g = await graphOf(h.r);
    const lib = await logPage(g, [h.m4], { limit: 100, path: ["lib", "a.js"] });
    expect(lib.commits.map((c) => c.oid)).toEqual([h.s2, h.s1, h.m1]);
    const f = await logPage(g, [h.m4], { limit: 100, path: ["f.txt"] });
    expect(f.commits.map((c) => c.oid)).toEqual([h.m4, h.m3, h.m2, h.m1]);
  });

  it("stops a path log when its budget is spent, with a cursor to go on", async () => {
    const h = mergedHistory();
    const g = await graphOf(h.r);
    const page = await logPage(g, [h.m4], { limit: 100, path: ["keep.txt"], budget: new Budget(Infinity, 3) });
    expect(page.timedOut).toBe(true);
    expect(page.commits).toEqual([]);
    const rest = await logPage(g, page.next!, { limit: 100, path: ["keep.txt"] });
    expect(rest.commits.map((c) => c.oid)).toEqual([h.m1]);
  });

  it("finds merge bases and ranges", async () => {
    const h = mergedHistory();
    const g = await graphOf(h.r);
    expect(await mergeBase(g, h.m3, h.s2)).toBe(h.m2);
    expect(await mergeBase(g, h.m4, h.s2)).toBe(h.s2);
    const range = await rangeLog(g, [h.s2], [h.m3], 10);
    expect(range.commits.map((c) => c.oid)).toEqual([h.s2, h.s1]);
  });
});

describe("last commits", () => {
  it("names, for each path, the commit that brought its content, through merges", async () => {
    const h = mergedHistory();
    const g = await graphOf(h.r);
    const found = (await lastCommitsOfTree(g, h.m4))!;
    expect(found.complete).toBe(true);
    expect(Object.fromEntries(found.paths)).toEqual({ "f.txt": h.m4, "keep.txt": h.m1, lib: h.s2, "lib/a.js": h.s2 });
  });

  it("stops when its budget is spent, resumes from its frontier, and builds on an older answer", async () => {
    const r = new RepoBuilder();
    let tip = r.commit({ files: { "old.txt": "o\n", "hot.txt": "0\n", "ü/x.txt": "x\n" }, message: "0" });
    const first = tip;
    for (let i = 1; i < 200; i++)
      tip = r.commit({ files: { "old.txt": "o\n", "hot.txt": `${i}\n`, "ü/x.txt": "x\n" }, parents: [tip], message: `${i}` });
    const before = tip;
    const after = r.commit({
      files: { "old.txt": "o\n", "hot.txt": "new\n", "added.txt": "+\n", "ü/x.txt": "x\n" },
      parents: [before],
      message: "push",
    });
    const g = await graphOf(r);
    const partial = (await lastCommitsOfTree(g, before, { budget: new Budget(Infinity, 10) }))!;
    expect(partial.complete).toBe(false);
    expect(partial.paths.get("hot.txt")).toBe(before);
    expect(partial.paths.has("old.txt")).toBe(false);
    const resumed = (await lastCommitsOfTree(g, before, { resume: { paths: partial.paths, frontier: partial.frontier } }))!;
    const full = (await lastCommitsOfTree(g, before))!;
    expect(Object.fromEntries(resumed.paths)).toEqual(Object.fromEntries(full.paths));
    expect(full.paths.get("old.txt")).toBe(first);
    expect(full.paths.get("ü/x.txt")).toBe(first);
    const next = (await lastCommitsOfTree(g, after, { base: { commit: before, paths: full.paths } }))!;
    expect(Object.fromEntries(next.paths)).toEqual({
      "old.txt": first,
      "hot.txt": after,
      "added.txt": after,
      ü: first,
      "ü/x.txt": first,
    });
    expect(next.scanned).toBeLessThan(10);
  });
});

describe("blame", () => {
  it("gives lines from a merged branch to the branch's commits", async () => {
    const h = mergedHistory();
    const g = await graphOf(h.r);
    const result = await blame(g, h.m4, ["lib", "a.js"]);
    expect(result.complete).toBe(true);
    expect(result.lines.map((l) => l.commit)).toEqual([h.m1, h.s1, h.s2]);
  });

  it("follows a file moved unchanged, and reports where it stopped when the budget runs out", async () => {
    const r = new RepoBuilder();
    const c1 = r.commit({ files: { "old.js": "one\ntwo\n" }, message: "1" });
    const c2 = r.commit({ files: { "new.js": "one\ntwo\n" }, parents: [c1], message: "move" });
    const c3 = r.commit({ files: { "new.js": "one\ntwo\nthree\n" }, parents: [c2], message: "3" });
    const g = await graphOf(r);
    const full = await blame(g, c3, ["new.js"]);
    expect(full.lines.map((l) => [l.commit, l.line])).toEqual([
      [c1, 1],
      [c1, 2],
      [c3, 3],
    ]);
    const cut = await blame(g, c3, ["new.js"], { budget: new Budget(Infinity, 1) });
    expect(cut.complete).toBe(false);
    expect(cut.lines.map((l) => l.final)).toEqual([false, false, true]);
  });
});

describe("archives", () => {
  it("writes a .tar.gz of several gzip members that unpacks to the tree", async () => {
    const r = new RepoBuilder();
    const big = "x".repeat(300_000);
    const c = r.commit({ files: { "a.txt": "a\n", "d/b.txt": big, "d/c.txt": `${big}c` }, message: "1" });
    const g = await graphOf(r);
    const tree = (await g.commit(c)).tree;
    const gz = new Uint8Array(
      await new Response(tarGzStream(g.store, tree, { prefix: "p/", mtime: 0, commit: c, memberBytes: 64 * 1024 })).arrayBuffer(),
    );
    let members = 0;
    for (let i = 0; i + 2 < gz.length; i++) if (gz[i] === 0x1f && gz[i + 1] === 0x8b && gz[i + 2] === 8) members++;
    expect(members).toBeGreaterThan(3);
    const tar = new Uint8Array(gunzipSync(gz));
    const names: string[] = [];
    for (let p = 0; p + 512 <= tar.length && tar[p] !== 0; ) {
      const size = parseInt(new TextDecoder().decode(tar.subarray(p + 124, p + 135)), 8);
      const type = String.fromCharCode(tar[p + 156]!);
      if (type !== "g") names.push(new TextDecoder().decode(tar.subarray(p, p + 100)).replace(/\0.*$/s, ""));
      if (type === "0" && names[names.length - 1] === "p/d/c.txt")
        expect(new TextDecoder().decode(tar.subarray(p + 512, p + 512 + size))).toBe(`${big}c`);
      p += 512 + Math.ceil(size / 512) * 512;
    }
    expect(names).toEqual(["p/", "p/a.txt", "p/d/", "p/d/b.txt", "p/d/c.txt"]);
  });
});

describe("zip archives", () => {
  it("deflates small files and stores large ones, each with the right CRC, sizes and modes", async () => {
    const r = new RepoBuilder();
    const small = "small ".repeat(1000);
    const large = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7919) & 0xff);
    const c = r.commit({
      files: { "s.txt": small, "bin/l.dat": large, "run.sh": { data: "#!/bin/sh\n", mode: "100755" } },
      message: "1",
    });
    const g = await graphOf(r);
    const zip = new Uint8Array(
      await new Response(
        zipStream(g.store, (await g.commit(c)).tree, { prefix: "", mtime: 0, commit: c, storeAbove: 100_000 }),
      ).arrayBuffer(),
    );
    const view = new DataView(zip.buffer);
    const eocd = zip.length - 22 - c.length;
    expect(view.getUint32(eocd, true)).toBe(0x06054b50);
    expect(new TextDecoder().decode(zip.subarray(eocd + 22))).toBe(c);
    const seen: Record<string, { method: number; mode: number }> = {};
    for (let p = view.getUint32(eocd + 16, true), i = 0; i < view.getUint16(eocd + 10, true); i++) {
      const method = view.getUint16(p + 10, true);
      const crc = view.getUint32(p + 16, true);
      const csize = view.getUint32(p + 20, true);
      const nameLen = view.getUint16(p + 28, true);
      const name = new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nameLen));
      const local = view.getUint32(p + 42, true);
      const start = local + 30 + view.getUint16(local + 26, true);
      const raw = zip.subarray(start, start + csize);
      const data = method === 8 ? new Uint8Array(inflateRawSync(raw)) : raw;
      if (!name.endsWith("/")) expect(crc32(data), name).toBe(crc);
      if (name === "bin/l.dat") expect(data).toEqual(large);
      seen[name] = { method, mode: view.getUint32(p + 38, true) >>> 16 };
      p += 46 + nameLen;
    }
    expect(seen).toEqual({
      "bin/": { method: 0, mode: 0o40775 },
      "bin/l.dat": { method: 0, mode: 0o100664 },
      "run.sh": { method: 8, mode: 0o100775 },
      "s.txt": { method: 8, mode: 0o100664 },
    });
  });
});

describe("paths and highlighting", () => {
  it("refuses path segments a tree cannot hold", () => {
    expect(decodePathSegments(["a", "b%20c", ""])).toEqual(["a", "b c"]);
    for (const bad of [["a%2Fb"], [".."], ["%2e%2e"], ["."], ["a", "", "b"], ["%00"], ["%E0%A4%A"]]) {
      expect(decodePathSegments(bad), bad.join("/")).toBeNull();
    }
  });

  it("escapes every line and keeps spans within lines", () => {
    const lines = highlightLines('/* a <b>\n c */ const s = "<i>";\n', "js");
    expect(lines[0]).toBe("<span class=c>/* a &lt;b&gt;</span>");
    expect(lines[1]).toBe(
      "<span class=c> c */</span> <span class=k>const</span> s = <span class=s>&quot;&lt;i&gt;&quot;</span>;",
    );
    for (const lang of [null, "py", "html", "css", "sh", "md", "diff", "yaml", "sql", "c", "json", "rb"]) {
      const out = highlightLines('<script>alert(1)</script> & "x"', lang).join("\n");
      expect(out, String(lang)).not.toMatch(/<script|<\/script/);
      expect(out).toContain("&amp;");
    }
    expect(escapeHtml(`<a href="x">&</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
  });
});
