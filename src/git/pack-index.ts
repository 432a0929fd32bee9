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
  return runAtOnce(packIndexSlices(oids, offsets, crcs, packChecksum));
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
  return runPaced(packIndexSlices(oids, offsets, crcs, packChecksum), pacer);
}

/** Entries copied, or bytes hashed, between two checkpoints of the work below. */
const SLICE_ENTRIES = 4096;
const SLICE_HASH_BYTES = 1024 * 1024;

function* packIndexSlices(
  oids: Uint8Array,
  offsets: Float64Array,
  crcs: Uint32Array,
  packChecksum: Uint8Array,
): Sliced<Uint8Array> {
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
  let bigCount = 0;
  for (let i = 0; i < n; i++) if (offsets[i]! >= 0x80000000) bigCount++;
  const size = 8 + 1024 + n * 28 + bigCount * 8 + 40;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(4, 2);
  for (let i = 0; i < 256; i++) view.setUint32(8 + i * 4, starts[i + 1]!);
  const shaStart = 8 + 1024;
  const crcStart = shaStart + n * 20;
  const offStart = crcStart + n * 4;
  let bigStart = offStart + n * 4;
  let bigIndex = 0;
  for (let i = 0; i < n; i++) {
    const e = order[i]!;
    if (i > 0 && compareOidAt(oids, order[i - 1]! * 20, e * 20) === 0) throw corruptPack("pack has the same object twice");
    out.set(oids.subarray(e * 20, e * 20 + 20), shaStart + i * 20);
    view.setUint32(crcStart + i * 4, crcs[e]!);
    const offset = offsets[e]!;
    if (offset < 0x80000000) view.setUint32(offStart + i * 4, offset);
    else {
      view.setUint32(offStart + i * 4, 0x80000000 | bigIndex++);
      view.setUint32(bigStart, Math.floor(offset / 2 ** 32));
      view.setUint32(bigStart + 4, offset >>> 0);
      bigStart += 8;
    }
    if (i % SLICE_ENTRIES === SLICE_ENTRIES - 1) yield { steps: SLICE_ENTRIES };
  }
  out.set(packChecksum, size - 40);
  const hash = sha1();
  for (let at = 0; at < size - 20; at += SLICE_HASH_BYTES) {
    const to = Math.min(size - 20, at + SLICE_HASH_BYTES);
    hash.update(out.subarray(at, to));
    yield { steps: 0, bytes: to - at };
  }
  out.set(hash.digest(), size - 20);
  return out;
}
