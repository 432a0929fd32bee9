// Spill runs: fixed-width records sorted in bounded memory, as an external sort. Records collect
// in a byte-bounded buffer; a full buffer is sorted and written out as one part through a store
// the caller gives (R2 under the repository's prefix in the push worker, memory in tests); the
// parts are read back by bounded ranges as one merged, sorted, de-duplicated stream.
//
//   const runs = new SpillRuns({ width: 20, budget: 8 << 20, store });
//   runs.add(bytes, at);                          // copies bytes[at..at+width); synchronous
//   for await (const batch of runs.sorted()) {}   // records in key order, `width` bytes each
//   await runs.dispose();                         // deletes every part written: call in finally
//
// - Order is bytewise over the first `keyWidth` bytes (default: the whole record); records with
//   equal keys appear once (the first met is kept) unless `distinct: false`.
// - Nothing is written while everything fits the first buffer: a small push costs no storage call.
// - `budget` bounds the bytes held: a filter of keys added lately (a sixteenth, when distinct:
//   repeats met soon after are dropped before they fill runs), two buffers (one filling while
//   the other is written out), the sort's scratch (12 bytes a record), and while merging one
//   read window per part plus the output batch. `held`/`peakHeld` account them. A caller that cannot await `add` (the pack
//   indexer's callback is synchronous) may pass the budget by the buffers still being written
//   when storage is slower than it; awaiting the promise `add` returns keeps it within.
// - The merge reads each run by windows of budget / (runs + 1) bytes. Past the runs one merge can
//   take with windows worth a request (127 for a budget of 8 MiB: some 20 million 20-byte
//   records), groups of runs are first merged into longer runs, written as parts of one window:
//   the bytes held stay within the budget however many records come, at the cost of another pass.
// - merged() reads the records so far (more may be added, it may run again); a batch is valid until the next step.
import { compareRecords, type Cursor, CursorHeap, permute, readWindow, type SpillStore } from "./spill-order";

export { compareRecords };
export type { SpillStore };

export interface SpillOptions {
  width: number;
  /** Bytes of its key, which orders records (a prefix of the record); default: `width`. */
  keyWidth?: number;
  /** Bytes of memory the runs may hold (see the header). */
  budget: number;
  store: SpillStore;
  /** Drop records whose key equals the previous one's; default true. */
  distinct?: boolean;
  /** Told every change of `held` (the pack indexer counts its own buffers and these as one). */
  held?: { add(bytes: number): void };
}

/** Fewest records a merge reads from a part at once (a smaller read costs more than it saves). */
const MIN_WINDOW = 64;
/** Sort scratch per record: a float64 key and a uint32 permutation entry. */
const SCRATCH = 12;
/** The sort packs a record's position into 21 bits of a double beside 32 bits of its key. */
const MAX_RUN = 1 << 21;
/** The first buffer's size before it grows toward the cap: a small push allocates little. */
const FIRST_RECORDS = 1024;

export class SpillRuns {
  readonly width: number;
  readonly keyWidth: number;
  private readonly capacity: number;
  private readonly distinct: boolean;
  private buffer: Uint8Array;
  private count = 0;
  /** Bytes of every part, by part number. */
  private readonly partSizes: number[] = [];
  /** The runs written, each a list of parts in order (one, until runs are merged into longer ones). */
  private runs: number[][] = [];
  private readonly writes = new Set<Promise<void>>();
  private writing = 0;
  private failure: unknown = null;
  private finished = false;
  private disposed = false;
  /** A buffer whose write ended, for the next run; the sort's scratch, kept between runs. */
  private spare: Uint8Array | null = null;
  private keys: Float64Array | null = null;
  private order: Uint32Array | null = null;
  /**
   * Keys added lately, one per slot by their first bytes (a sixteenth of the budget, when
   * distinct): a key met again soon after (a tree entry unchanged since the last version of
   * its tree) is dropped at once instead of filling runs; a miss only costs the slot.
   */
  private recent: Uint8Array | null = null;
  private recentUsed: Uint8Array | null = null;
  /** Bytes held now, and the most held at once. */
  held = 0;
  peakHeld = 0;
  /** Runs written out from full buffers (not counting the longer runs merges write). */
  runsSpilled = 0;

  constructor(private readonly opts: SpillOptions) {
    this.width = opts.width;
    this.keyWidth = opts.keyWidth ?? opts.width;
    if (!(this.keyWidth >= 1 && this.keyWidth <= this.width)) throw new RangeError("keyWidth must be 1 to width");
    this.distinct = opts.distinct ?? true;
    let slots = 0;
    if (this.distinct) {
      slots = 1;
      while (slots * 2 * (this.keyWidth + 1) <= opts.budget / 16) slots *= 2;
      this.recent = new Uint8Array(slots * this.keyWidth);
      this.recentUsed = new Uint8Array(slots);
    }
    // The filter, two buffers and one sort's scratch fit the budget.
    const rest = opts.budget - slots * (this.keyWidth + 1);
    this.capacity = Math.min(MAX_RUN, Math.floor(rest / (2 * this.width + SCRATCH)));
    if (this.capacity < MIN_WINDOW || opts.budget < 3 * MIN_WINDOW * this.width)
      throw new RangeError(`a spill budget of ${opts.budget} bytes is too small`);
    this.buffer = new Uint8Array(Math.min(this.capacity, FIRST_RECORDS) * this.width);
    this.account(this.buffer.length + slots * (this.keyWidth + 1));
  }

  /** Parts written so far. */
  get parts(): number {
    return this.partSizes.length;
  }

  /**
   * Adds the record at bytes[at..at+width). Returns a promise when a full buffer had to be written
   * out while the previous one still is: awaiting it keeps the memory held within the budget.
   */
  add(bytes: Uint8Array, at = 0): Promise<void> | undefined {
    if (this.finished) throw new Error("records added to spill runs after sorted()");
    if (this.failure) throw this.failure;
    if (this.recent && this.recentUsed) {
      const kw = this.keyWidth;
      let slot = 0;
      for (let k = 0; k < 3 && k < kw; k++) slot = (slot << 8) | bytes[at + k]!;
      slot &= this.recentUsed.length - 1;
      if (this.recentUsed[slot] && compareRecords(this.recent, slot * kw, bytes, at, kw) === 0) return undefined;
      for (let k = 0; k < kw; k++) this.recent[slot * kw + k] = bytes[at + k]!;
      this.recentUsed[slot] = 1;
    }
    if (this.count * this.width === this.buffer.length) {
      if (this.buffer.length < this.capacity * this.width) this.grow();
      else this.spill();
    }
    const to = this.count * this.width;
    for (let k = 0; k < this.width; k++) this.buffer[to + k] = bytes[at + k]!;
    this.count++;
    return this.writing > 1 ? this.settled() : undefined;
  }

  /** Every record in key order, in batches of whole records. Call once, after the last add. */
  async *sorted(): AsyncGenerator<Uint8Array, void, void> {
    if (this.finished) throw new Error("spill runs are read once");
    this.finished = true;
    this.account(-(this.recent?.length ?? 0) - (this.recentUsed?.length ?? 0));
    this.recent = this.recentUsed = null;
    if (this.partSizes.length === 0) {
      // Everything fit: sorted in place, never written.
      const n = this.sortBuffer(this.buffer, this.count);
      yield this.buffer.subarray(0, n * this.width);
      return;
    }
    if (this.count > 0) this.spill();
    await this.settled();
    if (this.failure) throw this.failure;
    this.account(-this.buffer.length - (this.spare?.length ?? 0) - (this.keys?.length ?? 0) * SCRATCH);
    this.buffer = new Uint8Array(0);
    this.spare = this.keys = this.order = null;
    await this.compact(0, this.opts.budget);
    yield* this.merge(this.runs, this.opts.budget);
  }

  /**
   * Every record added so far in key order, as sorted() gives them, but records may be added
   * after, and it may be read again (the pack indexer reads its records once per section of the
   * .idx). The buffered records are sorted in place and merged with the parts as one more run.
   */
  async *merged(): AsyncGenerator<Uint8Array, void, void> {
    if (this.finished) throw new Error("spill runs merged after sorted()");
    if (this.failure) throw this.failure;
    this.count = this.sortBuffer(this.buffer, this.count);
    const buffered = this.buffer.subarray(0, this.count * this.width);
    if (this.partSizes.length === 0) {
      yield buffered;
      return;
    }
    await this.settled();
    if (this.failure) throw this.failure;
    // The buffer stays beside the merge: the spare buffer and the scratch go, the windows shrink.
    this.account(-(this.spare?.length ?? 0) - (this.keys?.length ?? 0) * SCRATCH);
    this.spare = this.keys = this.order = null;
    const space = this.opts.budget - this.buffer.length;
    await this.compact(1, space);
    yield* this.merge(this.runs, space, buffered);
  }

  /** Too many runs (and `extra`) for one merge's windows: groups merged into longer runs first, oldest first (ties keep the first added). */
  private async compact(extra: number, space: number): Promise<void> {
    const fanIn = this.fanIn(space);
    while (this.runs.length + extra > fanIn) {
      const next: number[][] = [];
      for (let i = 0; i < this.runs.length; i += fanIn) {
        const group = this.runs.slice(i, i + fanIn);
        next.push(group.length === 1 ? group[0]! : await this.mergeToParts(group, space));
      }
      this.runs = next;
    }
  }

  /** Deletes every part written; safe to call more than once and after a failure. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.finished = true;
    await this.settled();
    // Parts merged into longer runs were deleted then (their size set to 0).
    const parts = this.partSizes.flatMap((size, part) => (size > 0 ? [part] : []));
    if (parts.length > 0) await this.opts.store.delete(parts);
  }

  private account(bytes: number): void {
    this.held += bytes;
    this.opts.held?.add(bytes);
    if (this.held > this.peakHeld) this.peakHeld = this.held;
  }

  private async settled(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
  }

  private grow(): void {
    const next = new Uint8Array(Math.min(this.capacity, (this.buffer.length / this.width) * 4) * this.width);
    next.set(this.buffer);
    this.account(next.length - this.buffer.length);
    this.buffer = next;
  }

  /** Sorts the full buffer and writes it out as the next part; a new buffer takes the records. */
  private spill(): void {
    const full = this.buffer;
    const n = this.sortBuffer(full, this.count);
    const part = this.partSizes.length;
    this.partSizes.push(n * this.width);
    this.runs.push([part]);
    this.runsSpilled++;
    this.count = 0;
    // The buffer of the last write that ended, if any: no garbage buffer per run.
    if (this.finished) this.buffer = new Uint8Array(0);
    else if (this.spare) [this.buffer, this.spare] = [this.spare, null];
    else this.account((this.buffer = new Uint8Array(full.length)).length);
    // Held until its write ends: a third buffer while two are being written passes the budget.
    this.writing++;
    const write = this.opts.store
      .put(part, full.subarray(0, n * this.width))
      .catch((err) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.writing--;
        if (!this.finished && !this.spare && full.length === this.buffer.length) this.spare = full;
        else this.account(-full.length);
        this.writes.delete(write);
      });
    this.writes.add(write);
  }

  /**
   * Sorts the first n records of `buf` in place by key (and drops repeated keys when distinct);
   * returns how many remain. The first 32 bits of each key and the record's position share one
   * double, sorted natively; records whose first 32 bits tie are ordered by their whole key.
   */
  private sortBuffer(buf: Uint8Array, n: number): number {
    if (n === 0) return 0;
    const w = this.width;
    const kw = this.keyWidth;
    if (!this.keys || this.keys.length < n) {
      // Kept for the next run (each run sorts as many records): no garbage per run.
      this.account((n - (this.keys?.length ?? 0)) * SCRATCH);
      this.keys = new Float64Array(n);
      this.order = new Uint32Array(n);
    }
    const keys = this.keys.subarray(0, n);
    const order = this.order!.subarray(0, n);
    const prefix = (i: number) => {
      let v = 0;
      for (let k = 0; k < 4; k++) v = v * 256 + (k < kw ? buf[i * w + k]! : 0);
      return v;
    };
    for (let i = 0; i < n; i++) keys[i] = prefix(i) * MAX_RUN + i;
    keys.sort();
    for (let i = 0; i < n; i++) order[i] = keys[i]! % MAX_RUN;
    if (kw > 4) {
      for (let i = 0; i < n; ) {
        let j = i + 1;
        while (j < n && Math.floor(keys[j]! / MAX_RUN) === Math.floor(keys[i]! / MAX_RUN)) j++;
        if (j - i > 1) {
          const tied = Array.from(order.subarray(i, j)).sort((a, b) => compareRecords(buf, a * w, buf, b * w, kw) || a - b);
          order.set(tied, i);
        }
        i = j;
      }
    }
    permute(buf, order, w);
    if (!this.distinct) return n;
    let kept = 1;
    for (let i = 1; i < n; i++) {
      if (compareRecords(buf, (kept - 1) * w, buf, i * w, kw) === 0) continue;
      if (kept !== i) buf.copyWithin(kept * w, i * w, i * w + w);
      kept++;
    }
    return kept;
  }

  /** Most runs merged at once: each gets a window of at least MIN_WINDOW records (and 64 KiB if the budget allows). */
  private fanIn(space: number): number {
    const least = Math.max(MIN_WINDOW * this.width, Math.min(64 * 1024, Math.floor(this.opts.budget / 8)));
    return Math.max(2, Math.floor(space / least) - 1);
  }

  /** Merges runs into one run written out as parts of one window each; deletes the runs' parts. */
  private async mergeToParts(runs: number[][], space: number): Promise<number[]> {
    const merged: number[] = [];
    for await (const batch of this.merge(runs, space)) {
      const part = this.partSizes.length;
      this.partSizes.push(batch.length);
      merged.push(part);
      await this.opts.store.put(part, batch);
    }
    const done = runs.flat();
    await this.opts.store.delete(done);
    for (const part of done) this.partSizes[part] = 0;
    return merged;
  }

  /**
   * The k-way merge of runs (each a list of parts in order), read by windows, and of the records
   * `buffered` in memory (sorted, newest), in output batches; windows and batch share `space` bytes.
   */
  private async *merge(runs: number[][], space: number, buffered?: Uint8Array): AsyncGenerator<Uint8Array, void, void> {
    const w = this.width;
    const kw = this.keyWidth;
    const window = Math.max(MIN_WINDOW, Math.floor(space / (runs.length + 1) / w)) * w;
    const out = new Uint8Array(window);
    this.account(out.length);
    const cursors: Cursor[] = runs.map((parts, age) => ({ parts, age, next: 0, bytes: new Uint8Array(0), at: 0 }));
    try {
      const live: Cursor[] = [];
      await Promise.all(
        cursors.map(async (c) => {
          if (await this.refill(c, window)) live.push(c);
        }),
      );
      if (buffered && buffered.length > 0) {
        const c: Cursor = { parts: [], age: runs.length, next: 0, bytes: buffered, at: 0, memory: true };
        cursors.push(c);
        live.push(c);
      }
      const heap = new CursorHeap(live, kw);
      let filled = 0;
      // The last record written: it stays in `out` until the slot is reused, after the compare.
      let last = -1;
      while (heap.size > 0) {
        const c = heap.top();
        if (!this.distinct || last < 0 || compareRecords(out, last, c.bytes, c.at, kw) !== 0) {
          if (filled === out.length) {
            yield out;
            filled = 0;
          }
          for (let k = 0; k < w; k++) out[filled + k] = c.bytes[c.at + k]!;
          last = filled;
          filled += w;
        }
        c.at += w;
        if (c.at === c.bytes.length && !(await this.refill(c, window))) heap.pop();
        else heap.sifted();
      }
      if (filled > 0) yield out.subarray(0, filled);
    } finally {
      for (const c of cursors) if (!c.memory) this.account(-c.bytes.length);
      this.account(-out.length);
    }
  }

  /** Reads the cursor's next window (never across parts); false when its run is done. */
  private async refill(c: Cursor, window: number): Promise<boolean> {
    // The buffered records are read whole; they stay the buffer, accounted as such.
    if (c.memory) return false;
    this.account(-c.bytes.length);
    c.bytes = new Uint8Array(0);
    c.at = 0;
    while (c.parts.length > 0 && c.next >= this.partSizes[c.parts[0]!]!) {
      c.parts = c.parts.slice(1);
      c.next = 0;
    }
    if (c.parts.length === 0) return false;
    const part = c.parts[0]!;
    const end = Math.min(this.partSizes[part]!, c.next + window);
    const bytes = await readWindow(this.opts.store, c, part, end, window);
    c.bytes = bytes;
    c.next = end;
    this.account(bytes.length);
    return true;
  }
}
