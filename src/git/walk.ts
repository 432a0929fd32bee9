// Which objects a fetch sends: everything reachable from the wants, minus what the client has
// (reachable from its common haves), cut at shallow boundaries and thinned by object filters.
// The same shape as `git rev-list --objects <wants> --not <haves>`, with git's date-ordered walk.
import { Pacer } from "../utils/pace";
import { type CommitGraph, CommitQueue, type CommitInfo } from "./commit-graph";
import { GitError, protocolError } from "./errors";
import { forEachTreeEntry, forEachTreeEntryAt, isSubmoduleMode, isTreeMode, parseTag } from "./objects";
import { hexInto, oidAt, type ObjectType, type Oid } from "./oid";
import { OidTypeMap } from "./oid-map";

export type ObjectFilter = { kind: "blob:none" } | { kind: "blob:limit"; limit: number } | { kind: "tree"; depth: number };

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
  /**
   * About how many objects the walk will list, when known (a compaction: its packs' counts): the
   * set is made that large at once. Grown by doubling, git/git's 900,000 objects went through a
   * copy of 15 MB into 30 MB (both held until a collection) on top of everything else the walk holds.
   */
  expectedObjects?: number;
}

export interface WalkResult {
  /** Objects to send, with their types, in walk order (raw ids in typed arrays: tens of bytes each). */
  objects: OidTypeMap;
  /** Objects the client is known to have (for thin-pack deltas). */
  clientHas: Set<Oid>;
  /** For sent blobs: the client's version of the same path, a good base for a new delta. */
  deltaBases: Map<Oid, Oid>;
  commits: number;
}

/** Commits or trees read between two yields to other requests. */
const WALK_SLICE_STEPS = 128;
/** How many queued commits past the interesting frontier the walk keeps going (clock skew). */
const SLOP = 5;
/** Commits the walk may read ahead of its queue, in all, to settle new commits on the client's. */
const LOOKAHEAD = 32;

export async function enumerateObjects(graph: CommitGraph, input: WalkInput): Promise<WalkResult> {
  const store = graph.store;
  const objects = new OidTypeMap(Math.max(1024, input.expectedObjects ?? 0));
  const clientHas = new Set<Oid>();
  const deltaBases = new Map<Oid, Oid>();
  // A clone walks every commit and tree; from cache no read waits, so the walk yields in slices.
  const pacer = new Pacer(WALK_SLICE_STEPS);
  // The tree walk's stack of trees to read (with depths), a tree's entries new to the walk (with
  // kinds), and the first tree's raw id: reused for every tree.
  const treeStack = new IdList();
  const entries = new IdList();
  const rootId = new Uint8Array(20);

  // Wants: peel tags (sending the tags), keep commits for the walk, other objects as they are.
  const startCommits: Oid[] = [];
  for (const want of input.wants) {
    const peeled = await graph.peel(want);
    for (const t of peeled.tags) objects.set(t, "tag");
    if (peeled.type === "commit") startCommits.push(peeled.oid);
    else objects.set(peeled.oid, peeled.type);
    if (peeled.type === "tree") await addTree(peeled.oid, 0, true);
  }

  // Commit walk, newest first (by generation where the commit-graph holds the commits, so that a
  // commit dated before its parent is not left until every commit dated after it was walked);
  // uninteresting marks spread from the haves.
  const uninteresting = new Set<Oid>();
  const seen = new Set<Oid>();
  const queue = new CommitQueue(true);
  const interesting: CommitInfo[] = [];
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
    const c = await graph.commit(oid);
    const settled = bad ? null : await settle(c);
    if (settled) {
      // Every commit below these is the client's: nothing of history is to be walked for them,
      // so they need not wait their turn in the queue. Queued, a commit the graph lacks and dated
      // before the haves' history (a clock behind it) came out only after every commit dated
      // after it, each walked as uninteresting: most of big.git's history while its graph was stale.
      for (const s of settled) {
        seen.add(s.oid);
        interesting.push(s);
      }
      return;
    }
    if (!bad) queuedInteresting.add(oid);
    queue.push(c);
  };
  // Look-ahead left for `settle`, for the whole walk: a clone (no haves) never looks ahead, and a
  // fetch whose new commits do not end on the client's reads at most this many commits early.
  let lookahead = input.haves.length > 0 ? LOOKAHEAD : 0;
  /**
   * `c` and the interesting commits below it, when they are few (the look-ahead left) and every
   * parent beyond them is marked as the client's; else null (the queue orders them).
   */
  async function settle(c: CommitInfo): Promise<CommitInfo[] | null> {
    const found: CommitInfo[] = [];
    const stack = [c];
    const mine = new Set([c.oid]);
    while (stack.length > 0) {
      const x = stack.pop()!;
      found.push(x);
      if (input.shallow.has(x.oid)) continue;
      for (const p of x.parents) {
        if (uninteresting.has(p) || mine.has(p)) continue;
        // Queued already, or past the look-ahead: the queue decides.
        if (seen.has(p) || lookahead <= 0) return null;
        lookahead--;
        mine.add(p);
        stack.push(await graph.commit(p));
      }
    }
    return found;
  }
  // Any object the client has is a have (git accepts them all): a tag stands for what it peels
  // to, a tree or blob is just known to the client. Only commits start the uninteresting walk.
  for (const h of input.haves) {
    const peeled = await peelHave(h);
    if (peeled?.type === "commit") await enqueue(peeled.oid, true);
    else if (peeled) clientHas.add(peeled.oid);
  }
  for (const w of startCommits) await enqueue(w, false);

  let slop = SLOP;
  while (queue.size > 0) {
    const paused = pacer.tick();
    if (paused) await paused;
    const c = queue.pop()!;
    queuedInteresting.delete(c.oid);
    const bad = uninteresting.has(c.oid);
    const parents = input.shallow.has(c.oid) ? [] : c.parents;
    if (bad) {
      // A commit the commit-graph holds has its parents there: present without an index lookup.
      const present = parents.length === 0 ? parents : await graph.presentParents(c);
      for (const p of present) await enqueue(p, true);
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

  // What the client has, found sparsely (as git's pack.useSparse): walk the edge commits' trees
  // and the trees we send side by side, descending only into paths where they differ. Unchanged
  // subtrees are the client's whole; at changed paths, its version is the best delta base.
  const edgeTrees: Oid[] = [];
  for (const e of edges) {
    clientHas.add(e);
    if (await store.has(e)) edgeTrees.push((await graph.commit(e)).tree);
  }
  if (edgeTrees.length > 0) {
    await markSparse(
      edgeTrees,
      sent.map((c) => c.tree),
    );
  }

  for (const c of sent) await addTree(c.tree, 0, false);

  if (input.includeTags) {
    for (const [tag, chain] of input.includeTags) {
      if (objects.has(tag) || clientHas.has(tag)) continue;
      const target = chain[chain.length - 1]!;
      if (objects.has(target)) for (const t of chain.slice(0, -1)) objects.set(t, "tag");
    }
  }
  return { objects, clientHas, deltaBases, commits: sent.length };

  /** Marks `haveTrees` (all at one path) as the client's, and recurses where `wantTrees` differ. */
  async function markSparse(haveTrees: Oid[], wantTrees: Oid[]): Promise<void> {
    const have = [...new Set(haveTrees)];
    const want = [...new Set(wantTrees)].filter((t) => !clientHas.has(t) && !have.includes(t));
    for (const t of have) clientHas.add(t);
    if (want.length === 0) return;
    const byName = new Map<string, { have: Oid[]; want: Oid[] }>();
    const entry = (name: string) => {
      let e = byName.get(name);
      if (!e) byName.set(name, (e = { have: [], want: [] }));
      return e;
    };
    const decode = new TextDecoder();
    for (const [side, trees] of [
      ["have", have],
      ["want", want],
    ] as const) {
      for (const t of trees) {
        const data = await store.readTyped(t, "tree");
        forEachTreeEntry(data, (mode, oid, s, e) => {
          if (isSubmoduleMode(mode)) return;
          const name = decode.decode(data.subarray(s, e)) + (isTreeMode(mode) ? "/" : "");
          entry(name)[side].push(oid);
          if (side === "have" && !isTreeMode(mode)) clientHas.add(oid);
        });
      }
    }
    for (const [name, e] of byName) {
      if (!name.endsWith("/")) {
        // Blobs: the client's version at the same path is the natural delta base.
        if (e.have.length) for (const w of e.want) if (!clientHas.has(w)) deltaBases.set(w, e.have[0]!);
        continue;
      }
      if (e.have.length) for (const w of e.want) if (!clientHas.has(w)) deltaBases.set(w, e.have[0]!);
      if (e.want.some((w) => !clientHas.has(w))) await markSparse(e.have, e.want);
      else for (const h of e.have) clientHas.add(h);
    }
  }

  /** A have followed through its tags (marked as the client's) while this repository has them. */
  async function peelHave(oid: Oid): Promise<{ oid: Oid; type: ObjectType } | null> {
    for (let i = 0; i < 100 && (await store.has(oid)); i++) {
      const info = await store.info(oid);
      if (info.type !== "tag") return { oid, type: info.type };
      clientHas.add(oid);
      oid = parseTag(await store.readTyped(oid, "tag")).object;
    }
    return null;
  }

  /**
   * `tree` and everything under it the walk lacks, depth first in entry order (git's), each tree's
   * new blobs before its subtrees. By raw ids, on a stack of its own: one async call and a hex id
   * a tree read, where a call a tree, a hex string an entry new to the walk and a list of them a
   * level were held down every path (most of a compaction's garbage, bench/scale-results.md).
   */
  async function addTree(tree: Oid, depth: number, explicit: boolean): Promise<void> {
    const filter = input.filter;
    if (!explicit && (clientHas.has(tree) || objects.has(tree))) return;
    if (filter?.kind === "tree" && depth >= filter.depth && !explicit) return;
    treeStack.push(hexInto(tree, rootId), 0, depth);
    let root = true;
    while (treeStack.length > 0) {
      const top = treeStack.pop();
      const at = top * 20;
      const level = treeStack.numbers[top]!;
      // The hex id for the read (and for the client's set, when there is one), made before any push
      // overwrites the slot.
      const oid = oidAt(treeStack.ids, at);
      if (!root) {
        if (objects.hasAt(treeStack.ids, at) || clientHas.has(oid)) continue;
        if (filter?.kind === "tree" && level >= filter.depth) continue;
      }
      root = false;
      objects.addAt(treeStack.ids, at, "tree");
      const paused = pacer.tick();
      if (paused) await paused;
      // Through the graph's reader (a compaction's own): parsed before the next read.
      const obj = await graph.read(oid);
      if (obj.type !== "tree") throw new GitError("missing_object", `object ${oid} is a ${obj.type}, not a tree`);
      const data = obj.data;
      // Ids the set holds already (most entries: unchanged since the tree's next version) are
      // skipped by their raw bytes.
      entries.clear();
      forEachTreeEntryAt(data, (kind, idAt) => {
        if (kind === "commit" || objects.hasAt(data, idAt)) return;
        entries.push(data, idAt, kind === "tree" ? 1 : 0);
      });
      for (let i = 0; i < entries.length; i++) {
        if (entries.numbers[i] === 1) continue;
        const id = i * 20;
        if (objects.hasAt(entries.ids, id)) continue;
        if (clientHas.size > 0 && clientHas.has(oidAt(entries.ids, id))) continue;
        if (filter?.kind === "blob:none") continue;
        if (filter?.kind === "tree" && level + 1 >= filter.depth) continue;
        if (filter?.kind === "blob:limit" && (await store.info(oidAt(entries.ids, id))).size >= filter.limit) continue;
        if (!(await store.has(entries.ids.subarray(id, id + 20)))) {
          throw new GitError("missing_object", `blob ${oidAt(entries.ids, id)} is missing`);
        }
        objects.addAt(entries.ids, id, "blob");
      }
      // Pushed last first: the first subtree comes off next, and its whole walk before the second's.
      for (let i = entries.length - 1; i >= 0; i--) {
        if (entries.numbers[i] === 1) treeStack.push(entries.ids, i * 20, level + 1);
      }
    }
  }
}

/**
 * Raw 20-byte ids with a number each, in typed arrays grown by doubling: the tree walk's stack
 * (with depths) and a tree's new entries (with kinds), reused for every tree.
 */
class IdList {
  ids = new Uint8Array(64 * 20);
  numbers = new Int32Array(64);
  length = 0;

  push(bytes: Uint8Array, at: number, n: number): void {
    if (this.length === this.numbers.length) {
      const ids = new Uint8Array(this.ids.length * 2);
      ids.set(this.ids);
      const numbers = new Int32Array(this.numbers.length * 2);
      numbers.set(this.numbers);
      this.ids = ids;
      this.numbers = numbers;
    }
    // Byte by byte: a view to copy from would be an object an entry.
    const to = this.length * 20;
    for (let i = 0; i < 20; i++) this.ids[to + i] = bytes[at + i]!;
    this.numbers[this.length++] = n;
  }

  /** The place of the last id, removed: its bytes stay until the next push. */
  pop(): number {
    return --this.length;
  }

  clear(): void {
    this.length = 0;
  }
}
