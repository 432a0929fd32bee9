// Random reads of a pack for the indexer's second pass, through windows kept in one buffer and
// filled in place: no array buffer per read, so what the pass reads leaves no garbage behind.
import type { RangeSource } from "./range-source";

/** A ranged read of 64 KiB costs about what a tiny one does (as for the shared window cache). */
export const PASS_WINDOW = 64 * 1024;
/** Entries spanning more windows than this are read on their own instead of through the windows. */
const SPAN_WINDOWS = 4;
/** A spanning entry's buffer is kept for the next one up to this size; larger ones are read once. */
const KEEP_SPAN = 1024 * 1024;

/**
 * An LRU of aligned windows of a source, every window a slot of one buffer (the first pass's read
 * buffer, handed on). The shared window cache (`WindowedSource`) gives every window an array
 * buffer of its own: the second pass reads most of the pack again, and on a 900,000-object import
 * those buffers, which V8 reclaims late, were 130 to 175 MiB of garbage at the isolate's peak.
 * A view `read` returns is valid until the next `read`.
 */
export class WindowReader {
  private mem: Uint8Array;
  private readonly slots: number;
  /** Window number → slot, least recently used first (a Map keeps insertion order). */
  private readonly slotOf = new Map<number, number>();
  private free: number[] = [];
  /** Bytes of entries that span windows, copied together. */
  private span: Uint8Array = new Uint8Array(0);
  /** Storage reads made (windows filled and spanning entries read on their own). */
  reads = 0;

  constructor(
    private readonly source: RangeSource,
    buffer: Uint8Array,
    private readonly window = PASS_WINDOW,
  ) {
    // At least two windows, so that an entry spanning two can be copied out of both.
    this.mem = buffer.length >= 2 * window ? buffer : new Uint8Array(2 * window);
    this.slots = Math.floor(this.mem.length / window);
    for (let s = this.slots - 1; s >= 0; s--) this.free.push(s);
  }

  /** Bytes the reader holds (its windows and its spanning-entry buffer). */
  get bytes(): number {
    return this.mem.length + this.span.length;
  }

  /** Lets the buffers go and hands the windows' buffer back (the reader is not used again). */
  release(): Uint8Array {
    const mem = this.mem;
    this.dispose();
    return mem;
  }

  /** Lets the buffers go (the reader is not used again). */
  dispose(): void {
    this.mem = new Uint8Array(0);
    this.span = new Uint8Array(0);
    this.slotOf.clear();
    this.free = [];
  }

  /** Bytes [start, end) of the source (clamped to its size), valid until the next call. */
  async read(start: number, end: number): Promise<Uint8Array> {
    end = Math.min(end, this.source.size);
    if (end <= start) return new Uint8Array(0);
    if (!this.source.readInto) return this.source.read(start, end);
    const first = Math.floor(start / this.window);
    const last = Math.floor((end - 1) / this.window);
    if (first === last) {
      const at = (await this.load(first)) * this.window - first * this.window;
      return this.mem.subarray(at + start, at + end);
    }
    const out = this.spanBuffer(end - start);
    if (last - first + 1 > SPAN_WINDOWS) {
      this.reads++;
      const size = out.length;
      const read = await this.source.readInto(start, out.subarray(0, end - start));
      if (out === this.span) this.span = new Uint8Array(read.buffer, 0, size);
      return read;
    }
    // Each window's part is copied out before the next is loaded (which may evict it).
    for (let w = first; w <= last; w++) {
      const slot = await this.load(w);
      const from = Math.max(start, w * this.window);
      const to = Math.min(end, (w + 1) * this.window);
      out.set(
        this.mem.subarray(slot * this.window + from - w * this.window, slot * this.window + to - w * this.window),
        from - start,
      );
    }
    return out.subarray(0, end - start);
  }

  /** The slot holding window w, filled from the source on a miss. */
  private async load(w: number): Promise<number> {
    const hit = this.slotOf.get(w);
    if (hit !== undefined) {
      this.slotOf.delete(w);
      this.slotOf.set(w, hit);
      return hit;
    }
    let slot = this.free.pop();
    if (slot === undefined) {
      const [oldest, oldSlot] = this.slotOf.entries().next().value as [number, number];
      this.slotOf.delete(oldest);
      slot = oldSlot;
    }
    this.reads++;
    const into = this.mem.subarray(slot * this.window, (slot + 1) * this.window);
    // The read may transfer (detach) the buffer: every slot is a view of what it hands back.
    const size = this.mem.length;
    const read = await this.source.readInto!(w * this.window, into);
    this.mem = new Uint8Array(read.buffer, read.byteOffset - slot * this.window, size);
    this.slotOf.set(w, slot);
    return slot;
  }

  private spanBuffer(n: number): Uint8Array {
    if (n > KEEP_SPAN) return new Uint8Array(n);
    if (this.span.length < n) this.span = new Uint8Array(Math.max(n, 2 * this.span.length, this.window));
    return this.span;
  }
}
