// A least-recently-used cache bounded by the total size of its values.

/**
 * The memory a cached byte view keeps alive: its whole buffer, not its length (a 4 KiB view of a
 * 256 KiB read keeps all 256 KiB). Caches of bytes count this, so their budgets are what they hold.
 */
export const heldBytes = (view: ArrayBufferView): number => view.buffer.byteLength;

/** `bytes` itself if it is its whole buffer, else a copy of just its bytes (to cache without the rest). */
export const ownBytes = (bytes: Uint8Array): Uint8Array => (bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice());

interface Entry<V> {
  value: V;
  size: number;
  /** Hit since it was set or last given a second chance (`ByteLru.makeRoom`). */
  used: boolean;
}

export class ByteLru<K, V> {
  private readonly map = new Map<K, Entry<V>>();
  private total = 0;
  private evictor?: MapIterator<[K, Entry<V>]>;

  /** `maxValueBytes`: the largest value kept (default a quarter of the budget). */
  constructor(
    private limit: number,
    private readonly sizeOf: (value: V) => number,
    private readonly valueLimit?: number,
  ) {}

  get maxBytes(): number {
    return this.limit;
  }

  private get maxValueBytes(): number {
    return this.valueLimit ?? this.limit / 4;
  }

  /** Sets a new budget, evicting down to it (an isolate with bounds of its own: utils/edge-budget.ts). */
  resize(maxBytes: number): void {
    this.limit = maxBytes;
    this.makeRoom(0);
  }

  get bytes(): number {
    return this.total;
  }

  /**
   * A hit only marks its entry: moving it to the back (a delete and a set of the Map) on every hit
   * was 2 to 5% of a cold blame's CPU, whose object reads hit the caches thousands of times a
   * second. Marked entries are moved when eviction reaches them (`makeRoom`).
   */
  get(key: K): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    hit.used = true;
    return hit.value;
  }

  set(key: K, value: V): void {
    const size = this.sizeOf(value);
    if (size > this.maxValueBytes) return; // never let one value flush the cache
    const old = this.map.get(key);
    if (old) {
      this.total -= old.size;
      this.map.delete(key);
    }
    this.map.set(key, { value, size, used: false });
    this.total += size;
    this.makeRoom(0);
  }

  /**
   * Evicts entries, oldest first, until `bytes` more would fit within the budget. An entry used
   * since it was set or last passed (a "second chance", as a clock cache gives) is moved to the
   * back unmarked instead: the order stays that of last use up to the passes eviction makes.
   */
  makeRoom(bytes: number): void {
    while (this.total + bytes > this.maxBytes) {
      // One iterator kept across calls: everything it passed was evicted, so it always yields
      // the least recently used entry. A new iterator per call would step again over the
      // deleted slots at the front of the Map (until V8 compacts it): with thousands of small
      // pages evicted one by one, that scan was the cache's main cost.
      let next = this.evictor?.next();
      if (!next || next.done) next = (this.evictor = this.map.entries()).next();
      if (next.done) break;
      const [k, v] = next.value;
      this.map.delete(k);
      if (v.used) {
        // Set again behind everything: the iterator meets it once more after the rest.
        v.used = false;
        this.map.set(k, v);
        continue;
      }
      this.total -= v.size;
    }
  }

  delete(key: K): void {
    const old = this.map.get(key);
    if (old) {
      this.total -= old.size;
      this.map.delete(key);
    }
  }

  /** Drops every entry whose key `drop` picks (a scan of all: for rare clean-ups). */
  deleteWhere(drop: (key: K) => boolean): void {
    for (const [k, v] of this.map) {
      if (!drop(k)) continue;
      this.map.delete(k);
      this.total -= v.size;
    }
  }
}

/**
 * A small per-isolate cache of lookups whose source of truth is elsewhere (KV, D1): entries live
 * `ttlMs` at most, and the oldest goes when `maxEntries` is reached. Absent results (null) are
 * cached too, so a flood of unknown keys does not reach the store each time.
 */
export class TtlCache<K, V> {
  private readonly map = new Map<K, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  /** The cached value, or `load`'s (then cached). */
  async get(key: K, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.map.get(key);
    if (hit && hit.expires > now) return hit.value;
    const value = await load();
    this.map.delete(key);
    // Maps iterate in insertion order: drop the oldest entry.
    if (this.map.size >= this.maxEntries) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, { value, expires: now + this.ttlMs });
    return value;
  }

  delete(key: K): void {
    this.map.delete(key);
  }
}
