// Pack index version 2 (gitformat-pack): fan-out table, sorted ids, CRCs and offsets.
import { corruptPack } from "./errors";
import { hexInto, oidAt, sha1, type Oid } from "./oid";
import { runAtOnce, runPaced, type Pacer, type Sliced } from "../utils/pace";

/** The key of a lookup by hex id (lookups are synchronous: one buffer serves them all). */
const scratch = new Uint8Array(20);

const MAGIC = [0xff, 0x74, 0x4f, 0x63];

export class PackIndex {
  readonly count: number;
  private readonly view: DataView;
  private readonly shaStart = 8 + 256 * 4;
  private readonly crcStart: number;
  private readonly offStart: number;
  private readonly bigStart: number;
  /** Offsets sorted ascending, and the index position of each: pack order. */
  private sorted: Float64Array | null = null;
  private sortedPositions: Uint32Array | null = null;

  constructor(readonly bytes: Uint8Array) {
    if (bytes.length < 8 + 1024 + 40 || !MAGIC.every((m, i) => bytes[i] === m)) {
      throw corruptPack("not a version 2 pack index");
    }
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    if (this.view.getUint32(4) !== 2) throw corruptPack("unsupported pack index version");
    this.count = this.view.getUint32(8 + 255 * 4);
    this.crcStart = this.shaStart + this.count * 20;
    this.offStart = this.crcStart + this.count * 4;
    this.bigStart = this.offStart + this.count * 4;
    if (this.bigStart + 40 > bytes.length) throw corruptPack("truncated pack index");
  }

  /** Approximate memory held, for cache accounting. */
  get byteSize(): number {
    return this.bytes.length + (this.sorted ? this.sorted.byteLength + this.count * 4 : 0);
  }

  get packChecksum(): Oid {
    return oidAt(this.bytes, this.bytes.length - 40);
  }

  oidAt(i: number): Oid {
    return oidAt(this.bytes, this.shaStart + i * 20);
  }

  /** The id at position i as bytes: a view into the index, no copy. */
  oidBytesAt(i: number): Uint8Array {
    return this.bytes.subarray(this.shaStart + i * 20, this.shaStart + i * 20 + 20);
  }

  crcAt(i: number): number {
    return this.view.getUint32(this.crcStart + i * 4);
  }

  offsetAt(i: number): number {
    const o = this.view.getUint32(this.offStart + i * 4);
    if (!(o & 0x80000000)) return o;
    const big = this.bigStart + (o & 0x7fffffff) * 8;
    return this.view.getUint32(big) * 2 ** 32 + this.view.getUint32(big + 4);
  }

  /** Position of `oid` in the index, or -1. */
  find(oid: Oid | Uint8Array): number {
    const key = typeof oid === "string" ? hexInto(oid, scratch) : oid;
    const b = this.bytes;
    let lo = key[0] === 0 ? 0 : this.view.getUint32(8 + (key[0]! - 1) * 4);
    let hi = this.view.getUint32(8 + key[0]! * 4);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.shaStart + mid * 20;
      let cmp = 0;
      for (let k = 0; k < 20; k++) {
        cmp = b[at + k]! - key[k]!;
        if (cmp !== 0) break;
      }
      if (cmp === 0) return mid;
      if (cmp < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  /** Where `oid` is stored: its position and pack offset, or null (synchronous work). */
  async lookup(oid: Oid | Uint8Array): Promise<{ position: number; offset: number } | null> {
    const position = this.find(oid);
    return position < 0 ? null : { position, offset: this.offsetAt(position) };
  }

  /** Up to `max` ids starting with `prefix` (lowercase hex), in index order. */
  async findByPrefix(prefix: string, max: number): Promise<Oid[]> {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.oidAt(mid) < prefix) lo = mid + 1;
      else hi = mid;
    }
    const found: Oid[] = [];
    for (let i = lo; i < this.count && found.length < max; i++) {
      const oid = this.oidAt(i);
      if (!oid.startsWith(prefix)) break;
      found.push(oid);
    }
    return found;
  }

  private packOrder(): { offsets: Float64Array; positions: Uint32Array } {
    if (!this.sorted || !this.sortedPositions) {
      const positions = new Uint32Array(this.count);
      const offsets = new Float64Array(this.count);
      let largest = 0;
      for (let i = 0; i < this.count; i++) {
        positions[i] = i;
        offsets[i] = this.offsetAt(i);
        if (offsets[i]! > largest) largest = offsets[i]!;
      }
      // Offset and position in one exact double, sorted natively: several times faster than a
      // comparator, and this sort of every entry is one synchronous slice (27 ms of an import's
      // longest, bench:scale --profile). Packs too large for that take the comparator.
      const span = 2 ** Math.ceil(Math.log2(this.count + 1));
      if ((largest + 1) * span <= Number.MAX_SAFE_INTEGER) {
        const keys = new Float64Array(this.count);
        for (let i = 0; i < this.count; i++) keys[i] = offsets[i]! * span + i;
        keys.sort();
        for (let r = 0; r < this.count; r++) positions[r] = keys[r]! % span;
      } else positions.sort((a, b) => offsets[a]! - offsets[b]!);
      const sorted = new Float64Array(this.count);
      for (let i = 0; i < this.count; i++) sorted[i] = offsets[positions[i]!]!;
      this.sorted = sorted;
      this.sortedPositions = positions;
    }
    return { offsets: this.sorted, positions: this.sortedPositions };
  }

  /** Rank in pack order of the first entry at or after `offset`. */
  private rankOf(offset: number): number {
    const s = this.packOrder().offsets;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The offset of the entry that follows the one at `offset` (or `packSize - 20`). */
  nextOffset(offset: number, packSize: number): number {
    const { offsets } = this.packOrder();
    const rank = this.rankOf(offset + 1);
    return rank < offsets.length ? offsets[rank]! : packSize - 20;
  }

  /** Every entry in pack order: an object each, for small packs (tests, tools), not for pushes. */
  entries(): { oid: Oid; offset: number }[] {
    const { offsets, positions } = this.packOrder();
    return Array.from(positions, (p, rank) => ({ oid: this.oidAt(p), offset: offsets[rank]! }));
  }

  /** The id of the object stored at `offset`, or null if no entry starts there. */
  oidAtOffset(offset: number): Oid | null {
    const { offsets, positions } = this.packOrder();
    const rank = this.rankOf(offset);
    return offsets[rank] === offset ? this.oidAt(positions[rank]!) : null;
  }
}

export interface IndexEntry {
  oid: Uint8Array;
  offset: number;
  crc: number;
}

function compareOidAt(oids: Uint8Array, a: number, b: number): number {
  for (let k = 0; k < 20; k++) {
    const d = oids[a + k]! - oids[b + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Writes a version 2 index for a pack whose trailer checksum is `packChecksum`. */
export function writePackIndex(entries: IndexEntry[], packChecksum: Uint8Array): Uint8Array {
  const { oids, offsets, crcs } = columnsOf(entries);
  return writePackIndexColumns(oids, offsets, crcs, packChecksum);
}

function columnsOf(entries: IndexEntry[]) {
  const oids = new Uint8Array(entries.length * 20);
  const offsets = new Float64Array(entries.length);
  const crcs = new Uint32Array(entries.length);
  entries.forEach((e, i) => {
    oids.set(e.oid, i * 20);
    offsets[i] = e.offset;
    crcs[i] = e.crc;
  });
  return { oids, offsets, crcs };
}

/**
 * The same from columns (entry i: id at oids[20i..20i+20), offsets[i], crcs[i]): what the indexer
 * keeps, sorted through one array of entry numbers rather than an object per entry.
 */
export function writePackIndexColumns(
  oids: Uint8Array,
  offsets: Float64Array,
  crcs: Uint32Array,
  packChecksum: Uint8Array,
): Uint8Array {
  return runAtOnce(whole(packIndexSlices(oids, offsets, crcs, packChecksum), offsets));
}

/**
 * The same in slices, yielding to other requests as `pacer` says: for hundreds of thousands of
 * objects the sort, the copy and the hash are each a second or more of CPU.
 */
export function writePackIndexPaced(
  oids: Uint8Array,
  offsets: Float64Array,
  crcs: Uint32Array,
  packChecksum: Uint8Array,
  pacer: Pacer,
): Promise<Uint8Array> {
  return runPaced(whole(packIndexSlices(oids, offsets, crcs, packChecksum), offsets), pacer);
}

/**
 * The same handed to `write` in pieces of at most INDEX_PIECE bytes (each valid until `write`
 * resolves), paced: a compaction's index is 28 bytes an object (25 MB for 900,000 objects) and
 * need not be whole in memory beside the columns. Returns its size.
 */
export async function streamPackIndex(
  oids: Uint8Array,
  offsets: Float64Array,
  crcs: Uint32Array,
  packChecksum: Uint8Array,
  pacer: Pacer,
  write: (piece: Uint8Array) => Promise<void>,
): Promise<number> {
  const work = packIndexSlices(oids, offsets, crcs, packChecksum);
  let size = 0;
  for (;;) {
    const r = work.next();
    if (r.done) return size;
    if (r.value.piece) {
      size += r.value.piece.length;
      await write(r.value.piece);
    }
    const paused = pacer.tick(r.value.bytes ?? 0, r.value.steps);
    if (paused) await paused;
  }
}

/** Entries copied, or bytes hashed, between two checkpoints of the work below. */
const SLICE_ENTRIES = 4096;
/** Bytes of index made at a time (one buffer, reused). */
const INDEX_PIECE = 256 * 1024;

type IndexSlices = Generator<{ steps: number; bytes?: number; piece?: Uint8Array }, void, void>;

/** Bytes of the version 2 index of a pack whose entries start at `offsets`. */
export function packIndexSize(offsets: Float64Array): number {
  let big = 0;
  for (let i = 0; i < offsets.length; i++) if (offsets[i]! >= 0x80000000) big++;
  return 8 + 1024 + offsets.length * 28 + big * 8 + 40;
}

/** The pieces of `work` joined into one index. */
function* whole(work: IndexSlices, offsets: Float64Array): Sliced<Uint8Array> {
  const out = new Uint8Array(packIndexSize(offsets));
  let at = 0;
  for (const step of work) {
    if (step.piece) {
      out.set(step.piece, at);
      at += step.piece.length;
    }
    yield step;
  }
  return out;
}

function* packIndexSlices(oids: Uint8Array, offsets: Float64Array, crcs: Uint32Array, packChecksum: Uint8Array): IndexSlices {
  const n = offsets.length;
  // Sorted by first byte with a counting sort, then bucket by bucket (a checkpoint between two):
  // one sort of the whole array could not be cut.
  const fanout = new Uint32Array(256);
  for (let i = 0; i < n; i++) fanout[oids[i * 20]!]!++;
  const starts = new Uint32Array(257);
  for (let b = 0; b < 256; b++) starts[b + 1] = starts[b]! + fanout[b]!;
  const order = new Uint32Array(n);
  const fill = starts.slice(0, 256);
  for (let i = 0; i < n; i++) order[fill[oids[i * 20]!]!++] = i;
  yield { steps: n };
  for (let b = 0; b < 256; b++) {
    const bucket = order.subarray(starts[b]!, starts[b + 1]!);
    bucket.sort((x, y) => compareOidAt(oids, x * 20, y * 20));
    // Sorting costs about log2(size) comparisons an entry.
    yield { steps: bucket.length * Math.max(1, Math.log2(bucket.length + 1) / 4) };
  }
  // Written front to back through one buffer: each full piece is hashed and handed out.
  const hash = sha1();
  const buf = new Uint8Array(INDEX_PIECE);
  const view = new DataView(buf.buffer);
  let used = 0;
  const piece = () => {
    const p = buf.subarray(0, used);
    hash.update(p);
    return { steps: 0, bytes: used, piece: p };
  };
  buf.set(MAGIC, 0);
  view.setUint32(4, 2);
  for (let i = 0; i < 256; i++) view.setUint32(8 + i * 4, starts[i + 1]!);
  used = 8 + 1024;
  for (let i = 0; i < n; i++) {
    const e = order[i]!;
    if (i > 0 && compareOidAt(oids, order[i - 1]! * 20, e * 20) === 0) throw corruptPack("pack has the same object twice");
    if (used + 20 > INDEX_PIECE) {
      yield piece();
      used = 0;
    }
    buf.set(oids.subarray(e * 20, e * 20 + 20), used);
    used += 20;
    if (i % SLICE_ENTRIES === SLICE_ENTRIES - 1) yield { steps: SLICE_ENTRIES };
  }
  for (let i = 0; i < n; i++) {
    if (used + 4 > INDEX_PIECE) {
      yield piece();
      used = 0;
    }
    view.setUint32(used, crcs[order[i]!]!);
    used += 4;
  }
  let bigIndex = 0;
  for (let i = 0; i < n; i++) {
    if (used + 4 > INDEX_PIECE) {
      yield piece();
      used = 0;
    }
    const offset = offsets[order[i]!]!;
    view.setUint32(used, offset < 0x80000000 ? offset : 0x80000000 | bigIndex++);
    used += 4;
  }
  for (let i = 0; i < n && bigIndex > 0; i++) {
    const offset = offsets[order[i]!]!;
    if (offset < 0x80000000) continue;
    if (used + 8 > INDEX_PIECE) {
      yield piece();
      used = 0;
    }
    view.setUint32(used, Math.floor(offset / 2 ** 32));
    view.setUint32(used + 4, offset >>> 0);
    used += 8;
  }
  if (used + 20 > INDEX_PIECE) {
    yield piece();
    used = 0;
  }
  buf.set(packChecksum, used);
  used += 20;
  yield piece();
  yield { steps: 0, piece: new Uint8Array(hash.digest()) };
}
