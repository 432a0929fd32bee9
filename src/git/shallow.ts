// Shallow clones and fetches: where history is cut (deepen, deepen-since, deepen-not,
// deepen-relative) and which of the client's shallow commits get their parents back.
import type { CommitGraph } from "./commit-graph";
import { CommitQueue } from "./commit-graph";
import type { Oid } from "./oid";

/** The depth git sends for --unshallow. */
const INFINITE_DEPTH = 0x7fffffff;

export interface DeepenRequest {
  depth: number;
  relative: boolean;
  since: number | null;
  /** Commits (resolved from deepen-not refs) whose history is excluded. */
  not: Oid[];
}

export interface ShallowPlan {
  /** New shallow commits to announce ("shallow <oid>"). */
  shallow: Oid[];
  /** Client shallow commits whose parents will now be sent ("unshallow <oid>"). */
  unshallow: Oid[];
  /** Commits whose parents the pack must not include. */
  boundary: Set<Oid>;
}

export async function planShallow(
  graph: CommitGraph,
  wantCommits: Oid[],
  clientShallow: Set<Oid>,
  req: DeepenRequest | null,
): Promise<ShallowPlan> {
  if (!req) return { shallow: [], unshallow: [], boundary: new Set(clientShallow) };
  if (req.depth >= INFINITE_DEPTH) {
    return { shallow: [], unshallow: [...clientShallow], boundary: new Set() };
  }
  const included = new Map<Oid, number>(); // commit -> depth from its start
  const boundary = new Set<Oid>();
  if (req.depth > 0) {
    // Breadth first, so each commit is first met at its smallest depth.
    const start = req.relative ? [...clientShallow] : wantCommits;
    const limit = req.relative ? req.depth + 1 : req.depth;
    let level = [...new Set(start)];
    for (const oid of level) included.set(oid, 0);
    for (let d = 0; level.length && d < limit; d++) {
      const next: Oid[] = [];
      for (const oid of level) {
        const c = await graph.commit(oid);
        if (d === limit - 1) {
          if (c.parents.length) boundary.add(oid);
          continue;
        }
        for (const p of c.parents) {
          if (included.has(p) || !(await graph.store.has(p))) continue;
          included.set(p, d + 1);
          next.push(p);
        }
      }
      level = next;
    }
  } else {
    // deepen-since / deepen-not: everything newer than the date and not reachable from the refs.
    const excluded = new Set<Oid>();
    if (req.not.length) await markReachable(req.not, excluded);
    const queue = new CommitQueue();
    for (const w of new Set(wantCommits)) {
      if (excluded.has(w)) continue;
      included.set(w, 0);
      queue.push(await graph.commit(w));
    }
    while (queue.size) {
      const c = queue.pop()!;
      for (const p of c.parents) {
        if (included.has(p) || excluded.has(p) || !(await graph.store.has(p))) {
          if (!included.has(p)) boundary.add(c.oid);
          continue;
        }
        const pc = await graph.commit(p);
        if (req.since !== null && pc.time < req.since) {
          boundary.add(c.oid);
          continue;
        }
        included.set(p, 0);
        queue.push(pc);
      }
    }
  }
  const shallow = [...boundary].filter((oid) => !clientShallow.has(oid));
  const unshallow = [...clientShallow].filter((oid) => included.has(oid) && !boundary.has(oid));
  for (const s of clientShallow) if (!unshallow.includes(s)) boundary.add(s);
  return { shallow, unshallow, boundary };

  async function markReachable(tips: Oid[], into: Set<Oid>): Promise<void> {
    const stack = [...tips];
    while (stack.length) {
      const oid = stack.pop()!;
      if (into.has(oid) || !(await graph.store.has(oid))) continue;
      into.add(oid);
      stack.push(...(await graph.commit(oid)).parents);
    }
  }
}
