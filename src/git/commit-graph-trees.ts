// The tree diffs of the commit-graph build (git/commit-graph-build.ts): the paths each commit
// changes against its first parent, as git lists them for a changed-path Bloom filter, computed
// for many commits level by level; and the build's own reader of those trees.
import { yieldToOthers } from "./budget";
import { applyDelta, deltaSizes } from "./delta";
import { GitError } from "./errors";
import { MAX_CHANGED_PATHS } from "./bloom";
import type { GitObject, Location, ObjectStore, Pack } from "./object-store";
import type { Oid } from "./oid";
import { hexAt } from "./commit-graph-records";
import { type EntryHeader, OBJ_OFS_DELTA, OBJ_REF_DELTA, typeName } from "./pack-format";
import { InflateError, inflateAt, InflateScratch } from "./zlib";
import { byteString } from "./tree-changes";

/** An object the reader holds in its slab: valid while nothing written since has reached it. */
interface Held {
  obj: GitObject;
  /** Absolute position of its bytes in the slab (it wraps), or -1 for an object with its own buffer. */
  pos: number;
}

/** Room in the reader's slab, handed to zlib as its output buffer (one for the reader). */
class Area extends InflateScratch {
  /** Where the last room taken starts in the slab (-1: a buffer of its own). */
  pos = -1;
  constructor(private readonly give: (n: number) => { view: Uint8Array; pos: number } | null) {
    super();
  }
  override take(n: number): Uint8Array {
    const room = this.give(n);
    this.pos = room ? room.pos : -1;
    return room ? room.view : new Uint8Array(n);
  }
}

/**
 * The trees a whole history's filters read (git/git: 1.8 million reads of 659,000 trees, most of
 * them deltas), resolved without an array buffer per object: each tree is written into one slab of
 * TREE_SLAB_BYTES used as a ring, and handed out as a view of it, valid until the ring comes round
 * again; delta data is inflated into a reused buffer. Objects the slab still holds are found by
 * pack offset (a cache evicted in the order written). Through the isolate's shared cache of
 * resolved objects each tree had a buffer of its own, kept long enough to be promoted: the
 * isolate's old generation and its array buffers filled with dead trees (60 to 90 MiB over the
 * live ones at git/git's size) between full collections.
 */
export class BuildTreeReader {
  private readonly slab: Uint8Array;
  /** Bytes written into the slab so far (absolute): an object at `pos` is intact while head <= pos + size. */
  private head = 0;
  private readonly held = new Map<number, Held>();
  /** Keys and positions in the order written, for eviction (from `first`). */
  private order: number[] = [];
  private orderPos: number[] = [];
  private first = 0;
  private readonly packNumbers = new Map<Pack, number>();
  private readonly deltaData: InflateScratch = new InflateScratch();
  private readonly baseCopy: InflateScratch = new InflateScratch();
  private readonly sideCopy: InflateScratch = new InflateScratch();
  private readonly area = new Area((n) => this.alloc(n));
  /** Objects inflated (entries read from the pack), for tests and benchmarks. */
  inflated = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly size = TREE_SLAB_BYTES,
  ) {
    this.slab = new Uint8Array(size);
  }

  /** Bytes the reader holds in buffers (slab and scratch), for tests. */
  get heldBytes(): number {
    return this.slab.length + this.deltaData.bytes + this.baseCopy.bytes + this.sideCopy.bytes;
  }

  /** Objects the slab holds now. */
  get cachedObjects(): number {
    return this.held.size;
  }

  private intact(pos: number): boolean {
    return pos < 0 || this.head <= pos + this.size;
  }

  /** Room for `n` bytes in the slab (never split across its end); null when too large for it. */
  private alloc(n: number): { view: Uint8Array; pos: number } | null {
    if (n > this.size / 8) return null;
    let at = this.head % this.size;
    if (at + n > this.size) {
      this.head += this.size - at;
      at = 0;
    }
    const pos = this.head;
    this.head += n;
    // Forget what the ring has now reached.
    while (this.first < this.order.length && !this.intact(this.orderPos[this.first]!)) {
      const key = this.order[this.first]!;
      if (this.held.get(key)?.pos === this.orderPos[this.first]) this.held.delete(key);
      this.first++;
    }
    if (this.first > 4096 && this.first * 2 > this.order.length) {
      this.order = this.order.slice(this.first);
      this.orderPos = this.orderPos.slice(this.first);
      this.first = 0;
    }
    return { view: this.slab.subarray(at, at + n), pos };
  }

  /**
   * The object at `offset` of `pack`: its data is a view of the slab, valid until the next read
   * (`keep` copies it aside, valid until the next `keep`).
   */
  async readAt(pack: Pack, offset: number, keep = false): Promise<GitObject> {
    return this.kept((await this.resolve(pack, offset)).obj, keep);
  }

  /** The object at `offset` of `pack` if the slab holds it (as `readAt` gives it), else null. */
  peek(pack: Pack, offset: number, keep = false): GitObject | null {
    const hit = this.held.get(this.keyOf(pack, offset));
    return hit && this.intact(hit.pos) ? this.kept(hit.obj, keep) : null;
  }

  private kept(obj: GitObject, keep: boolean): GitObject {
    if (!keep) return obj;
    const copy = this.sideCopy.take(obj.data.length).subarray(0, obj.data.length);
    copy.set(obj.data);
    return { type: obj.type, data: copy };
  }

  private keyOf(pack: Pack, offset: number): number {
    let n = this.packNumbers.get(pack);
    if (n === undefined) this.packNumbers.set(pack, (n = this.packNumbers.size));
    // Pack offsets are below 2^33 (8 GiB): the key stays an exact number for 2^20 packs.
    return n * 2 ** 33 + offset;
  }

  private async resolve(pack: Pack, offset: number): Promise<Held> {
    const key = this.keyOf(pack, offset);
    const hit = this.held.get(key);
    if (hit && this.intact(hit.pos)) return hit;
    const header = await pack.header(offset);
    let base: Held | null = null;
    if (header.type === OBJ_OFS_DELTA) base = await this.resolve(pack, header.baseOffset!);
    else if (header.type === OBJ_REF_DELTA) {
      const at = await this.store.locate(header.baseOid!);
      if (!at) throw new GitError("missing_object", `object ${header.baseOid} is missing`);
      base = await this.resolve(at.pack, at.offset);
    }
    this.inflated++;
    let held: Held;
    if (base) {
      // The base is read first (it may use the delta buffer), then the delta is inflated.
      const delta = await this.inflate(pack, offset, header, this.deltaData);
      const size = deltaSizes(delta).resultSize;
      let baseData = base.obj.data;
      const before = this.head;
      const room = this.alloc(size);
      // The new object's room may reach the base's bytes: then the base is copied aside first.
      if (base.pos >= 0 && this.head > base.pos + this.size) {
        this.head = before;
        baseData = this.baseCopy.take(baseData.length).subarray(0, baseData.length);
        baseData.set(base.obj.data);
        const again = this.alloc(size)!;
        held = { obj: { type: base.obj.type, data: applyDelta(baseData, delta, () => again.view) }, pos: again.pos };
      } else if (room) held = { obj: { type: base.obj.type, data: applyDelta(baseData, delta, () => room.view) }, pos: room.pos };
      else held = { obj: { type: base.obj.type, data: applyDelta(baseData, delta) }, pos: -1 };
    } else {
      this.area.pos = -1;
      const data = await this.inflate(pack, offset, header, this.area);
      held = { obj: { type: typeName(header.type), data }, pos: this.area.pos };
    }
    if (held.pos >= 0) {
      this.held.set(key, held);
      this.order.push(key);
      this.orderPos.push(held.pos);
    }
    return held;
  }

  /** The entry's inflated bytes, into `out`'s buffer (the stream's end is found as Pack.inflateEntry does). */
  private async inflate(pack: Pack, offset: number, header: EntryHeader, out: InflateScratch): Promise<Uint8Array> {
    for (let extra = 1; ; extra *= 2) {
      const { bytes } = await pack.rawEntry(offset, header, extra);
      try {
        return inflateAt(bytes, header.headerLength, header.size, out).data;
      } catch (err) {
        const more = offset + bytes.length < pack.source.size - 20;
        if (!(more && err instanceof InflateError && err.truncated)) throw err;
      }
    }
  }
}

/**
 * The build's slab of trees: room for the delta bases a level of a batch shares and for a tree
 * read as one commit's side and again as its child's; one buffer, so no garbage buffers at all.
 */
export const TREE_SLAB_BYTES = 4 * 1024 * 1024;

/** The space after the mode of the tree entry at `p` (its name runs from there to a nul). */
function spaceAt(d: Uint8Array, p: number): number {
  while (d[p] !== 0x20) p++;
  return p;
}

function nulAt(d: Uint8Array, space: number): number {
  let nul = space + 1;
  while (d[nul] !== 0) nul++;
  return nul;
}

/** Whether the entry at `p` (its mode ends at `space`) is a directory (mode 40000). */
const isTree = (d: Uint8Array, p: number, space: number) => space - p === 5 && d[p] === 0x34;

/**
 * git's order of two entries (name bytes, a directory's name compared as if it ended in "/"),
 * each given by its space, its nul and whether it is a directory.
 */
function entryOrder(
  a: Uint8Array,
  as: number,
  an: number,
  at: boolean,
  b: Uint8Array,
  bs: number,
  bn: number,
  bt: boolean,
): number {
  const la = an - as - 1;
  const lb = bn - bs - 1;
  const n = Math.min(la, lb);
  for (let i = 1; i <= n; i++) {
    const d = a[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  const ca = la > n ? a[as + 1 + n]! : at ? 0x2f : 0;
  const cb = lb > n ? b[bs + 1 + n]! : bt ? 0x2f : 0;
  return ca - cb;
}

const sameBytes = (a: Uint8Array, from: number, to: number, b: Uint8Array, at: number) => {
  for (let i = from; i < to; i++) if (a[i] !== b[at + i - from]) return false;
  return true;
};

/**
 * Each entry that differs between raw trees `a` and `b` (missing on one side, or another mode or
 * id), in git's order: its name (one char per byte) and, for each side where it is a directory,
 * the directory's id. Entries both have the same are compared as bytes, never decoded. Entries are
 * walked by their offsets in plain numbers: an object per entry was the build's largest garbage
 * (660 MB over git/git's history).
 */
function forEachDifference(
  a: Uint8Array,
  b: Uint8Array,
  each: (name: string, left: Oid | null, right: Oid | null) => void,
): void {
  let p = 0;
  let q = 0;
  // Entry x of a: mode [p, xs), name (xs, xn), id after xn; entry y of b likewise.
  let xs = p < a.length ? spaceAt(a, p) : 0;
  let xn = p < a.length ? nulAt(a, xs) : 0;
  let ys = q < b.length ? spaceAt(b, q) : 0;
  let yn = q < b.length ? nulAt(b, ys) : 0;
  while (p < a.length || q < b.length) {
    const xt = p < a.length && isTree(a, p, xs);
    const yt = q < b.length && isTree(b, q, ys);
    const cmp = p >= a.length ? 1 : q >= b.length ? -1 : entryOrder(a, xs, xn, xt, b, ys, yn, yt);
    if (cmp === 0) {
      const same = xs - p === ys - q && sameBytes(a, p, xs, b, q) && sameBytes(a, xn + 1, xn + 21, b, yn + 1);
      if (!same) each(byteString(a, xs + 1, xn), xt ? hexAt(a, xn + 1) : null, yt ? hexAt(b, yn + 1) : null);
    } else if (cmp < 0) each(byteString(a, xs + 1, xn), xt ? hexAt(a, xn + 1) : null, null);
    else each(byteString(b, ys + 1, yn), null, yt ? hexAt(b, yn + 1) : null);
    if (cmp <= 0) {
      p = xn + 21;
      if (p < a.length) xn = nulAt(a, (xs = spaceAt(a, p)));
    }
    if (cmp >= 0) {
      q = yn + 21;
      if (q < b.length) yn = nulAt(b, (ys = spaceAt(b, q)));
    }
  }
}

/**
 * Paths that differ between two trees (either may be absent), with their parent directories, as
 * git lists them for a Bloom filter; null past git's limit of changed paths.
 */
export async function changedPaths(store: ObjectStore, before: Oid | null, after: Oid | null): Promise<string[] | null> {
  return (await changedPathsOfMany(store, [{ before, after }]))[0]!;
}

const EMPTY = new Uint8Array(0);

/**
 * `changedPaths` of many commits at once (each its first parent's tree and its own), level by
 * level: the trees of a level are located together, in id order, before any is read. A large
 * pack's index is read by ranges through a cache smaller than it, and ids hash evenly, so one
 * lookup at a time makes nearly every lookup a storage read of its own (at git/git's 900,000
 * objects, hundreds of thousands of them for a whole history); sorted, the lookups of a level
 * share the index pages they fall in.
 */
export async function changedPathsOfMany(
  store: ObjectStore,
  pairs: readonly { before: Oid | null; after: Oid | null }[],
  locateMany: (oids: readonly Oid[]) => Promise<(Location | null)[]> = (oids) => store.locateMany(oids),
  trees: {
    readAt(pack: Pack, offset: number, keep?: boolean): Promise<GitObject>;
    peek?(pack: Pack, offset: number, keep?: boolean): GitObject | null;
  } = store,
): Promise<(string[] | null)[]> {
  const out: (Set<string> | null)[] = pairs.map(() => new Set<string>());
  let level = pairs.map((p, i) => ({ i, a: p.before, b: p.after, prefix: "" }));
  while (level.length > 0) {
    level = level.filter((w) => w.a !== w.b);
    const ids = new Set<Oid>();
    for (const w of level) {
      if (w.a) ids.add(w.a);
      if (w.b) ids.add(w.b);
    }
    const sorted = [...ids].sort();
    const found = await locateMany(sorted);
    const where = new Map(sorted.map((oid, k) => [oid, found[k]]));
    const located = (tree: Oid) => {
      const at = where.get(tree);
      if (!at) throw new GitError("missing_object", `object ${tree} is missing`);
      return at;
    };
    const treeData = (tree: Oid, obj: GitObject) => {
      if (obj.type !== "tree") throw new GitError("missing_object", `object ${tree} is a ${obj.type}, not a tree`);
      return obj.data;
    };
    // A tree the reader holds is taken without an await (a promise per read was the garbage of
    // hundreds of thousands of reads).
    const read = (tree: Oid | null, keep = false): Uint8Array | Promise<Uint8Array> => {
      if (!tree) return EMPTY;
      const at = located(tree);
      const held = trees.peek?.(at.pack, at.offset, keep);
      if (held) return treeData(tree, held);
      return trees.readAt(at.pack, at.offset, keep).then((obj) => treeData(tree, obj));
    };
    const next: typeof level = [];
    for (const [n, w] of level.entries()) {
      const paths = out[w.i];
      if (!paths) continue;
      // One side at a time, the first kept aside: the build's reader hands out views of a ring
      // that the second read may come round to.
      let x = read(w.a, true);
      if (x instanceof Promise) x = await x;
      let y = read(w.b);
      if (y instanceof Promise) y = await y;
      forEachDifference(x, y, (name, lt, rt) => {
        if (!out[w.i]) return;
        const path = w.prefix + name;
        paths.add(path);
        if (paths.size > MAX_CHANGED_PATHS) out[w.i] = null;
        else if (lt || rt) next.push({ i: w.i, a: lt, b: rt, prefix: `${path}/` });
      });
      if (n % 64 === 63) await yieldToOthers();
    }
    level = next;
  }
  return out.map((paths) => (paths ? [...paths] : null));
}
