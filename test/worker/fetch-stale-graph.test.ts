// A fetch of one new commit whose parent the client has, dated before that parent, while the
// commit-graph is stale or missing (the post-push update queued behind other work, or no graph yet):
// the object walk must read a handful of commits, not descend the history dated after the new one.
// Counted in commits read, not timed.
import { beforeAll, describe, expect, it } from "vitest";
import type { PersistedGraph } from "../../src/git/commit-graph-file";
import type { ObjectStore } from "../../src/git/object-store";
import type { Oid } from "../../src/git/oid";
import { enumerateObjects } from "../../src/git/walk";
import { commitsRead, graphOn, memoryStore, persistedGraph } from "./graph-fixture";
import { skewedHistory } from "./skew-fixture";

let store: ObjectStore;
/** A graph built a third of the way into the history: every later commit is outside it. */
let stale: PersistedGraph;
let early: Oid;
let tip: Oid;
let side: Oid;
let late: Oid;
let second: Oid;
let sentByLate: Oid[];

beforeAll(async () => {
  const skewed = skewedHistory("# stale");
  ({ tip, side, early, late, second, sentByLate } = skewed);
  store = await memoryStore(skewed.repo, "stale");
  stale = await persistedGraph(store, [early], "stale-graph");
});

const graphs = {
  "no commit-graph": () => graphOn(store, null),
  "a commit-graph that lacks the haves": () => graphOn(store, stale),
};

describe.each(Object.entries(graphs))("the object walk of a new commit dated before its parent, with %s", (_, make) => {
  it("sends the new commit's objects and reads a handful of commits when the client has the parent", async () => {
    const graph = make();
    expect(await graph.covers(tip)).toBe(false);
    const walk = await enumerateObjects(graph, { wants: [late], haves: [tip, side], shallow: new Set() });
    expect(new Set(walk.objects.keys())).toEqual(new Set(sentByLate));
    expect(walk.commits).toBe(1);
    // The new commit, the two haves and a few queued past the frontier; by date it was 250 and more.
    expect(commitsRead(graph)).toBeLessThan(12);
  });

  it("still sends nothing the client has when it asks for a commit its haves reach", async () => {
    const graph = make();
    const walk = await enumerateObjects(graph, { wants: [late, early], haves: [tip, side], shallow: new Set() });
    expect(new Set(walk.objects.keys())).toEqual(new Set(sentByLate));
  });

  it("sends both of two new commits and reads a handful when the client has the parent of the first", async () => {
    const graph = make();
    const walk = await enumerateObjects(graph, { wants: [second], haves: [tip, side], shallow: new Set() });
    expect(walk.commits).toBe(2);
    expect(walk.objects.has(late)).toBe(true);
    expect(walk.objects.has(second)).toBe(true);
    expect(commitsRead(graph)).toBeLessThan(12);
  });

  it("walks by the queue when the new commits do not end on a have", async () => {
    const graph = make();
    const parent = (await graph.commit(tip)).parents[0]!;
    const walk = await enumerateObjects(graph, { wants: [late], haves: [parent], shallow: new Set() });
    expect(walk.commits).toBe(2);
  });
});
