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

/** Room in the reader's slab, handed to zlib as its output buffer. */
class Area extends InflateScratch {
  constructor(private readonly give: (n: number) => Uint8Array) {
    super();
  }
  override take(n: number): Uint8Array {
    return this.give(n);
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
    const obj = (await this.resolve(pack, offset)).obj;
    if (!keep) return obj;
    const copy = this.sideCopy.take(obj.data.length).subarray(0, obj.data.length);
    copy.set(obj.data);
    return { type: obj.type, data: copy };
  }

  private async resolve(pack: Pack, offset: number): Promise<Held> {
    let n = this.packNumbers.get(pack);
    if (n === undefined) this.packNumbers.set(pack, (n = this.packNumbers.size));
    // Pack offsets are below 2^33 (8 GiB): the key stays an exact number for 2^20 packs.
    const key = n * 2 ** 33 + offset;
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
      let pos = -1;
      const data = await this.inflate(
        pack,
        offset,
        header,
        new Area((k) => {
          const room = this.alloc(k);
          if (!room) return new Uint8Array(k);
          pos = room.pos;
          return room.view;
        }),
      );
      held = { obj: { type: typeName(header.type), data }, pos };
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

/** Where the parts of the tree entry at `p` are: mode [p, space), name (space, nul), id after nul. */
function entryAt(d: Uint8Array, p: number): { space: number; nul: number; tree: boolean } {
  let space = p;
  while (d[space] !== 0x20) space++;
  let nul = space + 1;
  while (d[nul] !== 0) nul++;
  return { space, nul, tree: space - p === 5 && d[p] === 0x34 };
}

/** git's order of two entries: name bytes, a directory's name compared as if it ended in "/". */
function entryOrder(a: Uint8Array, xe: ReturnType<typeof entryAt>, b: Uint8Array, ye: ReturnType<typeof entryAt>): number {
  const la = xe.nul - xe.space - 1;
  const lb = ye.nul - ye.space - 1;
  const n = Math.min(la, lb);
  for (let i = 1; i <= n; i++) {
    const d = a[xe.space + i]! - b[ye.space + i]!;
    if (d !== 0) return d;
  }
  const ca = la > n ? a[xe.space + 1 + n]! : xe.tree ? 0x2f : 0;
  const cb = lb > n ? b[ye.space + 1 + n]! : ye.tree ? 0x2f : 0;
  return ca - cb;
}

const sameBytes = (a: Uint8Array, from: number, to: number, b: Uint8Array, at: number) => {
  for (let i = from; i < to; i++) if (a[i] !== b[at + i - from]) return false;
  return true;
};

/**
 * Each entry that differs between raw trees `a` and `b` (missing on one side, or another mode or
 * id), in git's order: its name (one char per byte) and, for each side where it is a directory,
 * the directory's id. Entries both have the same are compared as bytes, never decoded.
 */
function forEachDifference(
  a: Uint8Array,
  b: Uint8Array,
  each: (name: string, left: Oid | null, right: Oid | null) => void,
): void {
  const nameOf = (d: Uint8Array, e: ReturnType<typeof entryAt>) => byteString(d, e.space + 1, e.nul);
  const treeOf = (d: Uint8Array, e: ReturnType<typeof entryAt>) => (e.tree ? hexAt(d, e.nul + 1) : null);
  let p = 0;
  let q = 0;
  let x = p < a.length ? entryAt(a, p) : null;
  let y = q < b.length ? entryAt(b, q) : null;
  while (x || y) {
    const cmp = !x ? 1 : !y ? -1 : entryOrder(a, x, b, y);
    if (cmp === 0) {
      const same =
        x!.space - p === y!.space - q && sameBytes(a, p, x!.space, b, q) && sameBytes(a, x!.nul + 1, x!.nul + 21, b, y!.nul + 1);
      if (!same) each(nameOf(a, x!), treeOf(a, x!), treeOf(b, y!));
    } else if (cmp < 0) each(nameOf(a, x!), treeOf(a, x!), null);
    else each(nameOf(b, y!), null, treeOf(b, y!));
    if (cmp <= 0) {
      p = x!.nul + 21;
      x = p < a.length ? entryAt(a, p) : null;
    }
    if (cmp >= 0) {
      q = y!.nul + 21;
      y = q < b.length ? entryAt(b, q) : null;
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
  trees: { readAt(pack: Pack, offset: number, keep?: boolean): Promise<GitObject> } = store,
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
    const read = async (tree: Oid | null, keep = false) => {
      if (!tree) return EMPTY;
      const at = where.get(tree);
      if (!at) throw new GitError("missing_object", `object ${tree} is missing`);
      const obj = await trees.readAt(at.pack, at.offset, keep);
      if (obj.type !== "tree") throw new GitError("missing_object", `object ${tree} is a ${obj.type}, not a tree`);
      return obj.data;
    };
    const next: typeof level = [];
    for (const [n, w] of level.entries()) {
      const paths = out[w.i];
      if (!paths) continue;
      // One side at a time, the first kept aside: the build's reader hands out views of a ring
      // that the second read may come round to.
      const x = await read(w.a, true);
      const y = await read(w.b);
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
