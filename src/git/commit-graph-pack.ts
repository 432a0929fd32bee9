// The commit-graph build's own reads of pack entries: through windows it keeps in one buffer per
// pack, filled in place (git/pack-windows.ts), not the isolate's shared window cache.
import type { Pack } from "./object-store";
import { type EntryHeader, parseEntryHeader } from "./pack-format";
import { GitError } from "./errors";
import { PASS_WINDOW, WindowReader } from "./pack-windows";
import { InflateError, inflateAt, type InflateScratch } from "./zlib";

/**
 * The windows of all packs the build reads. Through the shared cache (24 MiB of windows, each an
 * array buffer of its own) a build filled it in a fresh isolate and every eviction left a dead
 * 64 KiB buffer behind: at git/git's size, 24 MiB held and tens of MiB of garbage at the push
 * isolate's peak. 12 MiB holds the windows a batch of commits' tree levels come back to.
 */
export const BUILD_WINDOW_BYTES = 12 * 1024 * 1024;

/** Longest header of a pack entry (type/size varint, plus a 20-byte REF_DELTA base). */
const MAX_ENTRY_HEADER = 32;

/** zlib's bound of the deflated size of `n` bytes, as `Pack.rawEntry` reads up to. */
const deflateBound = (n: number) => n + Math.floor(n / 4096) + Math.floor(n / 16384) + Math.floor(n / 2 ** 25) + 19 + 64;

export class BuildPackReader {
  private readonly readers = new Map<Pack, WindowReader>();

  /** `packs`: how many packs share the budget (a store has one large pack after an import, or several small ones). */
  constructor(
    private readonly packs = 1,
    private readonly budget = BUILD_WINDOW_BYTES,
  ) {}

  /** Bytes the reader holds in buffers (its windows), for tests. */
  get heldBytes(): number {
    let n = 0;
    for (const r of this.readers.values()) n += r.bytes;
    return n;
  }

  /** Storage reads made (windows filled, long entries read on their own), for tests and benchmarks. */
  get reads(): number {
    let n = 0;
    for (const r of this.readers.values()) n += r.reads;
    return n;
  }

  private windows(pack: Pack): WindowReader {
    let r = this.readers.get(pack);
    if (!r) {
      const share = Math.floor(this.budget / Math.max(1, this.packs) / PASS_WINDOW) * PASS_WINDOW;
      r = new WindowReader(pack.source, new Uint8Array(Math.max(2 * PASS_WINDOW, Math.min(share, roundUp(pack.source.size)))));
      this.readers.set(pack, r);
    }
    return r;
  }

  /** The header of the entry at `offset`. */
  async header(pack: Pack, offset: number): Promise<EntryHeader> {
    const end = Math.min(pack.source.size - 20, offset + MAX_ENTRY_HEADER);
    const header = parseEntryHeader(await this.windows(pack).read(offset, end), 0, offset);
    if (!header) throw new GitError("corrupt_pack", `truncated entry at offset ${offset} of ${pack.name}`);
    return header;
  }

  /**
   * The entry's inflated bytes (a delta's data for a delta), into `out`'s buffer, and where the
   * entry ends. Read up to zlib's bound of its size, as `Pack.inflateEntry` reads.
   */
  async inflate(
    pack: Pack,
    offset: number,
    header: EntryHeader,
    out?: InflateScratch,
  ): Promise<{ data: Uint8Array; end: number }> {
    const limit = pack.source.size - 20;
    for (let extra = 1; ; extra *= 2) {
      const end = Math.min(limit, offset + header.headerLength + deflateBound(header.size) * extra);
      const bytes = await this.windows(pack).read(offset, end);
      try {
        const { data, consumed } = inflateAt(bytes, header.headerLength, header.size, out);
        return { data, end: offset + header.headerLength + consumed };
      } catch (err) {
        // Only a deflater worse than zlib's overruns the bound: then read further, doubling.
        if (!(end < limit && err instanceof InflateError && err.truncated)) throw err;
      }
    }
  }
}

/** At least two windows (what a WindowReader needs), at most the pack rounded up to windows. */
function roundUp(size: number): number {
  return Math.max(2, Math.ceil(size / PASS_WINDOW)) * PASS_WINDOW;
}
