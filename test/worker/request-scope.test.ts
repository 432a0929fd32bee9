// Work in flight is joined within one request and never across requests: workerd cancels a
// request that waits only on another request's I/O, and a canceled request's I/O never settles,
// so work shared across requests could hang every later request for its key. Here a "request"
// is an inRequestScope call, and a request whose I/O never settles is one given a binding (or a
// graph) that answers with a promise nothing resolves: each test would hang on the old code,
// where the second request waited on the first one's promise.
import { env as workerEnv } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { CommitGraph } from "../../src/git/commit-graph";
import { extendCommitGraph } from "../../src/git/commit-graph-build";
import { GraphLayer, PersistedGraph } from "../../src/git/commit-graph-file";
import { ObjectStore, Pack } from "../../src/git/object-store";
import type { Oid } from "../../src/git/oid";
import { PackIndex } from "../../src/git/pack-index";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource, type RangeSource, WindowedSource } from "../../src/git/range-source";
import type { RepoSnapshot } from "../../src/repo/snapshot";
import type { TenantRecord } from "../../src/storage/directory";
import { BUILD_STALE_MS, extendForSnapshot, loadCommitGraph, readChain } from "../../src/services/commit-graphs";
import { reachableFromRefs } from "../../src/services/reachable";
import { ensureTenantReady } from "../../src/services/tenants";
import { inRequestScope } from "../../src/utils/request-scope";
import { RepoBuilder } from "./git-fixture";

const env = workerEnv as unknown as Env;

/** A promise that never settles: the I/O of a request workerd canceled. */
const never = <T>() => new Promise<T>(() => undefined);

/** A source of 256 KiB that counts the reads it answers. */
function counted(): { source: RangeSource; reads: () => number } {
  const inner = new MemorySource(`scope-${Math.random()}`, new Uint8Array(256 * 1024));
  let reads = 0;
  return {
    source: {
      id: inner.id,
      size: inner.size,
      read: (start, end) => {
        reads++;
        return inner.read(start, end);
      },
    },
    reads: () => reads,
  };
}

/** A short history (main: five commits) in a store of its own, and its tip. */
async function history(): Promise<{ store: ObjectStore; main: Oid; commits: Oid[] }> {
  const r = new RepoBuilder();
  const commits: Oid[] = [];
  for (let i = 0; i < 5; i++) {
    commits.push(r.commit({ files: { "a.txt": `${i}\n` }, parents: commits.slice(-1), message: `c${i}` }));
  }
  const source = new MemorySource(`scope-pack-${Math.random()}`, r.pack().pack);
  const indexed = await indexPack(source);
  return { store: new ObjectStore([new Pack("p", new PackIndex(indexed.index), source)]), main: commits.at(-1)!, commits };
}

const uniqueRepo = () => ({ tenantId: `t-scope-${Math.random().toString(36).slice(2)}`, repoId: "r" });

/** `env` with an R2 bucket whose reads never settle. */
const heldBucket = (): Env => ({ ...env, OBJECTS: { ...env.OBJECTS, get: () => never() } as unknown as R2Bucket });

afterEach(() => {
  vi.useRealTimers();
});

describe("reads in flight", () => {
  it("are joined by concurrent reads of the same request", async () => {
    const { source, reads } = counted();
    const windowed = new WindowedSource(source);
    await inRequestScope(() => Promise.all([windowed.read(0, 10), windowed.read(100, 200), windowed.read(5, 50)]));
    expect(reads()).toBe(1);
  });

  it("are not joined by another request", async () => {
    const { source, reads } = counted();
    const windowed = new WindowedSource(source);
    await Promise.all([inRequestScope(() => windowed.read(0, 10)), inRequestScope(() => windowed.read(100, 200))]);
    expect(reads()).toBe(2);
  });
});

describe("work joined within its request only", () => {
  it("a commit-graph chain read by a request that never ends is not handed to the next request", async () => {
    const repo = uniqueRepo();
    void inRequestScope(() => loadCommitGraph(heldBucket(), repo));
    // The old code cached the pending read for 5 s and handed it to this request too.
    expect(await inRequestScope(() => loadCommitGraph(env, repo))).toBeNull();
  });

  it("a reach set being marked by a request that never ends is marked again by the next request", async () => {
    const { store, main, commits } = await history();
    let chain: GraphLayer[] = [];
    await extendCommitGraph(
      {
        store,
        graph: null,
        writeLayer: async (bytes) => GraphLayer.open(new MemorySource(`scope-layer-${Math.random()}`, bytes)),
        saveChain: async (layers) => {
          chain = layers;
        },
      },
      [main],
    );
    const persisted = new PersistedGraph(chain);
    const repo = uniqueRepo();
    const snapshot = { version: 1, head: "refs/heads/main", refs: [{ name: "refs/heads/main", oid: main }], packs: [] };
    const open = () => {
      const graph = new CommitGraph(store);
      graph.usePersisted(async () => persisted);
      return { repo, snapshot, store, graph };
    };
    // The first request's marking stops at the tip's position, which never comes.
    const held = open();
    const positionOf = held.graph.positionOf.bind(held.graph);
    held.graph.positionOf = (oid: Oid) => (oid === main ? never<number>() : positionOf(oid));
    void inRequestScope(() => reachableFromRefs(held, commits[0]!));
    expect(await inRequestScope(() => reachableFromRefs(open(), commits[0]!))).toBe(true);
  });
});

describe("set-up that another request may be running", () => {
  it("a tenant's set-up by a request that never ends is done again by the next request", async () => {
    const record: TenantRecord = {
      id: `t-scope-${Math.random().toString(36).slice(2)}`,
      slug: "scope",
      name: "Scope",
      status: "active",
      suspendReason: null,
      database: "SCOPE_DB",
      hosts: [],
      plan: { name: "test", maxRepoBytes: 1, maxUploadBytes: 1 },
      schemaVersion: 0,
      createdAt: "",
      updatedAt: "",
    } as unknown as TenantRecord;
    // A database whose statements never answer, then one that refuses them (the lazy migration
    // then fails, and a serving tenant keeps serving on the schema it has).
    const statement = (answer: () => Promise<never>) => ({
      bind: () => statement(answer),
      run: answer,
      all: answer,
      first: answer,
      raw: answer,
    });
    const database = (answer: () => Promise<never>) => ({ prepare: () => statement(answer), batch: answer, exec: answer });
    const held = { ...env, SCOPE_DB: database(never) } as unknown as Env;
    const refusing = { ...env, SCOPE_DB: database(() => Promise.reject(new Error("refused"))) } as unknown as Env;
    void inRequestScope(() => ensureTenantReady(held, record));
    expect(await inRequestScope(() => ensureTenantReady(refusing, record))).toBe(record);
  });

  it("a commit-graph build of a request that never ends is left alone by the next request, then taken as lost", async () => {
    const { store, main } = await history();
    const repo = uniqueRepo();
    const snapshot = {
      version: 1,
      head: "refs/heads/main",
      refs: [{ name: "refs/heads/main", oid: main }],
      packs: [],
    } as RepoSnapshot;
    void inRequestScope(() => extendForSnapshot(heldBucket(), repo, snapshot, store));
    // Another request neither waits for that build nor runs a second one beside it.
    expect(await inRequestScope(() => extendForSnapshot(env, repo, snapshot, store))).toBe(0);
    expect(await readChain(env, repo)).toBeNull();
    // Once the build is older than any build runs, the next request builds.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + BUILD_STALE_MS + 1);
    expect(await inRequestScope(() => extendForSnapshot(env, repo, snapshot, store))).toBe(5);
    expect((await readChain(env, repo))?.count).toBe(5);
  });
});
