// Negotiation helpers: when the server can stop asking for haves, and whether a want may be served.
import type { CommitGraph } from "./commit-graph";
import { CommitQueue } from "./commit-graph";
import type { Oid } from "./oid";
import { parseTag } from "./objects";
import type { Budget } from "./budget";

/** Clock skew tolerated when cutting walks off by commit time (seconds). */
const SKEW = 24 * 3600;

/**
 * True when every wanted commit reaches a commit the client has (or a parent of one), so a pack
 * can be built: git's ok_to_give_up. A commit whose parent they have reaches it, whatever its
 * date. Below that, commits the commit-graph holds are cut off by generation number (one at or
 * below every have's cannot reach any), others by time: older than the oldest have, less skew.
 */
export async function canGiveUp(graph: CommitGraph, wantCommits: Oid[], commonHaves: Oid[]): Promise<boolean> {
  if (commonHaves.length === 0) return false;
  const theyHave = new Set<Oid>();
  let oldest = Infinity;
  // The lowest generation among the haves (and parents) the graph holds: commits the graph holds
  // reach only commits it holds, and only of a lower generation.
  let lowest = Infinity;
  for (const have of commonHaves) {
    // A have of a tag stands for the commit it peels to; trees and blobs say nothing of history.
    const h = await peelToCommit(graph, have);
    if (!h) continue;
    const c = await graph.commit(h);
    theyHave.add(h);
    for (const p of c.parents) theyHave.add(p);
    oldest = Math.min(oldest, c.time);
    if (c.generation === undefined) continue;
    lowest = Math.min(lowest, c.generation);
    for (const p of c.parents) lowest = Math.min(lowest, (await graph.commit(p)).generation ?? lowest);
  }
  if (theyHave.size === 0) return false;
  const cut: Cutoff = { time: oldest - SKEW, generation: lowest, graph: (await graph.persistedGraph()) !== null };
  const reaches = new Set<Oid>();
  for (const want of wantCommits) {
    if (!(await reachesAny(graph, want, theyHave, reaches, cut))) return false;
  }
  return true;
}

/** The commit an object is or (through tags) names, if this repository has it; else null. */
export async function peelToCommit(graph: CommitGraph, oid: Oid): Promise<Oid | null> {
  for (let i = 0; i < 100 && (await graph.store.has(oid)); i++) {
    const info = await graph.store.info(oid);
    if (info.type === "commit") return oid;
    if (info.type !== "tag") return null;
    oid = parseTag(await graph.store.readTyped(oid, "tag")).object;
  }
  return null;
}

interface Cutoff {
  /** Commits older than this (seconds) are taken to reach no target, where nothing better is known. */
  time: number;
  /** Commits the graph holds at or below this generation reach no target. */
  generation: number;
  /** Whether a persisted graph is attached: commits it lacks are then the few pushed since its build. */
  graph: boolean;
}

async function reachesAny(graph: CommitGraph, from: Oid, targets: Set<Oid>, known: Set<Oid>, cut: Cutoff): Promise<boolean> {
  const seen = new Set<Oid>();
  const stack = [from];
  const theirs = (oid: Oid) => targets.has(oid) || known.has(oid);
  while (stack.length) {
    const oid = stack.pop()!;
    if (theirs(oid)) {
      known.add(from);
      return true;
    }
    if (seen.has(oid)) continue;
    seen.add(oid);
    const c = await graph.commit(oid);
    if (c.parents.some(theirs)) {
      known.add(from);
      return true;
    }
    // Dates only where no generation is known: a commit dated before its parent (clock skew)
    // would otherwise be cut off above the haves it reaches.
    if (c.generation !== undefined ? c.generation <= cut.generation : !cut.graph && c.time < cut.time) continue;
    stack.push(...c.parents);
  }
  return false;
}

/**
 * Whether `commit` is reachable from one of `tips` (allow-reachable-sha1-in-want). Walks newest
 * first and stops once every queued commit is older than the target. With a budget, a walk that
 * spends it answers false: callers that show things only if reachable fail closed.
 */
export async function isReachable(graph: CommitGraph, commit: Oid, tips: Oid[], budget?: Budget): Promise<boolean> {
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
    if (budget && (await budget.step())) return false;
    if (c.time < target.time - SKEW) return false;
    // A commit whose generation number is not above the target's cannot reach it (commit-graph).
    if (c.generation !== undefined && target.generation !== undefined && c.generation <= target.generation) continue;
    for (const p of c.parents) {
      if (seen.has(p)) continue;
      seen.add(p);
      queue.push(await graph.commit(p));
    }
  }
  return false;
}
