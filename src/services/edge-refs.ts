// Refs at the edge: the repository snapshot (refs, HEAD, packs) that pages read, kept in the data
// centre's Cache API for a few seconds, so that a warm page by branch makes no call to the
// repository's Durable Object (one region: a round trip away for most readers). A push, HEAD
// change or purge made through this data centre drops the entry at once; elsewhere it shows
// within EDGE_REFS_TTL_SECONDS. Git itself (fetch, clone, push) always asks the object.
import type { RepoSnapshot } from "../repo/repo-object";
import type { RepoRef } from "../storage/pack-store";

/**
 * How long a data centre may show refs older than the Durable Object's: the bound after which a
 * push made elsewhere shows on pages. Packs a snapshot names stay readable an hour after they are
 * retired (repo/compaction.ts), far longer.
 */
export const EDGE_REFS_TTL_SECONDS = 5;

/** The Cache API key of a repository's snapshot: not on a tenant's host, so any host (and the admin API) drops it. */
export const edgeRefsUrl = (repo: RepoRef) => `https://derived.edgeforge.invalid/${repo.tenantId}/${repo.repoId}/refs/v1`;

const VERSION_HEADER = "x-refs-version";

const edgeCache = (): Cache | null => (typeof caches !== "undefined" ? (caches as unknown as { default: Cache }).default : null);

/**
 * The snapshot this data centre keeps, if younger than the bound; `known` (the isolate's parsed
 * copy) when it is the same version, so that the entry's body is parsed only when it moved.
 */
export async function cachedRefs(repo: RepoRef, known: RepoSnapshot | undefined): Promise<RepoSnapshot | null> {
  const hit = await edgeCache()?.match(edgeRefsUrl(repo));
  if (!hit) return null;
  if (known && known.version === Number(hit.headers.get(VERSION_HEADER))) {
    await hit.body?.cancel();
    return known;
  }
  return (await hit.json()) as RepoSnapshot;
}

/** Keeps `snapshot` (just read from the Durable Object) for this data centre's next readers. */
export async function keepRefs(repo: RepoRef, snapshot: RepoSnapshot): Promise<void> {
  await edgeCache()?.put(
    edgeRefsUrl(repo),
    new Response(JSON.stringify(snapshot), {
      headers: {
        "content-type": "application/json",
        "cache-control": `max-age=${EDGE_REFS_TTL_SECONDS}`,
        [VERSION_HEADER]: String(snapshot.version),
      },
    }),
  );
}

/** Drops this data centre's copy after a change of refs, HEAD or packs made through it: its pages show the change at once. */
export async function forgetEdgeRefs(repo: RepoRef): Promise<void> {
  await edgeCache()?.delete(edgeRefsUrl(repo));
}
