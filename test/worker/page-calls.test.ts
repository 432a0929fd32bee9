// Storage calls of a cold commit page, of a tree diff down long delta chains and of a revision
// named by its whole id, counted, not timed (issue 19: each ranged R2 GET is a round trip to the
// region). A commit page's tree diff fills the pack windows of each level's trees, and of their
// delta chains, a cluster at a time, and its file diffs those of their blobs; a whole commit id
// the commit-graph holds is resolved from the graph alone.
import { describe, expect, it } from "vitest";
import { createDelta } from "../../src/git/delta-encode";
import { ObjectStore, Pack } from "../../src/git/object-store";
import { encodeEntryHeader, encodeOfsDistance, OBJ_OFS_DELTA, packHeader, typeNumber } from "../../src/git/pack-format";
import { PackIndex } from "../../src/git/pack-index";
import { diffTrees } from "../../src/git/tree-diff";
import { deflate } from "../../src/git/zlib";
import { sha1 } from "../../src/git/oid";
import { concatBytes } from "../../src/utils/bytes";
import type { Oid } from "../../src/git/oid";
import { RangedPackIndex } from "../../src/git/pack-index-ranged";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource, type RangeSource, WindowedSource } from "../../src/git/range-source";
import type { RepoSnapshot } from "../../src/repo/snapshot";
import { resolveRev, type SourceRepo } from "../../src/services/source";
import { newForge } from "./browser";
import { importRepo, RepoBuilder } from "./git-fixture";
import { graphOn, memoryStore, persistedGraph } from "./graph-fixture";
import { edge } from "./helpers";
import { EDGE_CACHE_BOUNDS, useCacheBounds } from "../../src/utils/edge-budget";

/** Unique names: the isolate's caches are keyed by them. */
const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

/** The pack's GETs (Server-Timing `r2-read`: index, pack). */
function packReads(res: Response): number {
  const m = /(?:^|, )r2-read;desc="(\d+) idx, (\d+) pack/.exec(res.headers.get("server-timing") ?? "");
  if (!m) throw new Error(`no r2-read in Server-Timing: ${res.headers.get("server-timing")}`);
  return Number(m[2]);
}

/**
 * Empties the isolate's caches of pack windows and objects (the import, in this isolate too, read
 * the pack through them), so that the next page reads what it needs from storage.
 */
function coldCaches(): void {
  const names = ["git.pack-windows", "git.resolved-objects", "git.learned-commits"] as const;
  useCacheBounds(Object.fromEntries(names.map((n) => [n, 0])));
  useCacheBounds(Object.fromEntries(names.map((n) => [n, EDGE_CACHE_BOUNDS[n]])));
}

/** Bytes that deflate does not shrink (a pack's entries keep their size). */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed + 1) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A source that counts its reads (each one a storage request, as an R2 GET). */
class CountingSource implements RangeSource {
  reads = 0;
  constructor(private readonly inner: MemorySource) {}
  get id(): string {
    return this.inner.id;
  }
  get size(): number {
    return this.inner.size;
  }
  read(start: number, end: number): Promise<Uint8Array> {
    this.reads++;
    return this.inner.read(start, end);
  }
}

describe("cold commit page", () => {
  it("fills the windows of a level's trees and of its files' blobs a cluster at a time", async () => {
    const forge = await newForge("calls");
    const r = new RepoBuilder();
    // 12 directories, each a file that changes and 40 KB that does not: each directory's tree
    // lies in a window of its own, the 12 together in under a MiB of the pack.
    const DIRS = 12;
    const files = (v: string) => {
      const out: Record<string, string | Uint8Array> = { "README.md": `# Demo ${v}\n` };
      for (let d = 0; d < DIRS; d++) {
        out[`d${d}/big.bin`] = noise(40_000, d);
        out[`d${d}/f.txt`] = `file ${d}\nversion ${v}\n`;
      }
      return out;
    };
    const one = r.commit({ files: files("one"), message: "One" });
    const two = r.commit({ files: files("two"), parents: [one], message: "Every directory" });
    await importRepo(forge.slug, "demo", r, { "refs/heads/main": two });
    coldCaches();
    const res = await edge(`http://${forge.host}/p/demo/source/commit/${two}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    // The same page: every directory's file changed, its diff shown.
    expect(html).toContain("Every directory");
    for (let d = 0; d < DIRS; d++) expect(html).toContain(`d${d}/f.txt`);
    expect(html).toContain("version two");
    // The old directories' trees and blobs a window read each as the walk met them (8 pack GETs
    // before); now a GET per cluster of nearby windows per level of the diff, and per 16 files.
    expect(packReads(res)).toBeLessThanOrEqual(5);
  });
});

describe("a revision named by its whole commit id", () => {
  it("is resolved from the commit-graph without reading the pack index or the object", async () => {
    const r = new RepoBuilder();
    const commits: Oid[] = [];
    for (let i = 0; i < 20; i++) {
      commits.push(r.commit({ files: { "README.md": `revision ${i}\n` }, parents: commits.slice(-1), message: `Commit ${i}` }));
    }
    const tip = commits.at(-1)!;
    // Pushed after the graph was built: not in it.
    const newer = r.commit({ files: { "README.md": "newer\n" }, parents: [tip], message: "Newer" });
    const packBytes = r.pack().pack;
    const indexed = await indexPack(new MemorySource(`calls-${run}-scan`, packBytes));
    const packSource = new CountingSource(new MemorySource(`calls-${run}.pack`, packBytes));
    const indexSource = new CountingSource(new MemorySource(`calls-${run}.idx`, indexed.index));
    const store = new ObjectStore([new Pack("calls", await RangedPackIndex.open(indexSource), packSource)]);
    const persisted = await persistedGraph(await memoryStore(r, "calls-graph"), [tip], "calls");
    const snapshot = {
      version: 1,
      head: "refs/heads/main",
      refs: [{ name: "refs/heads/main", oid: tip }],
      packs: [],
    } as unknown as RepoSnapshot;
    const src: SourceRepo = {
      repo: { tenantId: `t-${run}`, repoId: `r-${run}` },
      snapshot,
      store,
      graph: graphOn(store, persisted),
    };
    const before = { pack: packSource.reads, idx: indexSource.reads };
    const old = commits[5]!;
    expect(await resolveRev(src, old)).toEqual({ name: old, kind: "commit", commit: old });
    // An index lookup and a read of the commit to check its id and type before; none now.
    expect({ pack: packSource.reads - before.pack, idx: indexSource.reads - before.idx }).toEqual({ pack: 0, idx: 0 });
    // Ids the graph lacks as before: an abbreviation, a tree, an id nothing has.
    expect(await resolveRev(src, old.slice(0, 10))).toEqual({ name: old, kind: "commit", commit: old });
    const tree = (await src.graph.commit(old)).tree;
    expect(await resolveRev(src, tree)).toBeNull();
    expect(await resolveRev(src, "0123456789".repeat(4))).toBeNull();
    // A commit newer than the graph, once a ref reaches it.
    const moved = { ...snapshot, version: 2, refs: [{ name: "refs/heads/main", oid: newer }] } as RepoSnapshot;
    expect(await resolveRev({ ...src, snapshot: moved }, newer)).toEqual({ name: newer, kind: "commit", commit: newer });
  });
});

describe("a tree diff at an old commit", () => {
  it("reads a directory's delta chain down the pack a MiB per missed window, not a GET per window", async () => {
    // As git packs a directory's versions: the newest whole, each older one a delta against the
    // next newer, written after it, other objects between (here 30 KB that deflate cannot shrink).
    const r = new RepoBuilder();
    const VERSIONS = 30;
    const names: Record<string, [string, Oid]> = {};
    for (let i = 0; i < 40; i++) names[`file-${i}.txt`] = ["100644", r.blob(`filler ${i}\n`)];
    const dirs: Oid[] = [];
    const roots: Oid[] = [];
    for (let v = 0; v < VERSIONS; v++) {
      dirs.push(r.tree({ ...names, "f.txt": ["100644", r.blob(`version ${v}\n`)] }));
      roots.push(r.tree({ "README.md": ["100644", r.blob("read me\n")], d: ["40000", dirs[v]!] }));
    }
    const parts: Uint8Array[] = [];
    let offset = 12;
    let count = 0;
    const at = new Map<Oid, number>();
    const put = (oid: Oid, base?: Oid) => {
      const o = r.objects.get(oid)!;
      let entry: Uint8Array;
      if (base) {
        const delta = createDelta(r.objects.get(base)!.data, o.data)!;
        entry = concatBytes([
          encodeEntryHeader(OBJ_OFS_DELTA, delta.length),
          encodeOfsDistance(offset - at.get(base)!),
          deflate(delta),
        ]);
      } else entry = concatBytes([encodeEntryHeader(typeNumber(o.type), o.data.length), deflate(o.data)]);
      at.set(oid, offset);
      parts.push(entry);
      offset += entry.length;
      count++;
    };
    for (let v = VERSIONS - 1; v >= 0; v--) {
      put(dirs[v]!, v < VERSIONS - 1 ? dirs[v + 1] : undefined);
      put(r.blob(noise(30_000, 100 + v)));
    }
    for (const oid of r.objects.keys()) if (!at.has(oid)) put(oid);
    const body = concatBytes([packHeader(count), ...parts]);
    const pack = concatBytes([body, new Uint8Array(sha1().update(body).digest())]);
    const indexed = await indexPack(new MemorySource(`chain-${run}-scan`, pack));
    const counted = new CountingSource(new MemorySource(`chain-${run}.pack`, pack));
    const store = new ObjectStore([new Pack("chain", new PackIndex(indexed.index), new WindowedSource(counted))]);

    const got = await diffTrees(store, roots[0]!, roots[1]!);
    // The same answer as from a pack of whole objects.
    expect(got).toEqual(await diffTrees(await memoryStore(r, "chain-whole"), roots[0]!, roots[1]!));
    expect(got.changes.map((c) => `${c.status} ${c.path}`)).toEqual(["M d/f.txt"]);
    // The chain spans about 900 KB (14 windows): a read per window before (14), 3 now (the two
    // versions' window, then a MiB ending at the first base missed, then the rest).
    expect(counted.reads).toBeLessThanOrEqual(5);
  });
});
