// Bytes of a version 2 pack index held in consecutive cached units, read in place (for
// git/pack-index-ranged.ts): names compared where they lie, even across two units.
import { corruptPack } from "./errors";

/** Where the names begin: after the header and the fan-out table. */
export const SHA_START = 8 + 256 * 4;

function compareAt(names: Uint8Array, at: number, key: Uint8Array): number {
  for (let k = 0; k < 20; k++) {
    const d = names[at + k]! - key[k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Bytes of an index held in consecutive units (`parts[0]` is unit `first`), read in place: a
 * name may span two units, so a search compares across them rather than joining them (a join
 * would copy the whole bucket on every lookup).
 */
export class Units {
  constructor(
    readonly parts: readonly Uint8Array[],
    readonly first: number,
    readonly size: number,
  ) {}

  /** Compares the 20-byte name at byte `at` of the index with key. */
  compare(at: number, key: Uint8Array): number {
    const u = Math.floor(at / this.size) - this.first;
    const part = this.parts[u]!;
    const i = at % this.size;
    if (i + 20 <= part.length) return compareAt(part, i, key);
    for (let k = 0; k < 20; k++) {
      const d = this.byte(at + k) - key[k]!;
      if (d !== 0) return d;
    }
    return 0;
  }

  byte(at: number): number {
    const b = this.parts[Math.floor(at / this.size) - this.first]?.[at % this.size];
    if (b === undefined) throw corruptPack("truncated pack index");
    return b;
  }

  uint32(at: number): number {
    return ((this.byte(at) << 24) | (this.byte(at + 1) << 16) | (this.byte(at + 2) << 8) | this.byte(at + 3)) >>> 0;
  }

  /** Bytes [start, end): a view when they lie in one unit, else a copy (a name across two). */
  slice(start: number, end: number): Uint8Array {
    const u = Math.floor(start / this.size) - this.first;
    const part = this.parts[u];
    const i = start % this.size;
    if (part && i + (end - start) <= part.length) return part.subarray(i, i + end - start);
    const out = new Uint8Array(end - start);
    for (let k = 0; k < out.length; k++) out[k] = this.byte(start + k);
    return out;
  }
}

/** First position in [lo, hi) whose name (at SHA_START + 20 * position) is >= key. */
export function lowerBoundIn(names: Units, lo: number, hi: number, key: Uint8Array): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (names.compare(SHA_START + mid * 20, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
