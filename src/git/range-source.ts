// Random access to an immutable blob (a pack in R2, or bytes in memory), read in windows.
import { heldBytes, ownBytes } from "../utils/lru";
import { isolateTurns, TURN_UNITS } from "../utils/pace";
import { inflightReads } from "../utils/request-scope";
import { edgeLru } from "../utils/edge-budget";

export interface RangeSource {
  /** Identifies the blob in shared caches (e.g. its R2 key). */
  readonly id: string;
  readonly size: number;
  /** Bytes [start, end) of the blob; `end` is clamped to the size. */
  read(start: number, end: number): Promise<Uint8Array>;
  /**
   * Bytes [start, end) (`end` clamped to the size) as one byte stream that can be read into the
   * caller's own buffer (a BYOB reader), for a reader going front to back: one storage request,
   * and no new array buffer per read. Sequential readers ask for spans of `STREAM_SPAN` through
   * `SpanReader`, not for the whole rest. Optional: without it, sequential readers use `read`.
   */
  stream?(start: number, end: number): Promise<ReadableStream<Uint8Array>>;
  /**
   * Bytes [start, start + into.length) (fewer at the end of the blob) read into the caller's
   * buffer: no new array buffer per read. The read may transfer the buffer (a BYOB read does), so
   * the caller uses the returned view, over the same memory, from then on. Optional: without it,
   * readers that reuse buffers use `read`.
   */
  readInto?(start: number, into: Uint8Array): Promise<Uint8Array>;
  /**
   * Bytes from `start` to the end of what is already in memory there (at most to `end`), without
   * any read; null when nothing is. Optional: for work that is worth doing only when it costs no
   * storage request (learning what lies next to an object just read).
   */
  peek?(start: number, end: number): Uint8Array | null;
}

export class MemorySource implements RangeSource {
  constructor(
    readonly id: string,
    private readonly bytes: Uint8Array,
  ) {}
  get size(): number {
    return this.bytes.length;
  }
  async read(start: number, end: number): Promise<Uint8Array> {
    return this.bytes.subarray(start, Math.min(end, this.bytes.length));
  }
  async readInto(start: number, into: Uint8Array): Promise<Uint8Array> {
    const part = this.bytes.subarray(start, Math.min(start + into.length, this.bytes.length));
    into.set(part);
    return into.subarray(0, part.length);
  }
  peek(start: number, end: number): Uint8Array | null {
    return start < this.bytes.length ? this.bytes.subarray(start, Math.min(end, this.bytes.length)) : null;
  }
}

/** Window size for random access: a ranged read of 64 KiB costs about what a tiny one does. */
export const WINDOW = 64 * 1024;
/** Windows one prefetch read fills at most (1 MiB). */
const PREFETCH_RUN = 16;
/** An entry this close to its window's end may run into the next: that one is filled too. */
const PREFETCH_TAIL = 4096;

/**
 * Windows of immutable blobs, shared by every request of the isolate. At 16 MiB, cold commit
 * pages of the 320,000-object benchmark repository made three times the R2 requests (p50 9
 * instead of 3: their trees lie all over the pack); 24 MiB left the edge's caches too little room
 * under the isolate's 128 MB (utils/edge-budget.ts), so 20.
 */
const windows = edgeLru<string, Uint8Array>("git.pack-windows", heldBytes);

/** Bytes the shared window cache holds now (for tests and benchmarks). */
export const windowCacheBytes = (): number => windows.bytes;

/**
 * Short numbers for source ids (R2 keys of about 100 characters) in the window cache's keys: a key
 * is made and hashed on every read. Bounded: when full it starts over (old windows age out).
 */
const sourceNumbers = new Map<string, number>();
let nextSourceNumber = 0;
function windowPrefix(id: string, window: number): string {
  let n = sourceNumbers.get(id);
  if (n === undefined) {
    if (sourceNumbers.size >= 10_000) sourceNumbers.clear();
    sourceNumbers.set(id, (n = nextSourceNumber++));
  }
  return `${n}#${window}:`;
}

/** Lets the shared cache drop the windows of source `id` (a pack about to be retired). */
export const forgetWindows = (id: string): void => {
  const n = sourceNumbers.get(id);
  if (n !== undefined) windows.deleteWhere((key) => key.startsWith(`${n}#`));
};

/**
 * Reads served from the window cache in a row before one gives way to the isolate's other tasks.
 * Such a read waits for nothing, so a page whose objects are all cached (a tree or blob at an old
 * commit: delta chains of up to 50 entries, each inflated and patched, after the tree pages of
 * the same commits filled the windows) ran from start to end without letting another request in:
 * during cold blob pages the warm page got about one turn per page (issue 19). 64 reads, with
 * their inflating and patching, are a few milliseconds. They spend one unit each from the
 * isolate's budget (utils/pace.ts `isolateTurns`), shared with every other source and store.
 */
export const CACHED_READS_PER_TURN = TURN_UNITS;

/**
 * Reads through a per-isolate cache of aligned windows, so that many small reads of nearby
 * objects cost one storage read. Reads larger than a window go straight to the source.
 */
export class WindowedSource implements RangeSource {
  /**
   * The window last looked up, kept to answer the next reads of it without the shared cache: an
   * entry's header, its bytes and the commits learned after it are read from one window in a row,
   * and each lookup made a key and hashed it (the cache's `get` was 2% of a cold blame's profile).
   */
  private lastIndex = -1;
  private lastBytes: Uint8Array | null = null;
  private readonly prefix: string;

  constructor(
    private readonly inner: RangeSource,
    private readonly window = WINDOW,
  ) {
    this.prefix = windowPrefix(inner.id, window);
  }

  get id(): string {
    return this.inner.id;
  }
  get size(): number {
    return this.inner.size;
  }

  /** Sequential reads bypass the windows (they would only evict what random reads need). */
  get stream(): RangeSource["stream"] {
    return this.inner.stream?.bind(this.inner);
  }

  /** Reads into the caller's buffer bypass the windows too (the caller keeps its own). */
  get readInto(): RangeSource["readInto"] {
    return this.inner.readInto?.bind(this.inner);
  }

  /** The rest of the cached window holding `start` (up to `end`), or null when it is not cached. */
  peek(start: number, end: number): Uint8Array | null {
    const index = Math.floor(start / this.window);
    const w = index === this.lastIndex ? this.lastBytes : windows.get(this.windowKey(index));
    if (!w) return null;
    const from = start - index * this.window;
    return from < w.length ? w.subarray(from, Math.min(w.length, end - index * this.window)) : null;
  }

  /** The shared cache's key of window `index` (`forgetWindows` drops a source's by its prefix). */
  private windowKey(index: number): string {
    return this.prefix + index;
  }

  private windowAt(index: number): Promise<Uint8Array> {
    if (index === this.lastIndex) return Promise.resolve(this.lastBytes!);
    const key = this.windowKey(index);
    const hit = windows.get(key);
    if (hit) {
      this.lastIndex = index;
      this.lastBytes = hit;
      return Promise.resolve(hit);
    }
    // A read from storage spends its turn in the storage adapter (storage/r2-source.ts).
    const inflight = inflightReads<Uint8Array>();
    let pending = inflight.get(key);
    if (!pending) {
      pending = this.inner
        .read(index * this.window, (index + 1) * this.window)
        .then((read) => {
          // A source may answer with a view of a larger buffer (a MemorySource, a read shared by
          // several callers): the cache keeps a window of its own, never the rest.
          const bytes = ownBytes(read);
          windows.set(key, bytes);
          return bytes;
        })
        .finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    return pending;
  }

  /**
   * Fills the windows holding `offsets` (and the next one, for an entry that starts near a
   * window's end) that are neither cached nor being read, in one storage read per run of nearby
   * windows (a gap of one window is read through; at most PREFETCH_RUN windows a read), side by
   * side: a walk that knows where its next objects lie (a listing's level of trees, located through
   * the id tables) pays a read per cluster of them instead of one per window.
   */
  async prefetch(offsets: readonly number[]): Promise<void> {
    const inflight = inflightReads<Uint8Array>();
    const wanted = new Set<number>();
    for (const at of offsets) {
      if (at < 0 || at >= this.size) continue;
      const index = Math.floor(at / this.window);
      wanted.add(index);
      if (at + PREFETCH_TAIL > (index + 1) * this.window && (index + 1) * this.window < this.size) wanted.add(index + 1);
    }
    const missing = [...wanted]
      .filter((i) => !windows.get(this.windowKey(i)) && !inflight.has(this.windowKey(i)))
      .sort((a, b) => a - b);
    const runs: [number, number][] = [];
    for (const i of missing) {
      const last = runs.at(-1);
      if (last && i - last[1] <= 2 && i - last[0] < PREFETCH_RUN) last[1] = i;
      else runs.push([i, i]);
    }
    await Promise.all(runs.map(([first, last]) => this.fillRun(first, last, inflight)));
  }

  /** Windows `first` to `last` read at once and cached each on its own (a reader of one waits for the read). */
  private fillRun(first: number, last: number, inflight: Map<string, Promise<Uint8Array>>): Promise<void> {
    const start = first * this.window;
    const all = this.inner.read(start, Math.min(this.size, (last + 1) * this.window));
    const parts: Promise<Uint8Array>[] = [];
    for (let i = first; i <= last; i++) {
      const key = this.windowKey(i);
      const part = all
        .then((read) => {
          const bytes = ownBytes(read.subarray((i - first) * this.window, (i - first + 1) * this.window));
          windows.set(key, bytes);
          return bytes;
        })
        .finally(() => inflight.delete(key));
      inflight.set(key, part);
      parts.push(part);
    }
    return Promise.all(parts).then(() => undefined);
  }

  async read(start: number, end: number): Promise<Uint8Array> {
    end = Math.min(end, this.size);
    if (end <= start) return new Uint8Array(0);
    if (end - start > this.window * 2) return this.inner.read(start, end);
    const turn = isolateTurns.spend();
    if (turn) await turn;
    const first = Math.floor(start / this.window);
    const last = Math.floor((end - 1) / this.window);
    if (first === last) {
      const w = await this.windowAt(first);
      return w.subarray(start - first * this.window, end - first * this.window);
    }
    const parts = await Promise.all(Array.from({ length: last - first + 1 }, (_, i) => this.windowAt(first + i)));
    const out = new Uint8Array(end - start);
    let o = 0;
    parts.forEach((w, i) => {
      const base = (first + i) * this.window;
      const s = Math.max(start, base) - base;
      const e = Math.min(end, base + w.length) - base;
      out.set(w.subarray(s, e), o);
      o += e - s;
    });
    return out;
  }
}
