// Negotiation helpers: when the server can stop asking for haves, and whether a want may be served.
import type { CommitGraph } from "./commit-graph";
import { CommitQueue } from "./commit-graph";
import type { Oid } from "./oid";

/** Clock skew tolerated when cutting walks off by commit time (seconds). */
const SKEW = 24 * 3600;

/**
 * True when every wanted commit reaches a commit the client has (or a parent of one), so a pack
 * can be built: git's ok_to_give_up. Walks stop at commits older than the oldest have.
 */
export async function canGiveUp(graph: CommitGraph, wantCommits: Oid[], commonHaves: Oid[]): Promise<boolean> {
  if (commonHaves.length === 0) return false;
  const theyHave = new Set<Oid>();
  let oldest = Infinity;
  for (const h of commonHaves) {
    let c: Awaited<ReturnType<typeof graph.commit>>;
    try {
      c = await graph.commit(h);
    } catch {
      continue; // a have that is not a commit
    }
    theyHave.add(h);
    for (const p of c.parents) theyHave.add(p);
    oldest = Math.min(oldest, c.time);
  }
  if (theyHave.size === 0) return false;
  const reaches = new Set<Oid>();
  for (const want of wantCommits) {
    if (!(await reachesAny(graph, want, theyHave, reaches, oldest - SKEW))) return false;
  }
  return true;
}

async function reachesAny(graph: CommitGraph, from: Oid, targets: Set<Oid>, known: Set<Oid>, cutoff: number): Promise<boolean> {
  const seen = new Set<Oid>();
  const stack = [from];
  while (stack.length) {
    const oid = stack.pop()!;
    if (targets.has(oid) || known.has(oid)) {
      known.add(from);
      return true;
    }
    if (seen.has(oid)) continue;
    seen.add(oid);
    const c = await graph.commit(oid);
    if (c.time < cutoff) continue;
    stack.push(...c.parents);
  }
  return false;
}

/**
 * Whether `commit` is reachable from one of `tips` (allow-reachable-sha1-in-want). Walks newest
 * first and stops once every queued commit is older than the target.
 */
export async function isReachable(graph: CommitGraph, commit: Oid, tips: Oid[]): Promise<boolean> {
  const target = await graph.commit(commit);
  const queue = new CommitQueue();
  const seen = new Set<Oid>();
  for (const t of tips) {
    if (seen.has(t)) continue;
    seen.add(t);
    try {
      queue.push(await graph.commit(t));
    } catch {
      // tips that are not commits (tags peeled elsewhere, trees) do not lead to commits
    }
  }
  while (queue.size) {
    const c = queue.pop()!;
    if (c.oid === commit) return true;
    if (c.time < target.time - SKEW) return false;
    for (const p of c.parents) {
      if (seen.has(p)) continue;
      seen.add(p);
      queue.push(await graph.commit(p));
    }
  }
  return false;
}
