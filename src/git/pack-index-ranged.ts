// Pack index version 2 read by ranges: only the header and fan-out table stay per pack; names, offsets
// and CRCs come in aligned 32 KiB units, each the one buffer its read returned, in the isolate's cache.
import { corruptPack } from "./errors";
import { hexToBytes, oidAt, type Oid } from "./oid";
import type { RangeSource } from "./range-source";
import { lowerBoundIn, SHA_START, type Units } from "./pack-index-units";
import { unitSize, unitsNow, unitsOf } from "./pack-index-unit-cache";
import { offsetRange, prefixRange } from "./pack-id-table-file";

const MAGIC = [0xff, 0x74, 0x4f, 0x63];
/**
 * A fan-out bucket whose names lie in at most this many units is read whole, beside its slice of
 * the offset table: one round trip a cold lookup. A larger bucket is narrowed a unit at a time
 * (after the window around the estimate, which almost always holds the id).
 */
const BUCKET_UNITS = 2;
/**
 * Names read each side of a lookup's estimated place in its bucket: ids hash evenly, so the place
 * is off by about half the square root of the bucket's size (a standard deviation) or less; 64
 * plus four times that rarely misses (then the side the id is on is searched). A bucket of a
 * 900,000-object pack (3,500 names): 182 each side, 7 KiB of names and 1.5 KiB of offsets.
 */
const windowMargin = (n: number) => 64 + 2 * Math.ceil(Math.sqrt(n));
/** Entries per request when a whole index is streamed. */
const STREAM_BATCH = 8192;
/** Entries per request when the offset table is scanned (1 MiB). */
const SCAN_BATCH = 256 * 1024;

/**
 * A pack's id table file (git/pack-id-table-file.ts), which packs indexed since session 13 have
 * beside their .idx: where to read it, and whether it is there (asked once per opened index).
 */
export interface IdTableFile {
  readonly source: RangeSource;
  present(): Promise<boolean>;
}

/** Entries of an id batch read from the .idx (1.5 MiB of names and offsets) or from a table file (the same bytes). */
const IDX_ID_BATCH = 65_536;
const FILE_ID_BATCH = 131_072;

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
    private readonly idTable?: IdTableFile,
    /** Whether the table file is there, shared by the copies `through` makes. */
    private readonly tableState: { present?: Promise<boolean> } = {},
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

  /**
   * The same index read through `source` (the same blob reached another way, e.g. through the
   * binding of the request at hand, so that its reads are that request's and are metered on it).
   * Shares the fan-out table and the unit cache; counts its own reads.
   */
  through(source: RangeSource, idTable?: IdTableFile): RangedPackIndex {
    if (source.id !== this.source.id || source.size !== this.source.size) throw new Error("not the same pack index");
    return new RangedPackIndex(source, this.fanout, idTable ?? this.idTable, this.tableState);
  }

  /** The same index, its id table read from `idTable` when that is there (else from the .idx). */
  withIdTable(idTable: IdTableFile): RangedPackIndex {
    const index = new RangedPackIndex(this.source, this.fanout, idTable, this.tableState);
    index.reads = this.reads;
    return index;
  }

  /** Identifies the index file in shared caches (its R2 key). */
  get id(): string {
    return this.source.id;
  }

  /** The size of the index file in bytes. */
  get size(): number {
    return this.source.size;
  }

  /** Memory this object holds itself (its units are accounted in the shared cache). */
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
    const at = this.crcStart + i * 4;
    return (await this.unitsOf(at, at + 4)).uint32(at);
  }

  async offsetAt(i: number): Promise<number> {
    const at = this.offStart + i * 4;
    return this.offsetIn(this.unitsNow(at, at + 4) ?? (await this.unitsOf(at, at + 4)), i);
  }

  /** The offset of entry `i` from units holding its slot of the offset table. */
  private async offsetIn(held: Units, i: number): Promise<number> {
    const o = held.uint32(this.offStart + i * 4);
    if (!(o & 0x80000000)) return o;
    const at = this.bigStart + (o & 0x7fffffff) * 8;
    if (at + 8 > this.source.size - 40) throw corruptPack("pack index big offset out of range");
    const big = await this.unitsOf(at, at + 8);
    return big.uint32(at) * 2 ** 32 + big.uint32(at + 4);
  }

  /** Position of `oid` in the index, or -1. */
  async find(oid: Oid | Uint8Array): Promise<number> {
    return (await this.search(typeof oid === "string" ? hexToBytes(oid) : oid, false)).position;
  }

  /**
   * Where `oid` is stored (its position and pack offset), or null. The id's fan-out bucket is
   * read beside its slice of the offset table, so a cold lookup costs one round trip.
   */
  async lookup(oid: Oid | Uint8Array): Promise<{ position: number; offset: number } | null> {
    const found = await this.search(typeof oid === "string" ? hexToBytes(oid) : oid, true);
    if (found.position < 0) return null;
    return { position: found.position, offset: await this.offsetIn(found.offsets!, found.position) };
  }

  /** Up to `max` ids starting with `prefix` (lowercase hex, at least 2 digits), in index order. */
  async findByPrefix(prefix: string, max: number): Promise<Oid[]> {
    const key = hexToBytes(prefix.padEnd(40, "0"));
    const end = this.fanout[key[0]!]!;
    const found: Oid[] = [];
    for (let i = (await this.search(key, false)).lowerBound; i < end && found.length < max; i++) {
      const oid = await this.oidAt(i);
      if (!oid.startsWith(prefix)) break;
      found.push(oid);
    }
    return found;
  }

  /**
   * Every entry in index (id) order, read in batches straight from the source so that a walk over
   * a whole index neither holds it nor flushes the unit cache that lookups share.
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
  async *nameBatches(batch = 65_536, start = 0): AsyncGenerator<{ from: number; names: Uint8Array; offsets: Uint8Array }> {
    for (let from = start; from < this.count; from += batch) yield await this.nameBatch(from, Math.min(this.count, from + batch));
  }

  /** One batch of `nameBatches`: entries [from, to). */
  async nameBatch(from: number, to: number): Promise<{ from: number; names: Uint8Array; offsets: Uint8Array }> {
    this.reads += 2;
    const [names, offsets] = await Promise.all([
      this.source.read(SHA_START + from * 20, SHA_START + to * 20),
      this.source.read(this.offStart + from * 4, this.offStart + to * 4),
    ]);
    if (names.length < (to - from) * 20 || offsets.length < (to - from) * 4) throw corruptPack("truncated pack index");
    return { from, names, offsets };
  }

  /** Whether the pack's id table file is there to read (`idBatch`). */
  hasIdTable(): Promise<boolean> {
    if (!this.idTable) return Promise.resolve(false);
    // A failed look is taken as "not there": the .idx answers the same, at twice the bytes.
    this.tableState.present ??= this.idTable.present().catch(() => false);
    return this.tableState.present;
  }

  /** Entries an `idBatch` takes: 1.5 MiB of reads either way. */
  async idBatchSize(): Promise<number> {
    return (await this.hasIdTable()) ? FILE_ID_BATCH : IDX_ID_BATCH;
  }

  /**
   * The first 8 bytes of each id (at `stride` apart) and the 4-byte offsets (big ones marked) of
   * entries [from, to), in two reads: of the id table file when the pack has one (12 bytes an
   * object), else of the .idx's names and offsets (24).
   */
  async idBatch(from: number, to: number): Promise<{ from: number; prefixes: Uint8Array; stride: number; offsets: Uint8Array }> {
    if (!this.idTable || !(await this.hasIdTable())) {
      const { names, offsets } = await this.nameBatch(from, to);
      return { from, prefixes: names, stride: 20, offsets };
    }
    this.reads += 2;
    const [prefixes, offsets] = await Promise.all([
      this.idTable.source.read(...prefixRange(from, to)),
      this.idTable.source.read(...offsetRange(this.count, from, to)),
    ]);
    if (prefixes.length < (to - from) * 8 || offsets.length < (to - from) * 4) throw corruptPack("truncated pack id table");
    return { from, prefixes, stride: 8, offsets };
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

  /**
   * The first position whose name is >= key, searched within the key's fan-out bucket only, and
   * `position` when that name is the key (else -1). With `offsets`, the units holding the
   * bucket's slice of the offset table are read beside its names and returned.
   */
  private async search(key: Uint8Array, offsets: boolean): Promise<{ lowerBound: number; position: number; offsets?: Units }> {
    let lo = key[0] === 0 ? 0 : this.fanout[key[0]! - 1]!;
    let hi = this.fanout[key[0]!]!;
    const size = unitSize();
    const unitOf = (at: number) => Math.floor(at / size);
    const margin = windowMargin(hi - lo);
    if (hi - lo > 2 * margin) {
      // Ids are uniformly distributed: the key's place in its bucket is about the fraction its
      // next bytes make, within a few square roots of the bucket's size. The names around it and
      // their offsets are read together (one round trip, a few KiB), and almost always hold it.
      const fraction = ((key[1]! << 16) | (key[2]! << 8) | key[3]!) / 2 ** 24;
      const guess = lo + Math.floor(fraction * (hi - lo));
      const from = Math.max(lo, guess - margin);
      const to = Math.min(hi, guess + margin);
      const [names, offs] = await Promise.all([
        this.unitsNow(SHA_START + from * 20, SHA_START + to * 20) ?? this.unitsOf(SHA_START + from * 20, SHA_START + to * 20),
        offsets
          ? (this.unitsNow(this.offStart + from * 4, this.offStart + to * 4) ??
            this.unitsOf(this.offStart + from * 4, this.offStart + to * 4))
          : null,
      ]);
      const above = from === lo || names.compare(SHA_START + from * 20, key) < 0;
      const below = to === hi || names.compare(SHA_START + (to - 1) * 20, key) >= 0;
      if (above && below) {
        const at = lowerBoundIn(names, from, to, key);
        const position = at < to && names.compare(SHA_START + at * 20, key) === 0 ? at : -1;
        return { lowerBound: at, position, offsets: offs ?? undefined };
      }
      // Rarely, outside the window: search the side it is on as below.
      if (above) lo = to;
      else hi = from;
    }
    // Too many units for one read: the unit holding the middle name narrows the range to itself
    // or to one side of it, as a binary search step that costs one unit.
    while (lo < hi && unitOf(SHA_START + hi * 20 - 1) - unitOf(SHA_START + lo * 20) + 1 > BUCKET_UNITS) {
      const u = unitOf(SHA_START + ((lo + hi) >>> 1) * 20);
      // The names wholly within unit u.
      const first = Math.max(lo, Math.ceil((u * size - SHA_START) / 20));
      const last = Math.min(hi, Math.floor(((u + 1) * size - SHA_START) / 20));
      const names = await this.unitsOf(u * size, (u + 1) * size);
      if (names.compare(SHA_START + first * 20, key) >= 0) hi = first;
      else if (names.compare(SHA_START + (last - 1) * 20, key) < 0) lo = last;
      else {
        lo = first;
        hi = last;
        break;
      }
    }
    const from = SHA_START + lo * 20;
    const to = SHA_START + hi * 20;
    const offFrom = this.offStart + lo * 4;
    const offTo = this.offStart + hi * 4;
    let names = lo < hi ? this.unitsNow(from, to) : null;
    let offs = offsets && lo < hi ? this.unitsNow(offFrom, offTo) : null;
    if (lo < hi && (!names || (offsets && !offs))) {
      // One round trip: the names and the offsets are requested together.
      const [n, o] = await Promise.all([
        names ?? this.unitsOf(from, to),
        offsets ? (offs ?? this.unitsOf(offFrom, offTo)) : null,
      ]);
      names = n;
      offs = o;
    }
    if (!names) return { lowerBound: lo, position: -1 };
    const at = lowerBoundIn(names, lo, hi, key);
    const position = at < hi && names.compare(SHA_START + at * 20, key) === 0 ? at : -1;
    return { lowerBound: at, position, offsets: offs ?? undefined };
  }

  /** Bytes [start, end) of the index as one array (a view into a cached unit when they lie in one). */
  private async bytes(start: number, end: number): Promise<Uint8Array> {
    return (this.unitsNow(start, end) ?? (await this.unitsOf(start, end))).slice(start, end);
  }

  private unitsNow(start: number, end: number): Units | null {
    return unitsNow(this.source, start, end);
  }

  private unitsOf(start: number, end: number): Promise<Units> {
    return unitsOf(this.source, start, end, () => this.reads++);
  }
}
