// Refs at the edge: the repository snapshot (refs, HEAD, packs) that pages read, kept in the data
// centre's Cache API for a few seconds, so that a warm page by branch makes no call to the
// repository's Durable Object (one region: a round trip away for most readers). A push, HEAD
// change or purge made through this data centre drops the entry at once; elsewhere it shows
// within EDGE_REFS_TTL_SECONDS. Git itself (fetch, clone, push) always asks the object. An isolate
// that has just confirmed a snapshot uses it for EDGE_REFS_ISOLATE_MS without asking the cache again.
import { edgeCache } from "../obs/edge-cache";
import type { RepoSnapshot } from "../repo/repo-object";
import type { RepoRef } from "../storage/pack-store";
import { edgeLru } from "../utils/edge-budget";

/**
 * How long a data centre may show refs older than the Durable Object's: the bound after which a
 * push made elsewhere shows on pages. Packs a snapshot names stay readable an hour after they are
 * retired (repo/compaction.ts), far longer.
 */
export const EDGE_REFS_TTL_SECONDS = 5;

/** The Cache API key of a repository's snapshot: not on a tenant's host, so any host (and the admin API) drops it. */
export const edgeRefsUrl = (repo: RepoRef) => `https://derived.edgeforge.invalid/${repo.tenantId}/${repo.repoId}/refs/v1`;

const VERSION_HEADER = "x-refs-version";

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

/**
 * How long an isolate takes its own copy of a snapshot as the data centre's after it confirmed it
 * (from the Cache API or the Durable Object), without another Cache API call: a warm page by
 * branch then makes no call at all (issue 19: each call queued behind Miniflare's services). A
 * change made through this isolate drops it at once (forgetEdgeRefs); one made through another
 * isolate of the data centre shows here within this much more.
 */
export const EDGE_REFS_ISOLATE_MS = 1_000;

/** The isolate's clock for confirmations (tests move it). */
export const edgeRefsClock = { now: () => Date.now() };

/** When this isolate last confirmed each repository's snapshot, by edgeRefsUrl: 256 KiB (160 bytes a key and time). */
const confirmed = edgeLru<string, number>("services.edge-refs", () => 160);

/**
 * Bumped by every forget: a page that read its snapshot before a change and finishes after it
 * must not confirm the old snapshot for the isolate's next pages.
 */
let forgets = 0;

/** The mark a page takes before it reads a snapshot, to confirm it with afterwards. */
export const confirmationMark = (): number => forgets;

/** Whether this isolate confirmed the repository's snapshot within EDGE_REFS_ISOLATE_MS. */
export function recentlyConfirmed(repo: RepoRef): boolean {
  const at = confirmed.get(edgeRefsUrl(repo));
  return at !== undefined && edgeRefsClock.now() - at < EDGE_REFS_ISOLATE_MS;
}

/** Notes that the isolate's snapshot of `repo` is the data centre's, unless a change came since `mark`. */
export function confirmRefs(repo: RepoRef, mark: number): void {
  if (mark === forgets) confirmed.set(edgeRefsUrl(repo), edgeRefsClock.now());
}

/** Drops this data centre's copy after a change of refs, HEAD or packs made through it: its pages show the change at once. */
export async function forgetEdgeRefs(repo: RepoRef): Promise<void> {
  forgets++;
  confirmed.delete(edgeRefsUrl(repo));
  await edgeCache()?.delete(edgeRefsUrl(repo));
}
