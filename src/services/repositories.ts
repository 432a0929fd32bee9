// Opening a project's repository: its Durable Object (refs, HEAD, packs), a cached snapshot of
// them (per isolate, and for pages in the data centre: edge-refs.ts), and an object store over its
// packs in R2 (storage/pack-store.ts).
import type { Env } from "../env";
import type { PurgeResult, RepoObject, RepoSnapshot } from "../repo/repo-object";
import { CommitGraph } from "../git/commit-graph";
import type { ObjectStore } from "../git/object-store";
import { WindowedSource } from "../git/range-source";
import type { RepoView } from "../git/upload-pack";
import { R2Source } from "../storage/r2-source";
import { doNames, r2Keys } from "../storage/keys";
import { openStore, type RepoRef } from "../storage/pack-store";
import { ForgeError } from "../utils/errors";
import { attachCommitGraph } from "./commit-graphs";
import { cachedRefs, confirmationMark, confirmRefs, forgetEdgeRefs, keepRefs, recentlyConfirmed } from "./edge-refs";
import { edgeLru } from "../utils/edge-budget";

// Callers open stores and name repositories through this module.
export { loadPackIndex, openPack, openStore, type RepoRef } from "../storage/pack-store";
export { forgetEdgeRefs } from "./edge-refs";

export function repoStub(env: Env, repo: RepoRef): DurableObjectStub<RepoObject> {
  return env.REPO.get(env.REPO.idFromName(doNames.repo(repo.tenantId, repo.repoId)));
}

/** The last snapshot seen of each repository; shared by the isolate's requests: read-only. */
const snapshots = edgeLru<string, RepoSnapshot>(
  "services.repo-snapshots",
  (s) => 256 + s.refs.length * 160 + s.packs.length * 160,
);

/** The repository's current refs and packs: the Durable Object confirms (or replaces) the cached copy. */
export async function currentSnapshot(env: Env, repo: RepoRef): Promise<RepoSnapshot> {
  const key = doNames.repo(repo.tenantId, repo.repoId);
  const known = snapshots.get(key);
  const fresh = await repoStub(env, repo).snapshotUnless(known?.version ?? -1);
  if (fresh === null) return known!;
  snapshots.set(key, fresh);
  return fresh;
}

/**
 * The snapshot pages read: the isolate's own when it confirmed it within EDGE_REFS_ISOLATE_MS (no
 * call at all), else the data centre's copy when it is younger than EDGE_REFS_TTL_SECONDS
 * (services/edge-refs.ts: no call to the Durable Object), else currentSnapshot, then kept there.
 */
export async function pageSnapshot(env: Env, repo: RepoRef): Promise<RepoSnapshot> {
  const key = doNames.repo(repo.tenantId, repo.repoId);
  const known = snapshots.get(key);
  // Confirmed by this isolate a moment ago (EDGE_REFS_ISOLATE_MS): no Cache API call.
  if (known && recentlyConfirmed(repo)) return known;
  const mark = confirmationMark();
  const cached = await cachedRefs(repo, known);
  if (cached) {
    snapshots.set(key, cached);
    confirmRefs(repo, mark);
    return cached;
  }
  const fresh = await currentSnapshot(env, repo);
  await keepRefs(repo, fresh);
  confirmRefs(repo, mark);
  return fresh;
}

/**
 * Everything a fetch needs: refs and HEAD from the Durable Object (never stale), and the objects,
 * opened only if the request needs them (a ref listing or a whole clone reads no pack index).
 */
export async function openRepoView(env: Env, repo: RepoRef): Promise<RepoView & { snapshot: RepoSnapshot }> {
  const snapshot = await currentSnapshot(env, repo);
  const only = snapshot.packs.length === 1 ? snapshot.packs[0] : undefined;
  let store: Promise<ObjectStore> | null = null;
  return {
    snapshot,
    head: snapshot.head,
    refs: snapshot.refs.map((r) => ({ name: r.name, oid: r.oid, peeled: r.peeled ?? undefined })),
    store: () => (store ??= openStore(env.OBJECTS, repo, snapshot)),
    // Negotiation and the object walk of a fetch go by generation numbers where the graph has them.
    commitGraph: (objects) => attachCommitGraph(env, repo, snapshot, new CommitGraph(objects)),
    completePack: only?.closure
      ? {
          source: new WindowedSource(new R2Source(env.OBJECTS, r2Keys.pack(repo.tenantId, repo.repoId, only.name), only.bytes)),
          objects: only.objects,
          closure: only.closure,
        }
      : undefined,
  };
}

/** Branch names (without refs/heads/) of a repository, for settings forms. */
export async function listBranches(env: Env, repo: RepoRef): Promise<{ head: string; branches: string[] }> {
  const snapshot = await repoStub(env, repo).snapshot();
  const branches = snapshot.refs.filter((r) => r.name.startsWith("refs/heads/")).map((r) => r.name.slice(11));
  return { head: snapshot.head.replace(/^refs\/heads\//, ""), branches };
}

/** Points HEAD at an existing branch (the repository's default branch). */
export async function setDefaultBranch(env: Env, repo: RepoRef, branch: string): Promise<void> {
  const { branches } = await listBranches(env, repo);
  if (!branches.includes(branch)) throw new ForgeError("bad_request", `There is no branch ${branch}.`);
  await repoStub(env, repo).setHead(`refs/heads/${branch}`);
  await forgetEdgeRefs(repo);
}

/**
 * Removes the objects no branch or tag reaches, now (compaction on demand): pages stop showing
 * them at once, fetches in flight finish on the old packs, which go after the grace period.
 */
export async function purgeUnreachable(env: Env, repo: RepoRef): Promise<PurgeResult> {
  const result = await repoStub(env, repo).purge({ tenantId: repo.tenantId, repoId: repo.repoId });
  await forgetEdgeRefs(repo);
  return result;
}
