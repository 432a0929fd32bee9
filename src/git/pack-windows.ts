// Windows of a pack in the slots of one buffer, least recently used evicted: read at once when they
// hold the bytes asked for, filled in place otherwise. The indexer's second pass, the pack writer's
// copy and the commit-graph build all read packs through this one mechanism.
import type { RangeSource } from "./range-source";

/** A ranged read of 64 KiB costs about what a tiny one does (as for the shared window cache). */
export const PASS_WINDOW = 64 * 1024;
/** Ranges spanning more windows than this are read on their own instead of through the windows. */
const SPAN_WINDOWS = 4;
/** A range read on its own keeps its buffer for the next one up to this size; larger ones are read once. */
const KEEP_SPAN = 1024 * 1024;

export interface PackWindowsOptions {
  /** The buffer whose slots hold the windows (the indexer hands on its first pass's). */
  buffer?: Uint8Array;
  /** Without a buffer: bytes of windows to allocate (fewer when the source has fewer windows). */
  bytes?: number;
  /** Window size in bytes. */
  window?: number;
  /**
   * Ranges over more windows than this are read on their own (4 by default), given the number of
   * slots: the build keeps half its slots for the tree levels it comes back to. Never more than
   * the slots, so that every window of a range can be held at once.
   */
  spanWindows?: (slots: number) => number;
}

/**
 * An LRU of aligned windows of a source, every window a slot of one buffer. The shared window
 * cache (`WindowedSource`) gives every window an array buffer of its own: a pass over most of a
 * large pack through it left 130 to 175 MiB of dead 64 KiB buffers at the isolate's peak, which
 * V8 reclaims late. `view` answers without an await from what the slots hold and otherwise
 * records what is missing for `fill`; `read` does both. A view is valid until the next call.
 */
export class PackWindows {
  private mem: Uint8Array;
  private readonly window: number;
  private readonly slots: number;
  private readonly spanLimit: number;
  /** Window number → slot + 1 (0: not held). */
  private slotOf: Int32Array;
  /** Slot → window number (-1: free), and when it was last used (no garbage per hit, unlike a Map). */
  private windowIn: Int32Array;
  private used: Float64Array;
  private clock = 0;
  /** Bytes of a range that spans windows, copied together. */
  private span: Uint8Array = new Uint8Array(0);
  /** The last range read on its own, and the buffer it was read into. */
  private whole: { start: number; bytes: Uint8Array } | null = null;
  private wholeBuffer: Uint8Array = new Uint8Array(0);
  /** What the last miss needs: a window number, or a range read on its own. */
  private missing: { window: number } | { start: number; end: number } | null = null;
  /** Storage reads made (windows filled and ranges read on their own). */
  reads = 0;

  constructor(
    private readonly source: RangeSource,
    opts: PackWindowsOptions = {},
  ) {
    const window = (this.window = opts.window ?? PASS_WINDOW);
    const windows = Math.ceil(source.size / window);
    if (opts.buffer) {
      // At least two windows, so that a range spanning two can be copied out of both.
      this.mem = opts.buffer.length >= 2 * window ? opts.buffer : new Uint8Array(2 * window);
      this.slots = Math.floor(this.mem.length / window);
    } else {
      this.slots = Math.max(2, Math.min(windows, Math.floor((opts.bytes ?? 2 * window) / window)));
      this.mem = new Uint8Array(this.slots * window);
    }
    this.spanLimit = Math.max(1, Math.min(opts.spanWindows?.(this.slots) ?? SPAN_WINDOWS, this.slots));
    this.slotOf = new Int32Array(windows);
    this.windowIn = new Int32Array(this.slots).fill(-1);
    this.used = new Float64Array(this.slots);
  }

  /** Bytes the windows hold in buffers (slots, spanning copy, last range read on its own). */
  get bytes(): number {
    return this.mem.length + this.span.length + this.wholeBuffer.length;
  }

  /** Lets the buffers go and hands the windows' buffer back (not used again). */
  release(): Uint8Array {
    const mem = this.mem;
    this.dispose();
    return mem;
  }

  /** Lets the buffers go (not used again). */
  dispose(): void {
    this.mem = new Uint8Array(0);
    this.span = new Uint8Array(0);
    this.wholeBuffer = new Uint8Array(0);
    this.whole = null;
    this.slotOf = new Int32Array(0);
    this.windowIn = new Int32Array(0);
    this.used = new Float64Array(0);
  }

  /** Bytes [start, end) of the source (clamped to its size), valid until the next call. */
  async read(start: number, end: number): Promise<Uint8Array> {
    if (!this.source.readInto) return this.source.read(start, Math.min(end, this.source.size));
    for (;;) {
      const bytes = this.view(start, end);
      if (bytes) {
        // A large range read on its own is the caller's alone: not held past this read.
        if (this.wholeBuffer.length > KEEP_SPAN) this.dropWhole();
        return bytes;
      }
      await this.fill();
    }
  }

  /** Bytes [start, end) (clamped to the source) if the windows hold them, else null (then `fill`). */
  view(start: number, end: number): Uint8Array | null {
    end = Math.min(end, this.source.size);
    if (end <= start) return new Uint8Array(0);
    const W = this.window;
    const first = Math.floor(start / W);
    const last = Math.floor((end - 1) / W);
    if (last - first + 1 > this.spanLimit) {
      const w = this.whole;
      if (w && w.start === start && w.bytes.length >= end - start) return w.bytes.subarray(0, end - start);
      this.missing = { start, end };
      return null;
    }
    for (let w = first; w <= last; w++) {
      const s = this.slotOf[w]! - 1;
      if (s < 0) {
        this.missing = { window: w };
        return null;
      }
      this.used[s] = ++this.clock;
    }
    if (first === last) {
      const at = (this.slotOf[first]! - 1) * W - first * W;
      return this.mem.subarray(at + start, at + end);
    }
    if (this.span.length < end - start) this.span = new Uint8Array(Math.max(end - start, 2 * this.span.length, W));
    for (let w = first; w <= last; w++) {
      const base = (this.slotOf[w]! - 1) * W;
      const from = Math.max(start, w * W);
      const to = Math.min(end, (w + 1) * W);
      this.span.set(this.mem.subarray(base + from - w * W, base + to - w * W), from - start);
    }
    return this.span.subarray(0, end - start);
  }

  /** Reads what the last `view` that answered null lacked. */
  async fill(): Promise<void> {
    const m = this.missing;
    this.missing = null;
    if (!m) return;
    const source = this.source;
    const W = this.window;
    this.reads++;
    if ("start" in m) {
      this.whole = { start: m.start, bytes: await this.readWhole(m.start, m.end) };
      return;
    }
    let slot = 0;
    for (let s = 1; s < this.slots; s++) if (this.used[s]! < this.used[slot]!) slot = s;
    const old = this.windowIn[slot]!;
    if (old >= 0) this.slotOf[old] = 0;
    this.windowIn[slot] = -1;
    const into = this.mem.subarray(slot * W, (slot + 1) * W);
    if (source.readInto) {
      // The read may transfer (detach) the buffer: every slot is a view of what it hands back.
      const size = this.mem.length;
      const read = await source.readInto(m.window * W, into);
      this.mem = new Uint8Array(read.buffer, read.byteOffset - slot * W, size);
    } else into.set(await source.read(m.window * W, (m.window + 1) * W));
    this.windowIn[slot] = m.window;
    this.slotOf[m.window] = slot + 1;
    this.used[slot] = ++this.clock;
  }

  /** A long range, into the kept buffer when it fits (never through `read`, which fills shared windows). */
  private async readWhole(start: number, end: number): Promise<Uint8Array> {
    const n = end - start;
    if (!this.source.readInto) return this.source.read(start, end);
    if (this.wholeBuffer.length < n)
      this.wholeBuffer = new Uint8Array(n > KEEP_SPAN ? n : Math.max(n, 2 * this.wholeBuffer.length));
    const size = this.wholeBuffer.length;
    const read = await this.source.readInto(start, this.wholeBuffer.subarray(0, n));
    this.wholeBuffer = new Uint8Array(read.buffer, read.byteOffset, size);
    return read;
  }

  private dropWhole(): void {
    this.whole = null;
    this.wholeBuffer = new Uint8Array(0);
  }
}
