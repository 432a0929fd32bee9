// A fetch of one new commit dated before its parent (a clock behind the repository's history, as
// bench:scale's new commit on a history dated up to 2060): negotiation must say "ready" at once and
// the object walk must not read every commit dated after it, as git's upload-pack does neither.
// Counted in commits read, not timed.
import { env as workerEnv } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canGiveUp } from "../../src/git/negotiate";
import type { ObjectStore } from "../../src/git/object-store";
import { type Oid, ZERO_OID } from "../../src/git/oid";
import type { PersistedGraph } from "../../src/git/commit-graph-file";
import { enumerateObjects } from "../../src/git/walk";
import { FLUSH, parsePktLines, pkt } from "../../src/git/pkt-line";
import { openRepoView } from "../../src/services/repositories";
import { concatBytes } from "../../src/utils/bytes";
import type { Env } from "../../src/env";
import { apiCall, newForge, tenantD1 } from "./browser";
import { type RepoBuilder, pushRef } from "./git-fixture";
import { commitsRead, graphOn, memoryStore, persistedGraph } from "./graph-fixture";
import { drainPostPush, edge } from "./helpers";
import { SKEW_HISTORY, skewedHistory } from "./skew-fixture";

const env = workerEnv as unknown as Env;

let builder: RepoBuilder;
let store: ObjectStore;
let persisted: PersistedGraph;
let tip: Oid;
let side: Oid;
let late: Oid;
let sentByLate: Oid[];
let newObjects: Set<Oid>;

beforeAll(async () => {
  const skewed = skewedHistory("# skew");
  ({ repo: builder, tip, side, late, sentByLate, newObjects } = skewed);
  store = await memoryStore(builder, "skew");
  // The graph as the import's build left it: the new commit was pushed after it.
  persisted = await persistedGraph(store, [tip, side], "skew-graph");
});

const withGraph = () => graphOn(store, persisted);

describe("negotiation of a commit dated before its parent", () => {
  it("is ready when the client has the parent, with or without a commit-graph", async () => {
    expect(await canGiveUp(withGraph(), [late], [tip, side])).toBe(true);
    expect(await canGiveUp(graphOn(store, null), [late], [tip, side])).toBe(true);
  });

  it("is ready when the client has an ancestor only, by generation numbers", async () => {
    const graph = withGraph();
    const parent = (await graph.commit(tip)).parents[0]!;
    expect(await canGiveUp(graph, [late], [parent])).toBe(true);
    // A commit of no have's history is not (the side branch's tip reaches neither).
    expect(await canGiveUp(withGraph(), [side], [late])).toBe(false);
  });
});

describe("the object walk of a commit dated before its parent", () => {
  it("sends the new commit's objects and reads a few commits, not the history dated after it", async () => {
    const graph = withGraph();
    const walk = await enumerateObjects(graph, { wants: [late], haves: [tip, side], shallow: new Set() });
    expect(new Set(walk.objects.keys())).toEqual(new Set(sentByLate));
    expect(walk.commits).toBe(1);
    // The new commit, the haves and a few queued past the frontier; the date order read all 300.
    expect(commitsRead(graph)).toBeLessThan(12);
  });

  it("still leaves out what the haves reach when the have is an ancestor of the want's parent", async () => {
    const graph = withGraph();
    const parent = (await graph.commit(tip)).parents[0]!;
    const walk = await enumerateObjects(graph, { wants: [late], haves: [parent], shallow: new Set() });
    expect(walk.commits).toBe(2);
    expect(commitsRead(graph)).toBeLessThan(12);
  });
});

describe("a fetch through upload-pack of a commit dated before its parent", () => {
  afterAll(drainPostPush);

  it("reads history through the repository's commit-graph and is ready after one round", async () => {
    const forge = await newForge("skew");
    expect((await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "skew" })).status).toBe(201);
    const db = await tenantD1(forge);
    const row = await db.prepare("SELECT repo_id FROM projects WHERE name = 'skew'").first<{ repo_id: string }>();
    const ref = { tenantId: forge.id, repoId: row!.repo_id };
    const history = [...builder.objects.keys()].filter((o) => !newObjects.has(o));
    const pushed = async (objects: Oid[], name: string, old: Oid, next: Oid) =>
      expect(await (await pushRef(forge.host, "skew", forge.ownerToken, builder, objects, name, old, next)).text()).toContain(
        `ok ${name}`,
      );
    await pushed(history, "refs/heads/main", ZERO_OID, tip);
    await pushed([], "refs/heads/side", ZERO_OID, side);
    // The post-push consumer builds the commit-graph of the history; then the new commit lands.
    await drainPostPush();
    await pushed(sentByLate, "refs/heads/main", tip, late);

    const view = await openRepoView(env, ref);
    const graph = view.commitGraph!(await view.store());
    expect((await graph.commit(tip)).generation).toBe(SKEW_HISTORY);

    const res = await edge(`http://${forge.host}/skew.git/git-upload-pack`, {
      method: "POST",
      headers: {
        "content-type": "application/x-git-upload-pack-request",
        "git-protocol": "version=2",
        authorization: `Basic ${btoa(`owner:${forge.ownerToken}`)}`,
      },
      body: concatBytes([
        pkt("command=fetch\n"),
        new TextEncoder().encode("0001"),
        pkt("ofs-delta\n"),
        pkt("no-progress\n"),
        pkt(`want ${late}\n`),
        pkt(`have ${tip}\n`),
        pkt(`have ${side}\n`),
        FLUSH,
      ]),
    });
    expect(res.status).toBe(200);
    const text = parsePktLines(new Uint8Array(await res.arrayBuffer()))
      .filter((l) => l.kind === "data" && l.data[0] !== 1 && l.data[0] !== 2)
      .map((l) => (l.kind === "data" ? l.text : ""));
    // Ready in the first round: git does not send hundreds more haves, then "done".
    expect(text).toContain("ready");
    expect(text).toContain("packfile");
  });
});
