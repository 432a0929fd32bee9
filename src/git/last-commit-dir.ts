// The last commit of each entry of one directory (a tree page's column), walked over the
// persisted commit-graph by position: committer times, parent positions and changed-path Bloom
// filters are read from the graph's records, no commit id is decoded and no tree is read unless a
// filter says a commit may have changed an entry still open. The answer is the one
// last-commit.ts gives (the newest commit, by date, whose entry is the one at the start and
// differs from every parent's); used when the graph holds the start commit (then it holds every
// ancestor too). Given a checkpoint (an ancestor with a stored answer), an entry the same there as
// at the start needs only the commits the start reaches and the checkpoint does not: its answer is
// the newer (in the walk's order) of what those commits bring and the checkpoint's answer.
import { type BloomKey, bloomKey, filterMayContain } from "./bloom";
import type { Budget } from "./budget";
import type { CommitLinks, PersistedGraph } from "./commit-graph-file";
import type { ObjectStore } from "./object-store";
import { forEachTreeEntry, isTreeMode } from "./objects";
import type { Oid } from "./oid";

export interface DirectoryWalkStats {
  commits: number;
  filters: number;
  compares: number;
  trees: number;
}

/** An ancestor of the start with a stored answer, and what it holds for this directory. */
export interface DirectoryBase {
  /** Graph position of the ancestor. */
  pos: number;
  /** Entry name -> its id in the ancestor's directory. */
  listing: Map<string, Oid>;
  /** Entry name -> the ancestor's answer for it, with that commit's committer time. */
  answers: Map<string, { commit: Oid; time: number }>;
}

export interface DirectoryWalk {
  /** Entry name (as its bytes, one char per byte) -> commit id, for the entries resolved. */
  found: Map<string, Oid>;
  complete: boolean;
  scanned: number;
}

const EMPTY = new Uint8Array(0);
/** Comparisons in flight at once (a maybe of a filter costs two tree reads or more). */
const LOOKAHEAD = 16;
/**
 * Commits the walk may take past the oldest comparison not yet applied. Without it a walk whose
 * filters are all in memory never waits while a comparison's reads give other requests a turn
 * (object-store.ts), and so walks the whole history before the comparison that ends it lands.
 */
const RUN_AHEAD = 64;
const latin1 = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

/** A max-heap of graph positions by committer time (ties: the later position, a descendant's). */
class PositionQueue {
  private readonly pos: number[] = [];
  private readonly time: number[] = [];
  /** Each entry's parents (read with its time: not read again when it is taken). */
  private readonly parents: number[][] = [];
  /** The parents and committer time of the entry `pop` returned last. */
  poppedParents: number[] = [];
  poppedTime = 0;

  get size(): number {
    return this.pos.length;
  }

  private above(i: number, j: number): boolean {
    const t = this.time;
    return t[i]! > t[j]! || (t[i] === t[j] && this.pos[i]! > this.pos[j]!);
  }

  private swap(i: number, j: number): void {
    [this.pos[i], this.pos[j]] = [this.pos[j]!, this.pos[i]!];
    [this.time[i], this.time[j]] = [this.time[j]!, this.time[i]!];
    [this.parents[i], this.parents[j]] = [this.parents[j]!, this.parents[i]!];
  }

  push(pos: number, links: CommitLinks): void {
    this.pos.push(pos);
    this.time.push(links.time);
    this.parents.push(links.parents);
    for (let i = this.pos.length - 1; i > 0; ) {
      const up = (i - 1) >> 1;
      if (!this.above(i, up)) break;
      this.swap(i, up);
      i = up;
    }
  }

  pop(): number {
    const top = this.pos[0]!;
    this.poppedParents = this.parents[0]!;
    this.poppedTime = this.time[0]!;
    const lastPos = this.pos.pop()!;
    const lastTime = this.time.pop()!;
    const lastParents = this.parents.pop()!;
    if (this.pos.length > 0) {
      this.pos[0] = lastPos;
      this.time[0] = lastTime;
      this.parents[0] = lastParents;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.pos.length && this.above(l, m)) m = l;
        if (r < this.pos.length && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/**
 * Walks from the commit at graph position `start` until every entry of `targets` (name bytes ->
 * the entry's id at the start) has its commit, or the budget is spent. `dir` is the directory's
 * path (names as bytes, one char per byte).
 */
export async function walkDirectory(
  graph: PersistedGraph,
  store: ObjectStore,
  start: number,
  dir: string[],
  targets: Map<string, Oid>,
  opts: { budget?: Budget; stats?: DirectoryWalkStats; base?: DirectoryBase } = {},
): Promise<DirectoryWalk> {
  const stats = opts.stats ?? { commits: 0, filters: 0, compares: 0, trees: 0 };
  const found = new Map<string, Oid>();
  const open = new Set(targets.keys());
  // Bloom keys: the directory and each directory above it (tested once a commit), then each entry.
  const prefix = dir.length ? `${dir.join("/")}/` : "";
  const dirKeys: BloomKey[] = dir.map((_, i) => bloomKey(latin1(dir.slice(0, i + 1).join("/"))));
  const entryKeys = new Map<string, BloomKey[]>();
  for (const name of targets.keys()) entryKeys.set(name, [bloomKey(latin1(prefix + name))]);

  // The directory's entries (name -> id) in a commit's root tree, memoized by root tree.
  const listings = new Map<Oid, Promise<Map<string, Oid>>>();
  const readTree = async (oid: Oid): Promise<Uint8Array> => {
    stats.trees++;
    const obj = await store.read(oid);
    return obj.type === "tree" ? obj.data : EMPTY;
  };
  const listing = (root: Oid): Promise<Map<string, Oid>> => {
    let hit = listings.get(root);
    if (!hit) {
      if (listings.size >= 4096) listings.clear();
      listings.set(root, (hit = readListing(root)));
    }
    return hit;
  };
  const readListing = async (root: Oid): Promise<Map<string, Oid>> => {
    let data = await readTree(root);
    for (const name of dir) {
      let next: Oid | null = null;
      forEachTreeEntry(data, (mode, oid, s, e) => {
        if (next === null && isTreeMode(mode) && nameIs(data, s, e, name)) next = oid;
      });
      data = next ? await readTree(next) : EMPTY;
      if (!next) break;
    }
    const out = new Map<string, Oid>();
    const d = data;
    forEachTreeEntry(d, (_mode, oid, s, e) => {
      let n = "";
      for (let i = s; i < e; i++) n += String.fromCharCode(d[i]!);
      if (targets.has(n)) out.set(n, oid);
    });
    return out;
  };

  // With a base: entries the same at the base and the start ("kept") are answered by the base
  // unless a commit the base does not reach brings them; commits the base reaches ("below") are
  // compared only for the other entries, whose walk is the plain one.
  const base = opts.base;
  const kept = new Set<string>();
  if (base) {
    for (const [name, oid] of targets) if (base.listing.get(name) === oid && base.answers.has(name)) kept.add(name);
  }
  const mayTouchOpen = (filter: Uint8Array, below: boolean): boolean => {
    stats.filters++;
    if (dirKeys.length && !filterMayContain(filter, dirKeys)) return false;
    for (const name of open) if (!(below && kept.has(name)) && filterMayContain(filter, entryKeys.get(name)!)) return true;
    return false;
  };
  const openOutsideKept = () => {
    for (const name of open) if (!kept.has(name)) return true;
    return false;
  };

  const bit = (set: Uint8Array, pos: number) => (set[pos >> 3]! & (1 << (pos & 7))) !== 0;
  const mark = (set: Uint8Array, pos: number) => {
    set[pos >> 3]! |= 1 << (pos & 7);
  };
  const seen = new Uint8Array((graph.count + 7) >> 3);
  // Only with a base: commits it reaches, commits in the queue, and how many queued it does not reach.
  const below = new Uint8Array(base ? (graph.count + 7) >> 3 : 0);
  const queued = new Uint8Array(base ? (graph.count + 7) >> 3 : 0);
  let aboveQueued = 0;
  const queue = new PositionQueue();
  const enqueue = async (pos: number, isBelow: boolean) => {
    if (bit(seen, pos)) {
      // Reached from the base's side after the other: no longer counted as above it.
      if (isBelow && !bit(below, pos)) {
        mark(below, pos);
        if (bit(queued, pos)) aboveQueued--;
      }
      return;
    }
    mark(seen, pos);
    if (base) {
      mark(queued, pos);
      if (isBelow) mark(below, pos);
      else aboveQueued++;
    }
    queue.push(pos, graph.linksNow(pos) ?? (await graph.links(pos)));
  };
  await enqueue(start, false);
  if (base) await enqueue(base.pos, true);
  /** Whether commit (time, pos) comes before `other` in the walk's order (PositionQueue's). */
  const newer = async (time: number, pos: number, other: { commit: Oid; time: number }) => {
    if (time !== other.time) return time > other.time;
    return pos > (await graph.find(other.commit));
  };

  // Comparisons run ahead of the walk, up to LOOKAHEAD at once (their trees are read side by
  // side: each read may wait for R2), and are applied in the order the walk met them. The walk
  // meanwhile tests filters against entries a pending comparison may still resolve, so it may
  // compare a few commits more than needed; that never changes an answer, as each comparison
  // is exact and applied in order.
  type Compared = { oid: Oid; pos: number; time: number; below: boolean; mine: Map<string, Oid>; theirs: Map<string, Oid>[] };
  const pending: Promise<Compared>[] = [];
  /** For each pending comparison, how many commits the walk had taken when it started. */
  const pendingAt: number[] = [];
  /** Comparisons finished (applied as soon as the walk sees them, so that it stops early). */
  const ready = new WeakSet<Promise<Compared>>();
  const compare = async (pos: number, parents: number[], time: number, isBelow: boolean): Promise<Compared> => {
    const c = await graph.commit(pos);
    const [mine, ...theirs] = await Promise.all([
      listing(c.tree),
      ...parents.map(async (p) => listing((await graph.commit(p)).tree)),
    ]);
    return { oid: c.oid, pos, time, below: isBelow, mine: mine!, theirs };
  };
  const apply = async () => {
    pendingAt.shift();
    const { oid, pos, time, below: isBelow, mine, theirs } = await pending.shift()!;
    for (const name of [...open]) {
      const target = targets.get(name)!;
      if (isBelow && kept.has(name)) continue;
      if (mine.get(name) === target && theirs.every((t) => t.get(name) !== target)) {
        const known = kept.has(name) ? base!.answers.get(name)! : undefined;
        found.set(name, known && !(await newer(time, pos, known)) ? known.commit : oid);
        open.delete(name);
      }
    }
  };
  /** Every commit above the base is walked: the kept entries still open keep the base's answer. */
  const closeKept = () => {
    for (const name of kept) {
      if (!open.has(name)) continue;
      found.set(name, base!.answers.get(name)!.commit);
      open.delete(name);
    }
  };
  const done = (complete: boolean): DirectoryWalk => {
    // Comparisons no longer needed: their failures (if any) must not go unhandled.
    for (const p of pending.splice(0)) p.catch(() => undefined);
    pendingAt.length = 0;
    return { found, complete, scanned };
  };
  let scanned = 0;
  while (open.size > 0 && (queue.size > 0 || pending.length > 0)) {
    // Waiting for comparisons counts too: their tree reads are what may take long.
    if (opts.budget && (await opts.budget.step())) return done(false);
    if (base && aboveQueued === 0 && kept.size > 0) {
      // Nothing above the base is left to walk: what is pending decides, then the base answers.
      if (pending.length > 0) {
        await apply();
        continue;
      }
      closeKept();
      kept.clear();
      continue;
    }
    const behind = pending.length > 0 && scanned - pendingAt[0]! >= RUN_AHEAD;
    if (queue.size === 0 || pending.length >= LOOKAHEAD || behind || ready.has(pending[0]!)) {
      await apply();
      continue;
    }
    const pos = queue.pop();
    const isBelow = base ? bit(below, pos) : false;
    if (base) {
      queued[pos >> 3]! &= ~(1 << (pos & 7));
      if (!isBelow) aboveQueued--;
    }
    scanned++;
    stats.commits++;
    const parents = queue.poppedParents;
    const time = queue.poppedTime;
    // The filter compares with the first parent: an entry the same as there is not one this
    // commit brought (it must differ from every parent), merge or not. Below the base only the
    // entries not kept are looked for.
    const wanted = !isBelow || openOutsideKept();
    if (wanted && (parents.length === 0 || mayTouchOpen(graph.filterNow(pos) ?? (await graph.filter(pos)), isBelow))) {
      stats.compares++;
      const work = compare(pos, parents, time, isBelow);
      work.then(
        () => ready.add(work),
        () => ready.add(work),
      );
      pending.push(work);
      pendingAt.push(scanned);
    }
    for (const p of parents) await enqueue(p, isBelow);
  }
  if (base) closeKept();
  return done(open.size === 0);
}

function nameIs(data: Uint8Array, s: number, e: number, name: string): boolean {
  if (e - s !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (data[s + i] !== name.charCodeAt(i)) return false;
  return true;
}
