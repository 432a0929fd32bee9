// Which objects a fetch sends: everything reachable from the wants, minus what the client has
// (reachable from its common haves), cut at shallow boundaries and thinned by object filters.
// The same shape as `git rev-list --objects <wants> --not <haves>`, with git's date-ordered walk.
import { CommitGraph, CommitQueue, type CommitInfo } from "./commit-graph";
import { GitError, protocolError } from "./errors";
import { forEachTreeEntry, isSubmoduleMode, isTreeMode } from "./objects";
import type { ObjectType, Oid } from "./oid";

export type ObjectFilter =
  | { kind: "blob:none" }
  | { kind: "blob:limit"; limit: number }
  | { kind: "tree"; depth: number };

/** Parses a filter-spec as `git rev-list --filter` takes it (the subset servers offer). */
export function parseFilter(spec: string): ObjectFilter {
  if (spec === "blob:none") return { kind: "blob:none" };
  let m = /^blob:limit=(\d+)([kmg]?)$/i.exec(spec);
  if (m) {
    const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"];
    return { kind: "blob:limit", limit: Number(m[1]) * unit };
  }
  m = /^tree:(\d+)$/.exec(spec);
  if (m) return { kind: "tree", depth: Number(m[1]) };
  throw protocolError(`filter '${spec}' not supported`);
}

export interface WalkInput {
  /** Objects the client asked for (commits, tags, or any object for lazy fetches). */
  wants: Oid[];
  /** Commits the client has (only those this repository has too). */
  haves: Oid[];
  /** Commits whose parents are not to be walked (client shallows kept, new shallow boundary). */
  shallow: Set<Oid>;
  filter?: ObjectFilter;
  /** Annotated tags (tag oid -> the object it peels to) offered for include-tag. */
  includeTags?: Map<Oid, Oid[]>;
}

export interface WalkResult {
  /** Objects to send, with their types. */
  objects: Map<Oid, ObjectType>;
  /** Objects the client is known to have (for thin-pack deltas). */
  clientHas: Set<Oid>;
  commits: number;
}

/** How many queued commits past the interesting frontier the walk keeps going (clock skew). */
const SLOP = 5;

export async function enumerateObjects(graph: CommitGraph, input: WalkInput): Promise<WalkResult> {
  const store = graph.store;
  const objects = new Map<Oid, ObjectType>();
  const clientHas = new Set<Oid>();

  // Wants: peel tags (sending the tags), keep commits for the walk, other objects as they are.
  const startCommits: Oid[] = [];
  for (const want of input.wants) {
    const peeled = await graph.peel(want);
    for (const t of peeled.tags) objects.set(t, "tag");
    if (peeled.type === "commit") startCommits.push(peeled.oid);
    else objects.set(peeled.oid, peeled.type);
    if (peeled.type === "tree") await addTree(peeled.oid, 0, true);
  }

  // Commit walk, newest first; uninteresting marks spread from the haves.
  const uninteresting = new Set<Oid>();
  const seen = new Set<Oid>();
  const queue = new CommitQueue();
  const interesting: CommitInfo[] = [];
  const visitedUninteresting: Oid[] = [];
  const edges = new Set<Oid>();
  // Queued commits still interesting: once none is left, the rest of history is the client's.
  const queuedInteresting = new Set<Oid>();
  const enqueue = async (oid: Oid, bad: boolean) => {
    if (bad) {
      uninteresting.add(oid);
      queuedInteresting.delete(oid);
    }
    if (seen.has(oid)) return;
    seen.add(oid);
    if (!bad) queuedInteresting.add(oid);
    queue.push(await graph.commit(oid));
  };
  for (const h of input.haves) await enqueue(h, true);
  for (const w of startCommits) await enqueue(w, false);

  let slop = SLOP;
  while (queue.size > 0) {
    const c = queue.pop()!;
    queuedInteresting.delete(c.oid);
    const bad = uninteresting.has(c.oid);
    const parents = input.shallow.has(c.oid) ? [] : c.parents;
    if (bad) {
      visitedUninteresting.push(c.oid);
      for (const p of parents) {
        if (store.has(p)) await enqueue(p, true);
      }
    } else {
      interesting.push(c);
      for (const p of parents) await enqueue(p, false);
    }
    if (queuedInteresting.size === 0) {
      if (--slop <= 0) break;
    } else {
      slop = SLOP;
    }
  }

  const sent = interesting.filter((c) => !uninteresting.has(c.oid));
  for (const c of sent) {
    objects.set(c.oid, "commit");
    if (input.shallow.has(c.oid)) continue;
    for (const p of c.parents) if (uninteresting.has(p)) edges.add(p);
  }

  // What the client has: the full trees of the edge commits (the have side next to what we send),
  // then of the other have-side commits the walk went through, whose objects make good thin-pack
  // bases for stored deltas (older versions of the same files).
  for (const e of [...edges, ...visitedUninteresting]) {
    if (clientHas.has(e)) continue;
    clientHas.add(e);
    if (!store.has(e)) continue;
    await markTreeHad((await graph.commit(e)).tree);
  }

  for (const c of sent) await addTree(c.tree, 0, false);

  if (input.includeTags) {
    for (const [tag, chain] of input.includeTags) {
      if (objects.has(tag) || clientHas.has(tag)) continue;
      const target = chain[chain.length - 1]!;
      if (objects.has(target)) for (const t of chain.slice(0, -1)) objects.set(t, "tag");
    }
  }
  return { objects, clientHas, commits: sent.length };

  async function markTreeHad(tree: Oid): Promise<void> {
    if (clientHas.has(tree)) return;
    clientHas.add(tree);
    const data = await store.readTyped(tree, "tree");
    const subtrees: Oid[] = [];
    forEachTreeEntry(data, (mode, oid) => {
      if (isSubmoduleMode(mode)) return;
      if (isTreeMode(mode)) subtrees.push(oid);
      else clientHas.add(oid);
    });
    for (const t of subtrees) await markTreeHad(t);
  }

  async function addTree(tree: Oid, depth: number, explicit: boolean): Promise<void> {
    const filter = input.filter;
    if (!explicit && (clientHas.has(tree) || objects.has(tree))) return;
    if (filter?.kind === "tree" && depth >= filter.depth && !explicit) return;
    objects.set(tree, "tree");
    const data = await store.readTyped(tree, "tree");
    const subtrees: Oid[] = [];
    const blobs: Oid[] = [];
    forEachTreeEntry(data, (mode, oid) => {
      if (isSubmoduleMode(mode)) return;
      if (isTreeMode(mode)) subtrees.push(oid);
      else blobs.push(oid);
    });
    for (const blob of blobs) {
      if (clientHas.has(blob) || objects.has(blob)) continue;
      if (filter?.kind === "blob:none") continue;
      if (filter?.kind === "tree" && depth + 1 >= filter.depth) continue;
      if (filter?.kind === "blob:limit" && (await store.info(blob)).size >= filter.limit) continue;
      if (!store.has(blob)) throw new GitError("missing_object", `blob ${blob} is missing`);
      objects.set(blob, "blob");
    }
    for (const t of subtrees) await addTree(t, depth + 1, false);
  }
}
