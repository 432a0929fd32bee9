// The pack writer's reads of the stored packs it copies from: through one bounded buffer of its own,
// not the isolate's shared window cache, and entry ends from a sorted offset table, not by inflating.
import { Pack } from "./object-store";
import { RangedPackIndex } from "./pack-index-ranged";
import { PackWindows } from "./pack-windows";
import type { RangeSource } from "./range-source";

/**
 * Bytes the writer reads stored packs through, and its window (one ranged read). A compaction
 * copies every byte of the repository's packs: through the shared window cache each 64 KiB window
 * was an array buffer of its own, 300 MB of them for a 300 MB pack, dead as soon as the next ones
 * evicted them, and V8 reclaims them late (439 MiB of array buffers at the end of a compaction of
 * the 320,000-object benchmark repository). Sequential reads need no more than a few windows.
 */
export const COPY_BUFFER = 1024 * 1024;
export const COPY_WINDOW = 256 * 1024;

/**
 * The copier takes over a pack when the writer sends at least this share of its objects (a
 * compaction or a clone). Then a pack's ranged index, which has no pack-order table (the end of an
 * entry was found by inflating it: a new array buffer of the object's whole size for every object
 * copied), has its offset table read once instead (4 bytes an object, one pack at a time). A few
 * objects (an incremental fetch) are read as before, through the shared window cache, where a
 * recent push's objects may already be, and found their ends by inflating.
 */
const COPY_SHARE = 8;

/** Ends of entries in one pack: every entry offset, sorted (an entry ends where the next starts). */
class EntryEnds {
  constructor(
    private readonly sorted: Uint32Array | Float64Array,
    private readonly last: number,
  ) {}

  get bytes(): number {
    return this.sorted.byteLength;
  }

  endOf(offset: number): number | null {
    const s = this.sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0 || s[lo - 1] !== offset) return null;
    return lo < s.length ? s[lo]! : this.last;
  }

  /** Reads every offset of a ranged index, in batches straight from storage (not its page cache). */
  static async read(index: RangedPackIndex, packSize: number): Promise<EntryEnds> {
    const sorted = packSize <= 2 ** 32 ? new Uint32Array(index.count) : new Float64Array(index.count);
    for await (const { from, offsets } of index.nameBatches()) {
      const view = new DataView(offsets.buffer, offsets.byteOffset, offsets.length);
      for (let i = 0; i < offsets.length / 4; i++) {
        const o = view.getUint32(i * 4);
        sorted[from + i] = o & 0x80000000 ? await index.offsetAt(from + i) : o;
      }
    }
    sorted.sort();
    return new EntryEnds(sorted, packSize - 20);
  }
}

/**
 * Stored packs as the writer reads them: one at a time (it copies in stored order, pack by pack),
 * each it sends most of through `PackWindows` over one buffer. A view a read returns is valid
 * until the next read of any pack through this object, so callers consume (copy) it first.
 */
export class PackCopier {
  private current: { pack: Pack; reader: PackWindows | null; view: Pack; ends: EntryEnds | null } | null = null;
  /** Reads of storage made through the buffer (windows filled, large entries read on their own). */
  reads = 0;
  /** Most bytes held at once (buffer, spanning-entry buffer and offset table). */
  peakBytes = 0;
  /** Bytes of copy buffers made here (none when the caller hands one in). */
  madeBytes = 0;

  /** The windows' buffer, made (or handed in) once and filled again for each pack in turn. */
  private buffer: Uint8Array | null;
  private readonly bufferBytes: number;

  constructor(
    /** Objects the writer sends from each pack (by the pack's place in the store). */
    private readonly sending: (pack: Pack) => number,
    /** A buffer the caller no longer uses (a compaction's walk reader's), or the bytes of one to make. */
    buffer: Uint8Array | number = COPY_BUFFER,
    private readonly window = COPY_WINDOW,
  ) {
    this.bufferBytes = typeof buffer === "number" ? buffer : buffer.length;
    this.buffer = typeof buffer === "number" ? null : buffer;
  }

  /** `pack` read through this copier (the pack itself when its source cannot read into a buffer). */
  async view(pack: Pack): Promise<Pack> {
    return (await this.open(pack)).view;
  }

  /** Where the entry at `offset` of `pack` ends. */
  async entryEnd(pack: Pack, offset: number): Promise<number> {
    const at = await this.open(pack);
    return at.ends?.endOf(offset) ?? at.view.entryEnd(offset);
  }

  /** Copies bytes [start, end) of `pack` to `emit` a window at a time (each view valid during its call). */
  async copy(pack: Pack, start: number, end: number, emit: (chunk: Uint8Array) => Promise<void>): Promise<void> {
    const { view } = await this.open(pack);
    for (let pos = start; pos < end; ) {
      const to = Math.min(end, (Math.floor(pos / this.window) + 1) * this.window);
      await emit(await view.source.read(pos, to));
      pos = to;
    }
  }

  /** Lets the buffer and the table go. */
  dispose(): void {
    this.close();
    this.buffer = null;
  }

  private async open(pack: Pack): Promise<{ view: Pack; ends: EntryEnds | null }> {
    if (this.current?.pack === pack) return this.current;
    this.close();
    const inner = pack.source;
    let reader: PackWindows | null = null;
    let view = pack;
    const most = this.sending(pack) * COPY_SHARE >= pack.index.count;
    if (most && inner.readInto) {
      if (!this.buffer) {
        this.buffer = new Uint8Array(this.bufferBytes);
        this.madeBytes += this.bufferBytes;
      }
      const r = new PackWindows(inner, { buffer: this.buffer, window: this.window });
      reader = r;
      const source: RangeSource = { id: inner.id, size: inner.size, read: (s, e) => r.read(s, e) };
      view = new Pack(pack.name, pack.index, source);
    }
    const ends = most && pack.index instanceof RangedPackIndex ? await EntryEnds.read(pack.index, inner.size) : null;
    this.current = { pack, reader, view, ends };
    this.note();
    return this.current;
  }

  private note(): void {
    const held = (this.current?.reader?.bytes ?? 0) + (this.current?.ends?.bytes ?? 0);
    this.peakBytes = Math.max(this.peakBytes, held);
  }

  private close(): void {
    if (!this.current) return;
    this.note();
    if (this.current.reader) {
      this.reads += this.current.reader.reads;
      // The buffer stays for the next pack: one buffer a copy, not one a pack.
      this.current.reader.release();
    }
    this.current = null;
  }
}
