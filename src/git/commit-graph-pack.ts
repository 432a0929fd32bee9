// The commit-graph build's own reads of pack entries: through windows it keeps in one buffer per
// pack, filled in place, and read without an await when they hold the bytes asked for.
import type { Location, ObjectStore, Pack } from "./object-store";
import type { Oid } from "./oid";
import { type EntryHeader, parseEntryHeader } from "./pack-format";
import { GitError } from "./errors";
import { InflateError, inflateAt, type InflateScratch } from "./zlib";

/**
 * The windows of all packs the build reads. Through the shared cache (24 MiB of windows, each an
 * array buffer of its own) a build filled it in a fresh isolate and every eviction left a dead
 * 64 KiB buffer behind: at git/git's size, 24 MiB held and tens of MiB of garbage at the push
 * isolate's peak. 12 MiB holds the windows a batch of commits' tree levels come back to.
 */
export const BUILD_WINDOW_BYTES = 12 * 1024 * 1024;
/** A ranged read of 64 KiB costs about what a tiny one does (as for the shared window cache). */
export const BUILD_WINDOW = 64 * 1024;

/** Longest header of a pack entry (type/size varint, plus a 20-byte REF_DELTA base). */
const MAX_ENTRY_HEADER = 32;

/** zlib's bound of the deflated size of `n` bytes, as `Pack.rawEntry` reads up to. */
const deflateBound = (n: number) => n + Math.floor(n / 4096) + Math.floor(n / 16384) + Math.floor(n / 2 ** 25) + 19 + 64;

/**
 * Aligned windows of one pack in the slots of one buffer, least recently used evicted. `view`
 * answers at once from what they hold; a miss records what to read, and `fill` reads it.
 */
class PackWindows {
  private mem: Uint8Array;
  private readonly slots: number;
  /** Window number → slot + 1 (0: not held). */
  private readonly slotOf: Int32Array;
  /** Slot → window number (-1: free), and when it was last used. */
  private readonly windowIn: Int32Array;
  private readonly used: Float64Array;
  private clock = 0;
  /** Bytes of a range that spans windows, copied together (valid until the next view). */
  private span = new Uint8Array(0);
  /** A range larger than half the windows, read on its own. */
  private whole: { start: number; bytes: Uint8Array } | null = null;
  /** What the last miss needs: a window number, or a range read on its own. */
  private missing: { window: number } | { start: number; end: number } | null = null;
  reads = 0;

  constructor(
    private readonly pack: Pack,
    bytes: number,
  ) {
    const windows = Math.ceil(pack.source.size / BUILD_WINDOW);
    this.slots = Math.max(2, Math.min(windows, Math.floor(bytes / BUILD_WINDOW)));
    this.mem = new Uint8Array(this.slots * BUILD_WINDOW);
    this.slotOf = new Int32Array(windows);
    this.windowIn = new Int32Array(this.slots).fill(-1);
    this.used = new Float64Array(this.slots);
  }

  get bytes(): number {
    return this.mem.length + this.span.length + (this.whole?.bytes.length ?? 0);
  }

  /** Bytes [start, end) (clamped to the pack) if the windows hold them, else null (then `fill`). */
  view(start: number, end: number): Uint8Array | null {
    end = Math.min(end, this.pack.source.size);
    if (end <= start) return new Uint8Array(0);
    const first = Math.floor(start / BUILD_WINDOW);
    const last = Math.floor((end - 1) / BUILD_WINDOW);
    if (last - first + 1 > this.slots / 2) {
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
      const at = (this.slotOf[first]! - 1) * BUILD_WINDOW - first * BUILD_WINDOW;
      return this.mem.subarray(at + start, at + end);
    }
    if (this.span.length < end - start) this.span = new Uint8Array(Math.max(end - start, 2 * this.span.length));
    for (let w = first; w <= last; w++) {
      const base = (this.slotOf[w]! - 1) * BUILD_WINDOW;
      const from = Math.max(start, w * BUILD_WINDOW);
      const to = Math.min(end, (w + 1) * BUILD_WINDOW);
      this.span.set(this.mem.subarray(base + from - w * BUILD_WINDOW, base + to - w * BUILD_WINDOW), from - start);
    }
    return this.span.subarray(0, end - start);
  }

  /** Reads what the last `view` that answered null lacked. */
  async fill(): Promise<void> {
    const m = this.missing;
    this.missing = null;
    if (!m) return;
    const source = this.pack.source;
    this.reads++;
    if ("start" in m) {
      // Into a buffer of its own: through `read`, a range of two windows would fill the shared ones.
      const bytes = source.readInto
        ? await source.readInto(m.start, new Uint8Array(m.end - m.start))
        : await source.read(m.start, m.end);
      this.whole = { start: m.start, bytes };
      return;
    }
    let slot = 0;
    for (let s = 1; s < this.slots; s++) if (this.used[s]! < this.used[slot]!) slot = s;
    const old = this.windowIn[slot]!;
    if (old >= 0) this.slotOf[old] = 0;
    this.windowIn[slot] = -1;
    const into = this.mem.subarray(slot * BUILD_WINDOW, (slot + 1) * BUILD_WINDOW);
    if (source.readInto) {
      // The read may transfer (detach) the buffer: every slot is a view of what it hands back.
      const size = this.mem.length;
      const read = await source.readInto(m.window * BUILD_WINDOW, into);
      this.mem = new Uint8Array(read.buffer, read.byteOffset - slot * BUILD_WINDOW, size);
    } else into.set(await source.read(m.window * BUILD_WINDOW, (m.window + 1) * BUILD_WINDOW));
    this.windowIn[slot] = m.window;
    this.slotOf[m.window] = slot + 1;
    this.used[slot] = ++this.clock;
  }
}

export class BuildPackReader {
  private readonly windows = new Map<Pack, PackWindows>();
  /** The windows the last miss was in. */
  private missed: PackWindows | null = null;
  /** A REF_DELTA base the last miss could not locate without an await. */
  private missedBase: Oid | null = null;
  private readonly bases = new Map<Oid, Location>();
  /** Where the entry `inflateNow` last inflated ends. */
  end = 0;

  /** The budget is shared by the store's packs (one large pack after an import, or several small ones). */
  constructor(
    private readonly store: ObjectStore,
    private readonly budget = BUILD_WINDOW_BYTES,
  ) {}

  /** Bytes the reader holds in buffers (its windows), for tests. */
  get heldBytes(): number {
    let n = 0;
    for (const w of this.windows.values()) n += w.bytes;
    return n;
  }

  /** Storage reads made, for tests and benchmarks. */
  get reads(): number {
    let n = 0;
    for (const w of this.windows.values()) n += w.reads;
    return n;
  }

  private of(pack: Pack): PackWindows {
    let w = this.windows.get(pack);
    if (!w) this.windows.set(pack, (w = new PackWindows(pack, Math.floor(this.budget / Math.max(1, this.store.packs.length)))));
    return w;
  }

  private view(pack: Pack, start: number, end: number): Uint8Array | null {
    const w = this.of(pack);
    const bytes = w.view(start, end);
    if (!bytes) this.missed = w;
    return bytes;
  }

  /** Reads what the last call that answered null lacked: a window, or a REF_DELTA base's location. */
  async fill(): Promise<void> {
    const oid = this.missedBase;
    this.missedBase = null;
    if (oid) {
      const at = await this.store.locate(oid);
      if (!at) throw new GitError("missing_object", `object ${oid} is missing`);
      this.bases.set(oid, at);
      return;
    }
    const w = this.missed;
    this.missed = null;
    await w?.fill();
  }

  /** Where a REF_DELTA base is, if located already; else null (then `fill`). */
  baseAt(oid: Oid): Location | null {
    const at = this.bases.get(oid);
    if (at) return at;
    this.missedBase = oid;
    return null;
  }

  /** The header of the entry at `offset`, or null when the windows lack its bytes (then `fill`). */
  headerNow(pack: Pack, offset: number): EntryHeader | null {
    const bytes = this.view(pack, offset, Math.min(pack.source.size - 20, offset + MAX_ENTRY_HEADER));
    if (!bytes) return null;
    const header = parseEntryHeader(bytes, 0, offset);
    if (!header) throw new GitError("corrupt_pack", `truncated entry at offset ${offset} of ${pack.name}`);
    return header;
  }

  /**
   * The entry's inflated bytes (a delta's data for a delta), into `out`'s buffer, read up to
   * zlib's bound of its size as `Pack.inflateEntry` reads; `end` is where the entry ends. Null
   * when the windows lack the bytes (then `fill`).
   */
  inflateNow(pack: Pack, offset: number, header: EntryHeader, out?: InflateScratch): Uint8Array | null {
    const limit = pack.source.size - 20;
    for (let extra = 1; ; extra *= 2) {
      const end = Math.min(limit, offset + header.headerLength + deflateBound(header.size) * extra);
      const bytes = this.view(pack, offset, end);
      if (!bytes) return null;
      try {
        const { data, consumed } = inflateAt(bytes, header.headerLength, header.size, out);
        this.end = offset + header.headerLength + consumed;
        return data;
      } catch (err) {
        // Only a deflater worse than zlib's overruns the bound: then read further, doubling.
        if (!(end < limit && err instanceof InflateError && err.truncated)) throw err;
      }
    }
  }

  async header(pack: Pack, offset: number): Promise<EntryHeader> {
    for (;;) {
      const header = this.headerNow(pack, offset);
      if (header) return header;
      await this.fill();
    }
  }

  async inflate(
    pack: Pack,
    offset: number,
    header: EntryHeader,
    out?: InflateScratch,
  ): Promise<{ data: Uint8Array; end: number }> {
    for (;;) {
      const data = this.inflateNow(pack, offset, header, out);
      if (data) return { data, end: this.end };
      await this.fill();
    }
  }
}
