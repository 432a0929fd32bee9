// The commit-graph build's own reader of the trees its filters diff (git/commit-graph-levels.ts
// walks them level by level): resolved into one slab used as a ring, read through the build's
// own pack windows.
import { applyDelta, deltaSizes } from "./delta";
import type { GitObject, ObjectStore, Pack } from "./object-store";
import { type EntryHeader, OBJ_OFS_DELTA, OBJ_REF_DELTA, typeName } from "./pack-format";
import { InflateScratch } from "./zlib";
import { BuildPackReader } from "./commit-graph-pack";

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
  private slab: Uint8Array;
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
  /**
   * Headers of the delta chain being resolved, by key, until the object is: a miss starts the
   * chain again from its top, and without them every entry down to the last one resolved had to
   * be in the windows at once. A chain spread over more windows than the reader has (one of
   * long70k's trees: 55 windows of 256 KiB against 31) then evicted its own top on every fill,
   * and the read never ended.
   */
  private readonly chain = new Map<number, EntryHeader>();
  /** Objects inflated (entries read from the pack), for tests and benchmarks. */
  inflated = 0;

  constructor(
    store: ObjectStore,
    private readonly size = TREE_SLAB_BYTES,
    /** Where entries are read from: windows of the build's own, not the isolate's shared ones. */
    readonly packs = new BuildPackReader(store),
  ) {
    this.slab = new Uint8Array(size);
  }

  /** Bytes the reader holds in buffers (slab, scratch and pack windows), for tests. */
  get heldBytes(): number {
    return this.slab.length + this.deltaData.bytes + this.baseCopy.bytes + this.sideCopy.bytes + this.packs.heldBytes;
  }

  /**
   * Lets the slab and the windows go and hands their buffers back, largest first (the reader is
   * not used again): the next phase of the same job fills them instead of allocating its own.
   */
  release(): Uint8Array[] {
    const buffers = [this.slab, ...this.packs.release()];
    this.slab = new Uint8Array(0);
    this.held.clear();
    return buffers.sort((a, b) => b.length - a.length);
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
    for (;;) {
      const held = this.resolveNow(pack, offset);
      if (held) {
        this.chain.clear();
        return this.kept(held.obj, keep);
      }
      await this.fill();
    }
  }

  /**
   * The object at `offset` of `pack` (as `readAt` gives it) if the slab holds it or the build's
   * windows hold all it is made of, else null: no promise, no await.
   */
  peek(pack: Pack, offset: number, keep = false): GitObject | null {
    const held = this.resolveNow(pack, offset);
    this.chain.clear();
    return held ? this.kept(held.obj, keep) : null;
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

  /** Reads what the last `resolveNow` that answered null lacked: a window, or a base's location. */
  private fill(): Promise<void> {
    return this.packs.fill();
  }

  /**
   * The object at `offset` resolved from the slab and the build's windows, or null when they lack
   * something (then `fill`): a tree read through the windows costs no promise, and the awaits
   * are only for storage reads. What it resolved before it stopped stays in the slab.
   */
  private resolveNow(pack: Pack, offset: number): Held | null {
    const key = this.keyOf(pack, offset);
    const hit = this.held.get(key);
    if (hit && this.intact(hit.pos)) return hit;
    let header = this.chain.get(key);
    if (!header) {
      const read = this.packs.headerNow(pack, offset);
      if (!read) return null;
      this.chain.set(key, (header = read));
    }
    let base: Held | null = null;
    if (header.type === OBJ_OFS_DELTA) {
      base = this.resolveNow(pack, header.baseOffset!);
      if (!base) return null;
    } else if (header.type === OBJ_REF_DELTA) {
      const at = this.packs.baseAt(header.baseOid!);
      if (!at) return null;
      base = this.resolveNow(at.pack, at.offset);
      if (!base) return null;
    }
    let held: Held;
    if (base) {
      // The base is read first (it may use the delta buffer), then the delta is inflated.
      const delta = this.packs.inflateNow(pack, offset, header, this.deltaData);
      if (!delta) return null;
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
      const data = this.packs.inflateNow(pack, offset, header, this.area);
      if (!data) return null;
      held = { obj: { type: typeName(header.type), data }, pos: this.area.pos };
    }
    this.inflated++;
    if (held.pos >= 0) {
      this.held.set(key, held);
      this.order.push(key);
      this.orderPos.push(held.pos);
    }
    return held;
  }
}

/**
 * The build's slab of trees: room for the delta bases a level of a batch shares and for a tree
 * read as one commit's side and again as its child's; one buffer, so no garbage buffers at all.
 */
export const TREE_SLAB_BYTES = 4 * 1024 * 1024;
