// The last commit of each entry of one directory (a tree page's column), walked over the
// persisted commit-graph by position: committer times, parent positions and changed-path Bloom
// filters are read from the graph's records, no commit id is decoded and no tree is read unless a
// filter says a commit may have changed an entry still open. The answer is the one
// last-commit.ts gives (the newest commit, by date, whose entry is the one at the start and
// differs from every parent's); used when the graph holds the start commit (then it holds every
// ancestor too).
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

export interface DirectoryWalk {
  /** Entry name (as its bytes, one char per byte) -> commit id, for the entries resolved. */
  found: Map<string, Oid>;
  complete: boolean;
  scanned: number;
}

const EMPTY = new Uint8Array(0);
/** Comparisons in flight at once (a maybe of a filter costs two tree reads or more). */
const LOOKAHEAD = 16;
const latin1 = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

/** A max-heap of graph positions by committer time (ties: the later position, a descendant's). */
class PositionQueue {
  private readonly pos: number[] = [];
  private readonly time: number[] = [];
  /** Each entry's parents (read with its time: not read again when it is taken). */
  private readonly parents: number[][] = [];
  /** The parents of the entry `pop` returned last. */
  poppedParents: number[] = [];

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
  opts: { budget?: Budget; stats?: DirectoryWalkStats } = {},
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

  const mayTouchOpen = (filter: Uint8Array): boolean => {
    stats.filters++;
    if (dirKeys.length && !filterMayContain(filter, dirKeys)) return false;
    for (const name of open) if (filterMayContain(filter, entryKeys.get(name)!)) return true;
    return false;
  };

  const seen = new Uint8Array((graph.count + 7) >> 3);
  const queue = new PositionQueue();
  const enqueue = async (pos: number) => {
    if (seen[pos >> 3]! & (1 << (pos & 7))) return;
    seen[pos >> 3]! |= 1 << (pos & 7);
    queue.push(pos, graph.linksNow(pos) ?? (await graph.links(pos)));
  };
  await enqueue(start);

  // Comparisons run ahead of the walk, up to LOOKAHEAD at once (their trees are read side by
  // side: each read may wait for R2), and are applied in the order the walk met them. The walk
  // meanwhile tests filters against entries a pending comparison may still resolve, so it may
  // compare a few commits more than needed; that never changes an answer, as each comparison
  // is exact and applied in order.
  type Compared = { oid: Oid; mine: Map<string, Oid>; theirs: Map<string, Oid>[] };
  const pending: Promise<Compared>[] = [];
  /** Comparisons finished (applied as soon as the walk sees them, so that it stops early). */
  const ready = new WeakSet<Promise<Compared>>();
  const compare = async (pos: number, parents: number[]): Promise<Compared> => {
    const c = await graph.commit(pos);
    const [mine, ...theirs] = await Promise.all([
      listing(c.tree),
      ...parents.map(async (p) => listing((await graph.commit(p)).tree)),
    ]);
    return { oid: c.oid, mine: mine!, theirs };
  };
  const apply = async () => {
    const { oid, mine, theirs } = await pending.shift()!;
    for (const name of [...open]) {
      const target = targets.get(name)!;
      if (mine.get(name) === target && theirs.every((t) => t.get(name) !== target)) {
        found.set(name, oid);
        open.delete(name);
      }
    }
  };
  const done = (complete: boolean): DirectoryWalk => {
    // Comparisons no longer needed: their failures (if any) must not go unhandled.
    for (const p of pending.splice(0)) p.catch(() => undefined);
    return { found, complete, scanned };
  };
  let scanned = 0;
  while (open.size > 0 && (queue.size > 0 || pending.length > 0)) {
    // Waiting for comparisons counts too: their tree reads are what may take long.
    if (opts.budget && (await opts.budget.step())) return done(false);
    if (queue.size === 0 || pending.length >= LOOKAHEAD || ready.has(pending[0]!)) {
      await apply();
      continue;
    }
    const pos = queue.pop();
    scanned++;
    stats.commits++;
    const parents = queue.poppedParents;
    // The filter compares with the first parent: an entry the same as there is not one this
    // commit brought (it must differ from every parent), merge or not.
    if (parents.length === 0 || mayTouchOpen(graph.filterNow(pos) ?? (await graph.filter(pos)))) {
      stats.compares++;
      const work = compare(pos, parents);
      work.then(
        () => ready.add(work),
        () => ready.add(work),
      );
      pending.push(work);
    }
    for (const p of parents) await enqueue(p);
  }
  return done(open.size === 0);
}

function nameIs(data: Uint8Array, s: number, e: number, name: string): boolean {
  if (e - s !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (data[s + i] !== name.charCodeAt(i)) return false;
  return true;
}
