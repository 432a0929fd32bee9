// The connectivity check of a received pack within a fixed budget (issue 19): the links its
// objects carry spill to sorted parts, merge against the pack's sorted ids (its .idx in memory or
// read by ranges), the verdicts stay those of the whole-set check, and every part is deleted.
import { afterAll, describe, expect, it } from "vitest";
import { checkConnectivity, idxIds, indexIds, isClosure, linkRuns } from "../../src/git/connectivity";
import { collectLinks } from "../../src/git/links";
import type { Oid } from "../../src/git/oid";
import { PackIndex } from "../../src/git/pack-index";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource } from "../../src/git/range-source";
import { MemorySpillStore } from "../../src/git/spill-memory";
import { env as workerEnv } from "cloudflare:workers";
import type { Env } from "../../src/env";
import { ORPHAN_GRACE_MS } from "../../src/repo/compaction";
import { repoStub } from "../../src/services/repositories";
import { r2Keys } from "../../src/storage/keys";
import { newForge, tenantD1 } from "./browser";
import { importRepo, pushRef, RepoBuilder } from "./git-fixture";
import { drainPostPush } from "./helpers";

// No post-push delivery of this file's pushes may still run when its runtime closes.
afterAll(drainPostPush);

const env = workerEnv as unknown as { OBJECTS: R2Bucket };

/** The smallest budget spill runs take: 78 links a run. */
const BUDGET = 4096;

/** A history of `commits` commits over 12 directories of 20 files, one file changed by each. */
function history(commits: number) {
  const repo = new RepoBuilder();
  const files: Record<string, string> = {};
  for (let d = 0; d < 12; d++) for (let f = 0; f < 20; f++) files[`d${d}/f${f}.txt`] = `${d}/${f}\n`;
  let tip: Oid | undefined;
  const all: Oid[] = [];
  for (let i = 0; i < commits; i++) {
    files[`d${i % 12}/f${i % 20}.txt`] = `change ${i}\n`;
    tip = repo.commit({ files: { ...files }, parents: tip ? [tip] : [], message: `change ${i}` });
    all.push(tip);
  }
  return { repo, tip: tip!, commits: all };
}

/** Indexes `pack` collecting its links into spill runs over `store`; the runs and the index. */
async function received(pack: Uint8Array, store: MemorySpillStore) {
  const links = linkRuns(store, BUDGET);
  const indexed = await indexPack(new MemorySource("received", pack), {
    onObject: (type, data) => collectLinks(type, data, links),
  });
  return { links, idx: indexed.index, index: new PackIndex(indexed.index) };
}

describe("connectivity within a budget", () => {
  it("spills the links of a large pack, finds it connected and the closure of its tip, and deletes every part", async () => {
    const { repo, tip, commits } = history(120);
    const store = new MemorySpillStore();
    const { links, index } = await received(repo.pack().pack, store);
    const check = await checkConnectivity(links, indexIds(index), [tip]);
    expect(check).toEqual({ missing: null, unlinked: new Set([tip]) });
    expect(isClosure(check, [tip])).toBe(true);
    // Thousands of links, in runs of 78: dozens of parts, merged in groups, never more held than the budget.
    expect(store.puts).toBeGreaterThan(40);
    expect(links.peakHeld).toBeLessThanOrEqual(BUDGET);
    expect(store.largestRead).toBeLessThanOrEqual(BUDGET);
    await links.dispose();
    expect(store.parts.size).toBe(0);
    // An older commit as a second tip is linked by its child: still a closure of both.
    const again = await received(repo.pack().pack, new MemorySpillStore());
    const both = await checkConnectivity(again.links, indexIds(again.index), [tip, commits[3]!]);
    expect(isClosure(both, [tip, commits[3]!])).toBe(true);
    await again.links.dispose();
  });

  it("reads the pack's ids by ranges from a stored .idx to the same verdict", async () => {
    const { repo, tip } = history(60);
    const store = new MemorySpillStore();
    const { links, idx } = await received(repo.pack().pack, store);
    let reads = 0;
    const source = new MemorySource("idx", idx);
    const counted = {
      id: source.id,
      size: source.size,
      read: (s: number, e: number) => {
        reads++;
        return source.read(s, e);
      },
    };
    const check = await checkConnectivity(links, await idxIds(counted), [tip]);
    expect(check.missing).toBeNull();
    expect(isClosure(check, [tip])).toBe(true);
    expect(reads).toBeGreaterThanOrEqual(2);
    await links.dispose();
    expect(store.parts.size).toBe(0);
  });

  it("finds an object the pack lacks, unless the repository has it", async () => {
    const { repo, tip } = history(80);
    const lacking = repo.blob("3/7\n");
    const without = [...repo.objects.keys()].filter((oid) => oid !== lacking);
    const packed = repo.pack(without).pack;
    const alone = await received(packed, new MemorySpillStore());
    expect((await checkConnectivity(alone.links, indexIds(alone.index), [tip])).missing).toBe(lacking);
    await alone.links.dispose();
    // The repository has it: connected, and the pack is still everything its tip needs from it.
    const store = new MemorySpillStore();
    const asked: Oid[] = [];
    const withRepo = await received(packed, store);
    const check = await checkConnectivity(withRepo.links, indexIds(withRepo.index), [tip], async (oids) => {
      asked.push(...oids);
      return oids.filter((o) => o === lacking);
    });
    expect(check.missing).toBeNull();
    expect(asked).toEqual([lacking]);
    await withRepo.links.dispose();
    expect(store.parts.size).toBe(0);
  });

  it("tells a pack with an object nothing reaches from the closure of its tip", async () => {
    const { repo, tip } = history(50);
    repo.blob("nobody links to this\n");
    const { links, index } = await received(repo.pack().pack, new MemorySpillStore());
    const check = await checkConnectivity(links, indexIds(index), [tip]);
    expect(check.missing).toBeNull();
    expect(isClosure(check, [tip])).toBe(false);
    await links.dispose();
  });

  it("names a tip that is neither in the pack nor in the repository", async () => {
    const { repo, tip } = history(30);
    const other = history(31).tip;
    const { links, index } = await received(repo.pack().pack, new MemorySpillStore());
    expect((await checkConnectivity(links, indexIds(index), [tip, other])).missing).toBe(other);
    await links.dispose();
  });
});

describe("pushes checked in spilled runs (the tests' 4 KiB link budget)", () => {
  it("lands a push of thousands of links on an imported repository, refuses one lacking an object, and leaves no part", async () => {
    const forge = await newForge("links");
    const repo = new RepoBuilder();
    const files: Record<string, string> = {};
    for (let d = 0; d < 10; d++) for (let f = 0; f < 20; f++) files[`d${d}/f${f}.txt`] = `${d}/${f}\n`;
    const base = repo.commit({ files: { ...files }, message: "start" });
    await importRepo(forge.slug, "code", repo, { "refs/heads/main": base });
    const before = new Set(repo.objects.keys());
    let tip = base;
    for (let i = 0; i < 40; i++) {
      files[`d${i % 10}/f${i % 20}.txt`] = `change ${i}\n`;
      tip = repo.commit({ files: { ...files }, parents: [tip], message: `change ${i}` });
    }
    // The new trees link to hundreds of blobs the repository has: asked of it, not refused.
    const added = [...repo.objects.keys()].filter((oid) => !before.has(oid));
    const lacking = repo.blob("change 7\n");
    const refused = await pushRef(
      forge.host,
      "code",
      forge.ownerToken,
      repo,
      added.filter((o) => o !== lacking),
      "refs/heads/main",
      base,
      tip,
    );
    expect(await refused.text()).toContain("ng refs/heads/main missing necessary objects");
    const landed = await pushRef(forge.host, "code", forge.ownerToken, repo, added, "refs/heads/main", base, tip);
    expect(await landed.text()).toContain("ok refs/heads/main");
    const spilled = async () =>
      (await env.OBJECTS.list({ prefix: `t/${forge.id}/r/` })).objects.map((o) => o.key).filter((k) => k.includes("/spill/"));
    expect(await spilled()).toEqual([]);
    // Parts an isolate that died left behind: the repository's upkeep sweeps them once a day old.
    const row = await (await tenantD1(forge))
      .prepare("SELECT repo_id FROM projects WHERE name = 'code'")
      .first<{ repo_id: string }>();
    const repoRef = { tenantId: forge.id, repoId: row!.repo_id };
    const left = r2Keys.spillPart(repoRef.tenantId, repoRef.repoId, "links-dead", 0);
    await env.OBJECTS.put(left, new Uint8Array(20));
    const stub = repoStub(workerEnv as unknown as Env, repoRef);
    await stub.upkeep({ now: Date.now() + 60_000 });
    expect(await spilled()).toEqual([left]);
    await stub.upkeep({ now: Date.now() + ORPHAN_GRACE_MS + 60_000 });
    expect(await spilled()).toEqual([]);
  });

  it("reads the pack's ids into one window buffer when the source reads into buffers", async () => {
    // 20,000 sorted ids: three windows of the merge. A read per window into a new array buffer
    // was hundreds of MiB of garbage in a 900,000-object import.
    const count = 20_000;
    const ids = new Uint8Array(count * 20);
    for (let i = 0; i < count; i++) new DataView(ids.buffer).setUint32(i * 20, i * 200_000 + 1);
    const links = linkRuns(new MemorySpillStore(), 64 * 1024);
    for (let i = 1; i < count; i++) links.add(ids, i * 20);
    const buffers = new Set<ArrayBufferLike>();
    let reads = 0;
    const sorted = {
      count,
      read: async () => {
        throw new Error("read into the window buffer instead");
      },
      readInto: async (from: number, into: Uint8Array) => {
        reads++;
        buffers.add(into.buffer);
        into.set(ids.subarray(from * 20, from * 20 + into.length));
        return into;
      },
    };
    const tip = Array.from(ids.subarray(0, 20), (b) => b.toString(16).padStart(2, "0")).join("");
    const result = await checkConnectivity(links, sorted, [tip]);
    await links.dispose();
    expect(result.missing).toBeNull();
    expect(isClosure(result, [tip])).toBe(true);
    expect(reads).toBe(3);
    expect(buffers.size).toBe(1);
  });
});
