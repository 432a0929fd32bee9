// Pack index version 2 read by ranges: only the header and fan-out table stay per pack; names,
// offsets and CRCs come in 4 KiB pages through one byte-bounded cache shared by the isolate.
import { corruptPack } from "./errors";
import { hexToBytes, oidAt, type Oid } from "./oid";
import type { RangeSource } from "./range-source";
import { ByteLru, heldBytes } from "../utils/lru";
import { concatBytes } from "../utils/bytes";
import { inflightReads } from "../utils/request-scope";

const MAGIC = [0xff, 0x74, 0x4f, 0x63];
const SHA_START = 8 + 256 * 4;
const PAGE = 4096;
/** Pages read together on a miss (256 KiB, aligned). */
const UNIT_PAGES = 64;
/**
 * A run of names up to this size is read whole in one request: a storage request costs far more
 * than its bytes, and an average fan-out bucket of an 850,000-object pack (3,300 names) fits.
 */
const ONE_READ = 64 * 1024;
/** Entries per request when a whole index is streamed. */
const STREAM_BATCH = 8192;
/** Entries per request when the offset table is scanned (1 MiB). */
const SCAN_BATCH = 256 * 1024;

/**
 * Bytes of index pages kept. Ids hash evenly, so a walk over a repository's history looks up all
 * over the index: below the size of its names and offsets (24 bytes an object: 7.7 MB for the
 * 320,000-object benchmark repository) nearly every lookup is a storage request again.
 */
export const RANGED_PAGE_BUDGET = 10 * 1024 * 1024;
const newPageCache = (bytes: number) => new ByteLru<string, Uint8Array>(bytes, (p) => heldBytes(p) + 64);
/** Index pages of every pack, shared by the isolate's requests (indexes are immutable). */
let pages = newPageCache(RANGED_PAGE_BUDGET);
/** Pages a miss reads: a unit, or less when the cache is small (a sixteenth of it), so that one read never flushes it. */
let unitPages = UNIT_PAGES;

/**
 * For tests: an empty page cache of `bytes` (returns the previous budget), so that an index larger
 * than the cache, as a large repository's is in production, fits in a test.
 */
export function setRangedPageBudget(bytes: number): number {
  const before = pages.maxBytes;
  pages = newPageCache(bytes);
  unitPages = Math.max(1, Math.min(UNIT_PAGES, Math.floor(bytes / PAGE / 16)));
  return before;
}

/** Bytes the shared page cache holds now (for tests and benchmarks). */
export const rangedPageBytes = (): number => pages.bytes;

function compareAt(names: Uint8Array, at: number, key: Uint8Array): number {
  for (let k = 0; k < 20; k++) {
    const d = names[at + k]! - key[k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Compares the name at byte `at` of consecutive pages `parts` with key (a name may span two pages). */
function comparePaged(parts: Uint8Array[], at: number, key: Uint8Array): number {
  const page = parts[Math.floor(at / PAGE)]!;
  const i = at % PAGE;
  if (i + 20 <= page.length) return compareAt(page, i, key);
  for (let k = 0; k < 20; k++) {
    const d = parts[Math.floor((at + k) / PAGE)]![(at + k) % PAGE]! - key[k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** First position in names (20 bytes each, `n` of them) whose name is >= key, or n. */
function lowerBoundIn(names: Uint8Array, n: number, key: Uint8Array): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareAt(names, mid * 20, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class RangedPackIndex {
  readonly count: number;
  private readonly crcStart: number;
  private readonly offStart: number;
  private readonly bigStart: number;
  /** Storage requests this index has made (each is one ranged read of the source). */
  reads = 0;

  private constructor(
    private readonly source: RangeSource,
    private readonly fanout: Uint32Array,
  ) {
    this.count = fanout[255]!;
    this.crcStart = SHA_START + this.count * 20;
    this.offStart = this.crcStart + this.count * 4;
    this.bigStart = this.offStart + this.count * 4;
  }

  /**
   * Reads the header and fan-out table (one request, or none when the caller read them already)
   * and checks the size they imply.
   */
  static async open(source: RangeSource, head?: Uint8Array): Promise<RangedPackIndex> {
    head ??= await source.read(0, SHA_START);
    if (head.length < SHA_START || !MAGIC.every((m, i) => head[i] === m)) throw corruptPack("not a version 2 pack index");
    const view = new DataView(head.buffer, head.byteOffset, head.length);
    if (view.getUint32(4) !== 2) throw corruptPack("unsupported pack index version");
    const fanout = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      fanout[i] = view.getUint32(8 + i * 4);
      if (i > 0 && fanout[i]! < fanout[i - 1]!) throw corruptPack("pack index fan-out table is not sorted");
    }
    const n = fanout[255]!;
    // Without big offsets the index is exactly this long; each big offset adds 8 bytes.
    const least = SHA_START + n * 28 + 40;
    if (source.size < least || source.size > least + n * 8) throw corruptPack("truncated pack index");
    const index = new RangedPackIndex(source, fanout);
    index.reads = 1;
    return index;
  }

  /** Memory this object holds itself (its pages are accounted in the shared cache). */
  get byteSize(): number {
    return this.fanout.byteLength + 256;
  }

  async packChecksum(): Promise<Oid> {
    return oidAt(await this.bytes(this.source.size - 40, this.source.size - 20), 0);
  }

  async oidAt(i: number): Promise<Oid> {
    return oidAt(await this.bytes(SHA_START + i * 20, SHA_START + i * 20 + 20), 0);
  }

  async crcAt(i: number): Promise<number> {
    const b = await this.bytes(this.crcStart + i * 4, this.crcStart + i * 4 + 4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }

  async offsetAt(i: number): Promise<number> {
    const b = await this.bytes(this.offStart + i * 4, this.offStart + i * 4 + 4);
    const o = new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
    if (!(o & 0x80000000)) return o;
    const at = this.bigStart + (o & 0x7fffffff) * 8;
    if (at + 8 > this.source.size - 40) throw corruptPack("pack index big offset out of range");
    const big = await this.bytes(at, at + 8);
    const v = new DataView(big.buffer, big.byteOffset, 8);
    return v.getUint32(0) * 2 ** 32 + v.getUint32(4);
  }

  /** Position of `oid` in the index, or -1. */
  async find(oid: Oid | Uint8Array): Promise<number> {
    const key = typeof oid === "string" ? hexToBytes(oid) : oid;
    const at = await this.lowerBound(key);
    if (at >= this.fanout[key[0]!]!) return -1;
    const name = await this.bytes(SHA_START + at * 20, SHA_START + at * 20 + 20);
    return compareAt(name, 0, key) === 0 ? at : -1;
  }

  /**
   * Where `oid` is stored (its position and pack offset), or null. When the id's fan-out bucket is
   * read whole, its slice of the offset table is read beside it, so a cold lookup costs one round
   * trip of two requests rather than two round trips.
   */
  async lookup(oid: Oid | Uint8Array): Promise<{ position: number; offset: number } | null> {
    const key = typeof oid === "string" ? hexToBytes(oid) : oid;
    const lo = key[0] === 0 ? 0 : this.fanout[key[0]! - 1]!;
    const hi = this.fanout[key[0]!]!;
    if (hi > lo && (hi - lo) * 20 <= ONE_READ) {
      this.pagesOf(this.offStart + lo * 4, this.offStart + hi * 4).catch(() => undefined);
    }
    const position = await this.find(key);
    return position < 0 ? null : { position, offset: await this.offsetAt(position) };
  }

  /** Up to `max` ids starting with `prefix` (lowercase hex, at least 2 digits), in index order. */
  async findByPrefix(prefix: string, max: number): Promise<Oid[]> {
    const key = hexToBytes(prefix.padEnd(40, "0"));
    const end = this.fanout[key[0]!]!;
    const found: Oid[] = [];
    for (let i = await this.lowerBound(key); i < end && found.length < max; i++) {
      const oid = await this.oidAt(i);
      if (!oid.startsWith(prefix)) break;
      found.push(oid);
    }
    return found;
  }

  /**
   * Every entry in index (id) order, read in batches straight from the source so that a walk over
   * a whole index neither holds it nor flushes the page cache that lookups share.
   */
  async *entries(): AsyncGenerator<{ oid: Oid; offset: number; crc: number }> {
    for (let from = 0; from < this.count; from += STREAM_BATCH) {
      const to = Math.min(this.count, from + STREAM_BATCH);
      this.reads += 3;
      const [names, crcs, offs] = await Promise.all([
        this.source.read(SHA_START + from * 20, SHA_START + to * 20),
        this.source.read(this.crcStart + from * 4, this.crcStart + to * 4),
        this.source.read(this.offStart + from * 4, this.offStart + to * 4),
      ]);
      const cv = new DataView(crcs.buffer, crcs.byteOffset, crcs.length);
      const ov = new DataView(offs.buffer, offs.byteOffset, offs.length);
      for (let i = 0; i < to - from; i++) {
        const o = ov.getUint32(i * 4);
        const offset = o & 0x80000000 ? await this.offsetAt(from + i) : o;
        yield { oid: oidAt(names, i * 20), offset, crc: cv.getUint32(i * 4) };
      }
    }
  }

  /**
   * Names and 4-byte offset entries (big offsets still marked, not resolved) in id order, `batch`
   * at a time, read straight from the source in two large reads a batch: a whole pass over the
   * index that neither holds it nor goes through (and flushes) the page cache.
   */
  async *nameBatches(batch = 65_536): AsyncGenerator<{ from: number; names: Uint8Array; offsets: Uint8Array }> {
    for (let from = 0; from < this.count; from += batch) {
      const to = Math.min(this.count, from + batch);
      this.reads += 2;
      const [names, offsets] = await Promise.all([
        this.source.read(SHA_START + from * 20, SHA_START + to * 20),
        this.source.read(this.offStart + from * 4, this.offStart + to * 4),
      ]);
      if (names.length < (to - from) * 20 || offsets.length < (to - from) * 4) throw corruptPack("truncated pack index");
      yield { from, names, offsets };
    }
  }

  /**
   * The smallest entry offset after `offset` (or `packSize - 20`): a scan of the offset table in
   * batches straight from the source, for the rare entry whose end inflating would not find cheaply.
   */
  async nextOffset(offset: number, packSize: number): Promise<number> {
    let next = packSize - 20;
    for (let from = 0; from < this.count; from += SCAN_BATCH) {
      const to = Math.min(this.count, from + SCAN_BATCH);
      this.reads++;
      const offs = await this.source.read(this.offStart + from * 4, this.offStart + to * 4);
      const ov = new DataView(offs.buffer, offs.byteOffset, offs.length);
      for (let i = 0; i < to - from; i++) {
        const o = ov.getUint32(i * 4);
        const at = o & 0x80000000 ? await this.offsetAt(from + i) : o;
        if (at > offset && at < next) next = at;
      }
    }
    return next;
  }

  /** First position whose name is >= key, searched within the key's fan-out bucket only. */
  private async lowerBound(key: Uint8Array): Promise<number> {
    let lo = key[0] === 0 ? 0 : this.fanout[key[0]! - 1]!;
    let hi = this.fanout[key[0]!]!;
    while (lo < hi) {
      if ((hi - lo) * 20 <= ONE_READ) {
        // Searched in place across the bucket's pages: joining them into one array would copy
        // the whole bucket on every lookup, the main cost of a walk over a large repository.
        const from = SHA_START + lo * 20;
        const parts = await this.pagesOf(from, SHA_START + hi * 20);
        const base = Math.floor(from / PAGE) * PAGE;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (comparePaged(parts, SHA_START + mid * 20 - base, key) < 0) lo = mid + 1;
          else hi = mid;
        }
        return lo;
      }
      // Too many names for one read: the page holding the middle one narrows the range to
      // itself or to one side of it, as a binary search step that costs one page.
      const mid = (lo + hi) >>> 1;
      const pageStart = Math.floor((SHA_START + mid * 20) / PAGE) * PAGE;
      const first = Math.max(lo, Math.ceil((pageStart - SHA_START) / 20));
      const last = Math.min(hi, Math.floor((pageStart + PAGE - SHA_START) / 20));
      const names = await this.bytes(SHA_START + first * 20, SHA_START + last * 20);
      if (compareAt(names, 0, key) >= 0) hi = first;
      else if (compareAt(names, (last - first - 1) * 20, key) < 0) lo = last;
      else return first + lowerBoundIn(names, last - first, key);
    }
    return lo;
  }

  private pageKey(page: number): string {
    return `${this.source.id}#${page}`;
  }

  /** Bytes [start, end) of the index through the page cache, as one array. */
  private async bytes(start: number, end: number): Promise<Uint8Array> {
    const first = Math.floor(start / PAGE);
    const parts = await this.pagesOf(start, end);
    const joined = parts.length === 1 ? parts[0]! : concatBytes(parts);
    return joined.subarray(start - first * PAGE, end - first * PAGE);
  }

  /**
   * The pages holding bytes [start, end) through the page cache (adjacent missing pages are one
   * read); checks that they hold all of it.
   */
  private async pagesOf(start: number, end: number): Promise<Uint8Array[]> {
    const first = Math.floor(start / PAGE);
    const last = Math.floor((end - 1) / PAGE);
    const inflight = inflightReads<Uint8Array>();
    const ready = (p: number) => pages.get(this.pageKey(p)) ?? inflight.get(this.pageKey(p));
    let missing = false;
    for (let p = first; p <= last && !missing; p++) missing = !ready(p);
    if (missing) {
      // A miss reads the whole aligned unit around it: a walk looks ids up all over the index,
      // and warming it by 256 KiB reads costs a fraction of the requests of one bucket at a time
      // (bench:index-lookups, 320k objects: 31 requests for the first 100 lookups instead of 200).
      const lastPage = Math.floor((this.source.size - 1) / PAGE);
      const from = Math.floor(first / unitPages) * unitPages;
      const to = Math.min(lastPage, Math.floor(last / unitPages) * unitPages + unitPages - 1);
      let run = -1;
      for (let p = from; p <= to + 1; p++) {
        if (p <= to && !ready(p)) {
          if (run < 0) run = p;
        } else if (run >= 0) {
          this.fetchPages(run, p);
          run = -1;
        }
      }
    }
    const got: (Uint8Array | Promise<Uint8Array>)[] = [];
    for (let p = first; p <= last; p++) got.push(ready(p) ?? Promise.reject(corruptPack("truncated pack index")));
    const parts = await Promise.all(got);
    if ((last - first) * PAGE + parts[parts.length - 1]!.length < end - first * PAGE) throw corruptPack("truncated pack index");
    return parts;
  }

  private fetchPages(from: number, to: number): Promise<Uint8Array>[] {
    const inflight = inflightReads<Uint8Array>();
    this.reads++;
    const read = this.source.read(from * PAGE, to * PAGE);
    const out: Promise<Uint8Array>[] = [];
    for (let p = from; p < to; p++) {
      const key = this.pageKey(p);
      // Each page is copied out of the read, so that a cached page never keeps the whole read alive.
      const page = read.then((b) => b.slice((p - from) * PAGE, (p - from + 1) * PAGE));
      page.then(
        (bytes) => pages.set(key, bytes),
        () => undefined,
      );
      page.finally(() => inflight.delete(key)).catch(() => undefined);
      inflight.set(key, page);
      out.push(page);
    }
    return out;
  }
}
