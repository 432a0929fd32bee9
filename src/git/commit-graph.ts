// Commit lookups for history walks: parents, root tree and committer time, parsed once per request,
// from the persisted commit-graph where it covers the commit (no object read), else from the commit.
import { type BloomKey, filterMayContain } from "./bloom";
import type { PersistedGraph } from "./commit-graph-file";
import { GitError } from "./errors";
import type { GitObject, ObjectStore } from "./object-store";
import { parseCommitLinks, parseTag } from "./objects";
import type { ObjectType, Oid } from "./oid";

export interface CommitInfo {
  oid: Oid;
  tree: Oid;
  parents: Oid[];
  time: number;
  /** Generation number (1 for a root), when the persisted graph holds the commit. */
  generation?: number;
}

export class CommitGraph {
  private readonly commits = new Map<Oid, CommitInfo>();
  /** Positions in the persisted graph of commits met so far (parents of commits read from it). */
  private readonly positions = new Map<Oid, number>();
  private loadPersisted?: () => Promise<PersistedGraph | null>;
  private persisted?: Promise<PersistedGraph | null>;
  /** Commits read from the persisted graph, and from objects (for tests and benchmarks). */
  readonly reads = { graph: 0, objects: 0 };

  /**
   * `read`: where commits, tags and (in an object walk) trees are read from; the store's shared
   * caches by default. A compaction passes a reader of its own (`WalkReader`): its walk reads every
   * commit and tree once, and through the shared caches it filled them with what is retired next.
   * A reader's data may be valid only until its next read: callers parse before reading again.
   */
  constructor(
    readonly store: ObjectStore,
    readonly read: (oid: Oid) => Promise<GitObject> = (oid) => store.read(oid),
    /**
     * Whether commits read from objects are kept for the next ask. A walk that asks for each
     * commit once (a compaction's) keeps them itself: a Map of 70,000 entries on git/git for nothing.
     */
    private readonly remember = true,
  ) {}

  /** Where the persisted commit-graph comes from (read once, on the first lookup). */
  usePersisted(load: () => Promise<PersistedGraph | null>): void {
    this.loadPersisted = load;
    this.persisted = undefined;
  }

  private graph(): Promise<PersistedGraph | null> {
    if (!this.loadPersisted) return Promise.resolve(null);
    // Walks go on without the graph (by date, reading commits), but say so: that is slower.
    this.persisted ??= this.loadPersisted().catch((err) => {
      console.error(
        JSON.stringify({ level: "error", message: `commit-graph unreadable: ${String((err as Error)?.message ?? err)}` }),
      );
      return null;
    });
    return this.persisted;
  }

  private async position(oid: Oid): Promise<number> {
    const known = this.positions.get(oid);
    if (known !== undefined) return known;
    const g = await this.graph();
    if (!g) return -1;
    const pos = await g.find(oid);
    this.positions.set(oid, pos);
    return pos;
  }

  /** Position of a commit in the persisted graph, or -1 when the graph does not hold it. */
  positionOf(oid: Oid): Promise<number> {
    return this.position(oid);
  }

  /** The persisted graph, if one is attached and readable. */
  persistedGraph(): Promise<PersistedGraph | null> {
    return this.graph();
  }

  /**
   * Whether the store has the commit. A commit the persisted graph holds is taken as present
   * without an index lookup: the graph lists commits that were reachable when it was built, and a
   * walk only reaches them through reachable commits, which are never purged.
   */
  async has(oid: Oid): Promise<boolean> {
    return (await this.position(oid)) >= 0 || this.store.has(oid);
  }

  /** The parents of `c` the store has (those the graph lists are present: see `has`). */
  presentParents(c: CommitInfo): Promise<Oid[]> {
    return c.generation !== undefined ? Promise.resolve(c.parents) : this.store.filterPresent(c.parents);
  }

  async commit(oid: Oid): Promise<CommitInfo> {
    const hit = this.commits.get(oid);
    if (hit) return hit;
    const pos = await this.position(oid);
    if (pos >= 0) {
      const g = (await this.graph())!;
      const c = await g.commit(pos);
      const parents: Oid[] = [];
      for (const p of c.parents) {
        const parent = await g.oid(p);
        this.positions.set(parent, p);
        parents.push(parent);
      }
      const info: CommitInfo = { oid, tree: c.tree, parents, time: c.time, generation: c.generation };
      this.reads.graph++;
      this.commits.set(oid, info);
      return info;
    }
    this.reads.objects++;
    const obj = await this.read(oid);
    if (obj.type !== "commit") throw new GitError("missing_object", `${oid} is a ${obj.type}, not a commit`);
    const info = { oid, ...parseCommitLinks(obj.data) };
    if (this.remember) this.commits.set(oid, info);
    return info;
  }

  /**
   * Whether `oid` may have changed every path of `keys` (a path and its directories, bloomKeysOf)
   * against its first parent: false is certain (the Bloom filter lacks one of them); true is
   * "maybe", also when the graph does not cover the commit.
   */
  async mayChange(oid: Oid, keys: BloomKey[]): Promise<boolean> {
    const filter = await this.changedPathFilter(oid);
    return filter ? filterMayContain(filter, keys) : true;
  }

  /**
   * From `oid` down its first parents, the first commit that may have changed every path of
   * `keys` by its Bloom filter (or a root, or `oid` itself when the graph does not hold it),
   * passing at most `max` commits: by graph position, no id decoded but the last. A commit the
   * filter rules out has the paths as its first parent has them, so a walk that follows the
   * first parent there (blame) may jump.
   */
  async firstMaybeChanged(oid: Oid, keys: BloomKey[], max: number): Promise<{ oid: Oid; passed: number }> {
    const g = await this.graph();
    let pos = await this.position(oid);
    if (!g || pos < 0) return { oid, passed: 0 };
    let passed = 0;
    while (passed < max) {
      // From pages at hand in place: allocating a record and a view per commit passed was a third
      // of a cold blame's garbage on long70k (bench/scale-results.md).
      const first = g.firstParentNow(pos) ?? (await g.links(pos)).parents[0] ?? -1;
      if (first < 0) break;
      if (g.filterMayContainNow(pos, keys) ?? filterMayContain(await g.filter(pos), keys)) break;
      pos = first;
      passed++;
    }
    if (passed === 0) return { oid, passed };
    const found = await g.oid(pos);
    this.positions.set(found, pos);
    return { oid: found, passed };
  }

  /** Whether the persisted graph holds the commit (its walks need not read commit objects). */
  async covers(oid: Oid): Promise<boolean> {
    return (await this.position(oid)) >= 0;
  }

  /** The commit's changed-path Bloom filter, or null when the persisted graph does not cover it. */
  async changedPathFilter(oid: Oid): Promise<Uint8Array | null> {
    const pos = await this.position(oid);
    if (pos < 0) return null;
    return (await this.graph())!.filter(pos);
  }

  /** Follows annotated tags down to the object they name; returns the chain of tags walked. */
  async peel(oid: Oid): Promise<{ oid: Oid; type: ObjectType; tags: Oid[] }> {
    const tags: Oid[] = [];
    for (let i = 0; i < 100; i++) {
      const obj = await this.read(oid);
      if (obj.type !== "tag") return { oid, type: obj.type, tags };
      tags.push(oid);
      oid = parseTag(obj.data).object;
    }
    throw new GitError("corrupt_pack", "tag chain too long");
  }
}

/**
 * A max-heap of commits by committer time: history walks visit newer commits first. With
 * `byGeneration`, commits the persisted graph holds come out by generation number instead (time
 * only breaks ties), after every commit it does not hold: no commit comes out before one that
 * can reach it, whatever the committer dates say (the graph holds no commit that reaches one it
 * lacks). Object walks need that: one commit dated before its parent otherwise sent the walk
 * through every commit dated after it first.
 */
export class CommitQueue {
  private readonly heap: CommitInfo[] = [];

  constructor(private readonly byGeneration = false) {}

  get size(): number {
    return this.heap.length;
  }

  /** Whether `a` comes out before `b`. */
  private first(a: CommitInfo, b: CommitInfo): boolean {
    if (this.byGeneration) {
      const ga = a.generation ?? Number.POSITIVE_INFINITY;
      const gb = b.generation ?? Number.POSITIVE_INFINITY;
      if (ga !== gb) return ga > gb;
    }
    return a.time > b.time;
  }

  push(c: CommitInfo): void {
    const h = this.heap;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.first(h[i]!, h[p]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  pop(): CommitInfo | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.first(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.first(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}
