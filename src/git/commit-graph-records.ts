// The commit-graph build's records of the commits it meets, in typed arrays keyed by a dense number
// per commit (an open-addressing table of 20-byte ids finds the number): an import's 70,000
// commits cost about 90 bytes each here, where maps of hex strings cost several hundred (and the
// strings sliced out of a parsed commit kept its whole header alive).
import { idHash, sameId } from "./oid-set";
import { hexInto, oidAt, type Oid } from "./oid";

/** What the build knows of a commit. */
export const Seen = {
  /** Only named (a tip, or a parent): not read yet. */
  Named: 0,
  /** Read in pack order (git/commit-graph-build.ts leadingCommits), not reached from a tip yet. */
  Scanned: 1,
  /** Reached from a tip and not in the chain: the build adds it. */
  Fresh: 2,
  /** In the persisted chain already (its position and generation are known). */
  Covered: 3,
  /** Not in the store, or not a commit: left out of the graph. */
  Absent: 4,
} as const;
export type Seen = (typeof Seen)[keyof typeof Seen];

/** No commit in this parent slot. */
const NONE = -1;

export class CommitRecords {
  private capacity = 0;
  private slots = new Int32Array(0);
  /** Per record: id and root tree (20 bytes each). */
  private ids = new Uint8Array(0);
  private trees = new Uint8Array(0);
  private times = new Float64Array(0);
  /** First and second parent (record numbers, NONE); more parents are in `more`. */
  private p1 = new Int32Array(0);
  private p2 = new Int32Array(0);
  private seen = new Uint8Array(0);
  /** Global graph position and generation (Covered and, once placed, Fresh records). */
  private pos = new Int32Array(0);
  private gens = new Uint32Array(0);
  /** Octopus merges' third and later parents: rare, so a map. */
  private readonly more = new Map<number, number[]>();
  private count = 0;
  private readonly key = new Uint8Array(20);

  constructor(expected = 1024) {
    this.grow(Math.max(1024, expected));
  }

  get size(): number {
    return this.count;
  }

  /** Bytes the records hold (typed arrays), for tests. */
  get byteSize(): number {
    return (
      this.slots.byteLength +
      this.ids.byteLength +
      this.trees.byteLength +
      this.times.byteLength +
      this.p1.byteLength +
      this.p2.byteLength +
      this.seen.byteLength +
      this.pos.byteLength +
      this.gens.byteLength
    );
  }

  /** The record number of `oid`, made (Named) if it has none yet. */
  intern(oid: Oid): number {
    hexInto(oid, this.key);
    const mask = this.slots.length - 1;
    let i = idHash(this.key, 0) & mask;
    for (;;) {
      const r = this.slots[i]!;
      if (r < 0) break;
      if (sameId(this.ids, r * 20, this.key, 0)) return r;
      i = (i + 1) & mask;
    }
    if (this.count === this.capacity) {
      // By half: at git/git's 70,000 commits a doubling would leave 60,000 slots unused (4 MiB).
      this.grow(Math.ceil(this.capacity * 1.5));
      return this.intern(oid);
    }
    const r = this.count++;
    this.ids.set(this.key, r * 20);
    this.slots[i] = r;
    return r;
  }

  /** The record number of `oid`, or -1. */
  find(oid: Oid): number {
    hexInto(oid, this.key);
    const mask = this.slots.length - 1;
    for (let i = idHash(this.key, 0) & mask; ; i = (i + 1) & mask) {
      const r = this.slots[i]!;
      if (r < 0) return -1;
      if (sameId(this.ids, r * 20, this.key, 0)) return r;
    }
  }

  oid(r: number): Oid {
    return oidAt(this.ids, r * 20);
  }

  tree(r: number): Oid {
    return oidAt(this.trees, r * 20);
  }

  time(r: number): number {
    return this.times[r]!;
  }

  seenAs(r: number): Seen {
    return this.seen[r]! as Seen;
  }

  mark(r: number, as: Seen): void {
    this.seen[r] = as;
  }

  /** Records what the commit object says: its tree, time and parents (as record numbers). */
  setLinks(r: number, tree: Oid, parents: readonly number[], time: number): void {
    hexInto(tree, this.key);
    this.trees.set(this.key, r * 20);
    this.times[r] = time;
    this.setParents(r, parents);
  }

  setParents(r: number, parents: readonly number[]): void {
    this.p1[r] = parents[0] ?? NONE;
    this.p2[r] = parents[1] ?? NONE;
    if (parents.length > 2) this.more.set(r, parents.slice(2));
    else this.more.delete(r);
  }

  parents(r: number): number[] {
    const a = this.p1[r]!;
    if (a === NONE) return [];
    const b = this.p2[r]!;
    if (b === NONE) return [a];
    const rest = this.more.get(r);
    return rest ? [a, b, ...rest] : [a, b];
  }

  firstParent(r: number): number {
    return this.p1[r]!;
  }

  /** Where the commit is in the chain (global position) and its generation. */
  place(r: number, position: number, generation: number): void {
    this.pos[r] = position;
    this.gens[r] = generation;
  }

  position(r: number): number {
    return this.pos[r]!;
  }

  generation(r: number): number {
    return this.gens[r]!;
  }

  private grow(capacity: number): void {
    const old = this.count;
    const copy = <T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(a: T, make: (n: number) => T, per = 1) => {
      const b = make(capacity * per);
      b.set(a.subarray(0, old * per) as never);
      return b;
    };
    this.ids = copy(this.ids, (n) => new Uint8Array(n), 20);
    this.trees = copy(this.trees, (n) => new Uint8Array(n), 20);
    this.times = copy(this.times, (n) => new Float64Array(n));
    // A record not read yet has no parents.
    this.p1 = copy(this.p1, (n) => new Int32Array(n).fill(NONE));
    this.p2 = copy(this.p2, (n) => new Int32Array(n).fill(NONE));
    this.seen = copy(this.seen, (n) => new Uint8Array(n));
    this.pos = copy(this.pos, (n) => new Int32Array(n));
    this.gens = copy(this.gens, (n) => new Uint32Array(n));
    this.capacity = capacity;
    // Half full at most: lookups stay short (a power of two, for the mask).
    let slots = 1024;
    while (slots < capacity * 2) slots *= 2;
    this.slots = new Int32Array(slots).fill(-1);
    const mask = this.slots.length - 1;
    for (let r = 0; r < old; r++) {
      let i = idHash(this.ids, r * 20) & mask;
      while (this.slots[i]! >= 0) i = (i + 1) & mask;
      this.slots[i] = r;
    }
  }
}
