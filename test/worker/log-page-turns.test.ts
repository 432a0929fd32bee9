// The two longest stretches of a cold log page at a commit named by id give the isolate's other
// requests turns (issue 19's warm page; bench/scale-results.md, s13-logwarm): the marking of what
// the refs reach (a walk of graph positions, once per refs version) and the commits learned after
// a commit read from storage (each inflated and hashed). Counted in turns other tasks got, never
// in time; the answers are the same as before.
import { describe, expect, it } from "vitest";
import { ObjectStore, Pack } from "../../src/git/object-store";
import type { Oid } from "../../src/git/oid";
import { PackIndex } from "../../src/git/pack-index";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource } from "../../src/git/range-source";
import { isolateTurns } from "../../src/utils/pace";
import { RepoBuilder } from "./git-fixture";
import { graphOn, memoryStore, persistedGraph } from "./graph-fixture";
import { turnsDuring } from "./turns";

/** A line of `count` commits on one tree, oldest first. */
function line(count: number): { r: RepoBuilder; commits: Oid[] } {
  const r = new RepoBuilder();
  const commits: Oid[] = [];
  for (let i = 0; i < count; i++) {
    commits.push(r.commit({ files: { "README.md": "read me\n" }, parents: commits.slice(-1), message: `Commit ${i}` }));
  }
  return { r, commits };
}

describe("a cold log page's long stretches", () => {
  it("the marking of what the refs reach gives a turn every 1,024 commits, not every 4,096", async () => {
    // Fewer commits than the 4,096 the walk ran between its own turns before.
    const COMMITS = 2_200;
    const { r, commits } = line(COMMITS);
    const store = await memoryStore(r, "reach-turns");
    const persisted = await persistedGraph(store, [commits.at(-1)!], "reach-turns");
    const tip = await graphOn(store, persisted).positionOf(commits.at(-1)!);
    await isolateTurns.turn();
    const { result: bits, turns } = await turnsDuring(() => persisted.reachableFrom([tip]));
    // Every commit marked, as before.
    let marked = 0;
    for (const byte of bits!) for (let b = byte; b; b &= b - 1) marked++;
    expect(marked).toBe(COMMITS);
    // 2,200 steps, a unit every 16 (utils/pace.ts GRAPH_STEPS_PER_UNIT), 64 units a turn: two
    // turns. None before.
    expect(turns).toBeGreaterThanOrEqual(2);
  });

  it("the commits learned after a commit read from storage: a unit each, the same commits learned", async () => {
    const COMMITS = 200;
    const { r, commits } = line(COMMITS);
    // As git writes a pack: the commits first, newest first, then the rest.
    const ordered = new RepoBuilder();
    for (const oid of [...commits].reverse()) ordered.objects.set(oid, r.objects.get(oid)!);
    for (const [oid, o] of r.objects) if (!ordered.objects.has(oid)) ordered.objects.set(oid, o);
    // A source id of its own: nothing of it in the isolate's caches.
    const source = new MemorySource(`learn-turns-${crypto.randomUUID()}.pack`, ordered.pack().pack);
    const store = new ObjectStore([new Pack("learn-turns", new PackIndex((await indexPack(source)).index), source)]);
    const tip = commits.at(-1)!;
    await isolateTurns.turn();
    const { turns } = await turnsDuring(() => store.readTyped(tip, "commit"));
    // The 128 commits after the tip in the pack are where a log page finds its rows.
    for (let i = 1; i <= 128; i++) expect(store.locatedNow(commits[COMMITS - 1 - i]!), `commit ${i}`).toBeTruthy();
    // One read and 128 commits learned: two turns. None before (the learning ran at once).
    expect(turns).toBeGreaterThanOrEqual(2);
  });
});
