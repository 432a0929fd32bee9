// The commit-graph build's own reads of pack entries: through windows it keeps in one buffer per
// pack, filled in place, and read without an await when they hold the bytes asked for.
import type { Location, ObjectStore, Pack } from "./object-store";
import type { Oid } from "./oid";
import { type EntryHeader, parseEntryHeader } from "./pack-format";
import { GitError } from "./errors";
import { PackWindows } from "./pack-windows";
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

export class BuildPackReader {
  private readonly windows = new Map<Pack, PackWindows>();
  /** The windows the last miss was in. */
  private missed: PackWindows | null = null;
  /** A REF_DELTA base the last miss could not locate without an await. */
  private missedBase: Oid | null = null;
  private readonly bases = new Map<Oid, Location>();
  /** Where the entry `inflateNow` last inflated ends. */
  end = 0;

  /**
   * The budget is shared by the store's packs (one large pack after an import, or several small
   * ones): evenly, or with `bySize` in proportion to their sizes (a compaction's packs are one
   * large one and the small ones of the pushes since, which an even share would starve it for).
   */
  constructor(
    private readonly store: ObjectStore,
    private readonly budget = BUILD_WINDOW_BYTES,
    private readonly bySize = false,
    private readonly window = BUILD_WINDOW,
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

  /** Lets the windows go and hands their buffers back, largest first (the reader is not used again). */
  release(): Uint8Array[] {
    const buffers = [...this.windows.values()].map((w) => w.release());
    this.windows.clear();
    return buffers.sort((a, b) => b.length - a.length);
  }

  private of(pack: Pack): PackWindows {
    let w = this.windows.get(pack);
    if (!w) {
      const packs = this.store.packs;
      const bytes = this.bySize
        ? Math.floor(
            (this.budget * pack.source.size) /
              Math.max(
                1,
                packs.reduce((n, p) => n + p.source.size, 0),
              ),
          )
        : Math.floor(this.budget / Math.max(1, packs.length));
      // An entry over more than half the windows is read on its own: the rest stay for the tree levels.
      w = new PackWindows(pack.source, { bytes, window: this.window, spanWindows: (slots) => Math.floor(slots / 2) });
      this.windows.set(pack, w);
    }
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
