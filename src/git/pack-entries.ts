// What the pack indexer knows of each entry of a pack, in columns of typed arrays indexed by pack
// order (no JS object per entry), and the arena of inflated entries kept for its second pass.
import type { HeldBytes } from "./index-records";
import { hexInto, type Oid } from "./oid";

/**
 * Inflated entries kept from the first pass for the second (deltas and their bases), at most: in
 * one arena, not one small array per entry (hundreds of thousands of tiny deltas would cost far
 * more in per-object overhead than in bytes). 8 MiB, not more: the rest is re-read through the
 * window cache, and on the 320,185-object benchmark 24 MiB raised the push isolate's peak (heap
 * plus array buffers, after collection) from 134 to 165 MiB for little speed.
 */
const KEEP_BUDGET = 4 * 1024 * 1024;
const KEEP_MAX_ENTRY = 256 * 1024;
/**
 * Only the first entries of a pack may be kept: the arena fills in pack order and holds some
 * 40,000 entries of the sizes git packs have, so a position per entry of a 900,000-object pack
 * (3.6 MB, most of it -1) bought nothing.
 */
const KEEP_ENTRIES = 256 * 1024;
/** Set in `types` on entries of the first pass that are the base of a REF_DELTA. */
export const REF_BASE = 0x80;

/**
 * What the indexer knows of each entry, in columns of typed arrays indexed by pack order: 10 bytes
 * an entry (14 for packs over 4 GiB) and no JS object each, and the kept positions of the first
 * entries (at most 1 MiB); ids go to the .idx records as soon as
 * they are known, headers are parsed again when an entry is read again.
 */
export class Entries {
  /** Offset of each entry; offsets[count] is where the trailer starts (so an entry ends at the next offset). */
  readonly offsets: Float64Array | Uint32Array;
  /** The entry's type in the pack (OBJ_*). */
  readonly packTypes: Uint8Array;
  /** The object's type number once known (0 until a delta is resolved). */
  readonly types: Uint8Array;
  readonly crcs: Uint32Array;
  /** Start of each of the first entries' inflated bytes (after their 4-byte length) in `kept`, or -1. */
  private readonly keptAt: Int32Array;
  kept = new Uint8Array(0);
  keptBytes = 0;
  /** REF_DELTAs: base ids and entry numbers, grown as they come (full packs rarely have any). */
  refOids = new Uint8Array(0);
  refEntries = new Uint32Array(0);
  refCount = 0;

  constructor(
    readonly count: number,
    packSize: number,
    private readonly held: HeldBytes,
  ) {
    this.offsets = packSize < 2 ** 32 ? new Uint32Array(count + 1) : new Float64Array(count + 1);
    this.packTypes = new Uint8Array(count);
    this.types = new Uint8Array(count);
    this.crcs = new Uint32Array(count);
    this.keptAt = new Int32Array(Math.min(count, KEEP_ENTRIES)).fill(-1);
    held.add(this.offsets.byteLength + count * 6 + this.keptAt.byteLength);
  }

  /** Keeps entry i's inflated bytes for the second pass if the budget allows. */
  keep(i: number, data: Uint8Array): void {
    const need = data.length + 4;
    if (i >= this.keptAt.length || data.length > KEEP_MAX_ENTRY || this.keptBytes + need > KEEP_BUDGET) return;
    if (this.keptBytes + need > this.kept.length) {
      // Grows by doubling up to the budget: a small push never allocates the whole budget.
      let size = Math.max(64 * 1024, this.kept.length * 2);
      while (size < this.keptBytes + need) size *= 2;
      const next = new Uint8Array(Math.min(KEEP_BUDGET, size));
      next.set(this.kept.subarray(0, this.keptBytes));
      this.held.add(next.length - this.kept.length);
      this.kept = next;
    }
    new DataView(this.kept.buffer).setUint32(this.keptBytes, data.length);
    this.kept.set(data, this.keptBytes + 4);
    this.keptAt[i] = this.keptBytes + 4;
    this.keptBytes += need;
  }

  /** Lets the arena go once the second pass is done with it. */
  dropKept(): void {
    this.held.add(-this.kept.length);
    this.kept = new Uint8Array(0);
    this.keptBytes = 0;
    this.keptAt.fill(-1);
  }

  /** Entry i's kept bytes no longer need keeping (its deltas are resolved). */
  forget(i: number): void {
    if (i < this.keptAt.length) this.keptAt[i] = -1;
  }

  kepts(i: number): Uint8Array | null {
    if (i >= this.keptAt.length) return null;
    const at = this.keptAt[i]!;
    if (at < 0) return null;
    return this.kept.subarray(at, at + new DataView(this.kept.buffer).getUint32(at - 4));
  }

  addRef(i: number, base: Oid): void {
    if (this.refCount === this.refEntries.length) {
      const capacity = Math.max(64, this.refCount * 2);
      const oids = new Uint8Array(capacity * 20);
      oids.set(this.refOids);
      const entries = new Uint32Array(capacity);
      entries.set(this.refEntries);
      this.held.add((capacity - this.refEntries.length) * 24);
      this.refOids = oids;
      this.refEntries = entries;
    }
    hexInto(base, this.refOids.subarray(this.refCount * 20, this.refCount * 20 + 20));
    this.refEntries[this.refCount++] = i;
  }

  /** The entry whose offset is exactly `offset`, or -1 (offsets ascend: binary search). */
  atOffset(offset: number, below: number): number {
    let lo = 0;
    let hi = below;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < below && this.offsets[lo] === offset ? lo : -1;
  }
}
