// The persisted commit-graph of a repository in R2 (git/commit-graph-file.ts): opening its chain
// for history walks, and extending it after a push with the commits it lacks. Derived data: a
// missing or older chain only makes walks fall back to reading commits.
import type { Env } from "../env";
import type { CommitGraph } from "../git/commit-graph";
import { extendCommitGraph, LAYER_MAX } from "../git/commit-graph-build";
import { GraphLayer, PersistedGraph } from "../git/commit-graph-file";
import type { ObjectStore } from "../git/object-store";
import { sha1 } from "../git/oid";
import type { RepoSnapshot } from "../repo/snapshot";
import { r2Keys } from "../storage/keys";
import { R2Source } from "../storage/r2-source";
import { IsolateRuns, joinWithinRequest } from "../utils/request-scope";
import type { RepoRef } from "../storage/pack-store";
import { callsSoFar, logJob } from "./background-log";
import { edgeLru } from "../utils/edge-budget";

interface StoredChain {
  v: 1;
  layers: { key: string; size: number }[];
}

/** Opened layers (header and fan-out, about 1 KiB each), shared by the isolate: layers never change. */
const layers = edgeLru<string, GraphLayer>("services.commit-graph-layers", () => 1200);
/**
 * Chains per repository, as read: the chain file is rewritten by each build, so it is read again
 * after 5 s. Only a settled read is kept for other requests (utils/request-scope.ts: a read of
 * another request may never settle); one under way is joined within its request.
 */
const chains = new Map<string, { at: number; graph: PersistedGraph | null }>();
const CHAIN_TTL_MS = 5_000;

async function openLayer(env: Env, key: string, size: number): Promise<GraphLayer> {
  const hit = layers.get(key);
  if (hit) return hit;
  const layer = await GraphLayer.open(new R2Source(env.OBJECTS, key, size));
  layers.set(key, layer);
  return layer;
}

/** The chain as R2 holds it now (no cache). */
export async function readChain(env: Env, repo: RepoRef): Promise<PersistedGraph | null> {
  const obj = await env.OBJECTS.get(r2Keys.commitGraphChain(repo.tenantId, repo.repoId));
  if (!obj) return null;
  try {
    const chain = (await obj.json()) as StoredChain;
    if (chain.v !== 1) return null;
    return new PersistedGraph(await Promise.all(chain.layers.map((l) => openLayer(env, l.key, l.size))));
  } catch (err) {
    // A layer deleted by a purge under a chain read just before: walk without the graph.
    console.error(JSON.stringify({ level: "error", message: `commit-graph: ${String((err as Error)?.message ?? err)}` }));
    return null;
  }
}

/** The repository's persisted commit-graph as last written (cached per isolate for 5 s), or null. */
export function loadCommitGraph(
  env: Env,
  repo: RepoRef,
  snapshot?: Pick<RepoSnapshot, "purges">,
): Promise<PersistedGraph | null> {
  const key = `${repo.tenantId}/${repo.repoId}/${snapshot?.purges ?? 0}`;
  const at = Date.now();
  const hit = chains.get(key);
  if (hit && at - hit.at < CHAIN_TTL_MS) return Promise.resolve(hit.graph);
  return joinWithinRequest(`commit-graph-chain\0${key}`, async () => {
    const graph = await readChain(env, repo);
    if (chains.size > 1000) chains.clear();
    chains.set(key, { at, graph });
    return graph;
  });
}

/** Lets `graph` answer from the persisted commit-graph where it covers a commit. */
export function attachCommitGraph(env: Env, repo: RepoRef, snapshot: RepoSnapshot, graph: CommitGraph): CommitGraph {
  graph.usePersisted(() => loadCommitGraph(env, repo, snapshot));
  return graph;
}

/**
 * Builds running in this isolate, per repository. A request joins its own build; while another
 * request's build runs it goes without (walks read commits where the graph lacks them) rather
 * than run a second build (a first build of a big history holds tens of MiB) or wait on one
 * that its request's cancellation would leave pending forever. A build older than
 * BUILD_STALE_MS is taken as lost that way, and the next request builds.
 */
const building = new IsolateRuns<number>();
export const BUILD_STALE_MS = 15 * 60_000;

/**
 * Adds the commits reachable from the snapshot's refs that the chain lacks (only those: a push
 * adds its new commits). Returns how many were added (0 also when another request's build is
 * running).
 */
export function extendForSnapshot(
  env: Env,
  repo: RepoRef,
  snapshot: RepoSnapshot,
  store: ObjectStore,
  opts: { layerMax?: number; pause?: () => Promise<void> } = {},
): Promise<number> {
  const key = `${repo.tenantId}/${repo.repoId}`;
  return building.runUnlessBusy(
    key,
    async () => {
      const at = Date.now();
      const added = await build(env, repo, snapshot, store, opts.layerMax ?? LAYER_MAX, opts.pause);
      if (added > 0) logJob("graph", at, { repo: repo.repoId, added, ...callsSoFar(env) });
      return added;
    },
    0,
    BUILD_STALE_MS,
  );
}

async function build(
  env: Env,
  repo: RepoRef,
  snapshot: RepoSnapshot,
  store: ObjectStore,
  layerMax: number,
  pause: (() => Promise<void>) | undefined,
): Promise<number> {
  const tips = [...new Set(snapshot.refs.map((r) => r.peeled ?? r.oid))];
  const graph = await readChain(env, repo);
  return extendCommitGraph(
    {
      store,
      graph,
      writeLayer: async (bytes) => {
        const name = sha1().update(bytes).digest("hex");
        const layerKey = r2Keys.commitGraphLayer(repo.tenantId, repo.repoId, name);
        await env.OBJECTS.put(layerKey, bytes);
        return openLayer(env, layerKey, bytes.length);
      },
      saveChain: async (list) => {
        const chain: StoredChain = { v: 1, layers: list.map((l) => ({ key: l.source.id, size: l.source.size })) };
        await env.OBJECTS.put(r2Keys.commitGraphChain(repo.tenantId, repo.repoId), JSON.stringify(chain), {
          httpMetadata: { contentType: "application/json" },
        });
        chains.delete(`${repo.tenantId}/${repo.repoId}/${snapshot.purges ?? 0}`);
      },
      pause,
    },
    tips,
    layerMax,
  );
}
