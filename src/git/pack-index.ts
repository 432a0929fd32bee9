// Pack index version 2 (gitformat-pack): fan-out table, sorted ids, CRCs and offsets.
import { corruptPack } from "./errors";
import { hexInto, oidAt, sha1, type Oid } from "./oid";

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

  private packOrder(): { offsets: Float64Array; positions: Uint32Array } {
    if (!this.sorted || !this.sortedPositions) {
      const positions = new Uint32Array(this.count);
      const offsets = new Float64Array(this.count);
      for (let i = 0; i < this.count; i++) positions[i] = i;
      for (let i = 0; i < this.count; i++) offsets[i] = this.offsetAt(i);
      positions.sort((a, b) => offsets[a]! - offsets[b]!);
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

function compareOid(a: Uint8Array, b: Uint8Array): number {
  for (let k = 0; k < 20; k++) {
    const d = a[k]! - b[k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Writes a version 2 index for a pack whose trailer checksum is `packChecksum`. */
export function writePackIndex(entries: IndexEntry[], packChecksum: Uint8Array): Uint8Array {
  const sorted = [...entries].sort((a, b) => compareOid(a.oid, b.oid));
  const n = sorted.length;
  const big = sorted.filter((e) => e.offset >= 0x80000000);
  const size = 8 + 1024 + n * 28 + big.length * 8 + 40;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(4, 2);
  const fanout = new Uint32Array(256);
  for (const e of sorted) fanout[e.oid[0]!]!++;
  let total = 0;
  for (let i = 0; i < 256; i++) {
    total += fanout[i]!;
    view.setUint32(8 + i * 4, total);
  }
  const shaStart = 8 + 1024;
  const crcStart = shaStart + n * 20;
  const offStart = crcStart + n * 4;
  let bigStart = offStart + n * 4;
  let bigIndex = 0;
  sorted.forEach((e, i) => {
    if (i > 0 && compareOid(sorted[i - 1]!.oid, e.oid) === 0) throw corruptPack("pack has the same object twice");
    out.set(e.oid, shaStart + i * 20);
    view.setUint32(crcStart + i * 4, e.crc);
    if (e.offset < 0x80000000) view.setUint32(offStart + i * 4, e.offset);
    else {
      view.setUint32(offStart + i * 4, 0x80000000 | bigIndex++);
      view.setUint32(bigStart, Math.floor(e.offset / 2 ** 32));
      view.setUint32(bigStart + 4, e.offset >>> 0);
      bigStart += 8;
    }
  });
  out.set(packChecksum, size - 40);
  const digest = sha1()
    .update(out.subarray(0, size - 20))
    .digest();
  out.set(digest, size - 20);
  return out;
}
