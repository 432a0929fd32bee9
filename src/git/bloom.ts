// Changed-path Bloom filters as git defines them (Documentation/technical/commit-graph.adoc): per
// commit, the paths that differ from its first parent and their parent directories, 10 bits per
// path and 7 hashes from two seeded murmur3 values. "No" is certain; "maybe" must be checked.

/** Bits per path and hashes per path (git's defaults, version 2 filters). */
export const BITS_PER_ENTRY = 10;
export const NUM_HASHES = 7;
/** More changed paths than this: the filter says "maybe" for every path (git's limit). */
export const MAX_CHANGED_PATHS = 512;

const SEED0 = 0x293ae76f;
const SEED1 = 0x7e646e2c;
const encoder = new TextEncoder();

/** murmur3 (32-bit) of bytes, with a seed: git's murmur3_seeded_v2. */
export function murmur3(seed: number, data: Uint8Array): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const n = data.length;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = n & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= data[blocks + 2]! << 16;
    if (rest >= 2) k ^= data[blocks + 1]! << 8;
    k ^= data[blocks]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The seven hash values of one path (no leading or trailing slash). */
export type BloomKey = Uint32Array;

export function bloomKey(path: string | Uint8Array): BloomKey {
  const bytes = typeof path === "string" ? encoder.encode(path) : path;
  const h0 = murmur3(SEED0, bytes);
  const h1 = murmur3(SEED1, bytes);
  const out = new Uint32Array(NUM_HASHES);
  for (let i = 0; i < NUM_HASHES; i++) out[i] = (h0 + Math.imul(i, h1)) >>> 0;
  return out;
}

/** Keys of a path and of each directory above it, as git queries them: every one must be present. */
export function bloomKeysOf(path: string): BloomKey[] {
  const keys: BloomKey[] = [];
  for (let at = path.indexOf("/"); at >= 0; at = path.indexOf("/", at + 1)) keys.push(bloomKey(path.slice(0, at)));
  keys.push(bloomKey(path));
  return keys;
}

/** A filter of `keys` (the changed paths and their directories, each once). */
export function buildFilter(keys: BloomKey[]): Uint8Array {
  if (keys.length > MAX_CHANGED_PATHS) return Uint8Array.of(0xff);
  if (keys.length === 0) return Uint8Array.of(0);
  const filter = new Uint8Array(Math.ceil((keys.length * BITS_PER_ENTRY) / 8));
  const bits = filter.length * 8;
  for (const key of keys) {
    for (const h of key) {
      const bit = h % bits;
      filter[bit >>> 3]! |= 1 << (bit & 7);
    }
  }
  return filter;
}

/**
 * `buildFilter` of paths added one at a time as bytes, without a key per path: their two hash
 * values go into one reused array (the commit-graph build makes a filter for every commit of a
 * whole history: 1.4 million paths at git/git's size, a Uint32Array and an array entry each).
 */
export class FilterBuilder {
  private hashes = new Uint32Array(2 * 64);
  private count = 0;

  add(path: Uint8Array): void {
    if (2 * this.count + 2 > this.hashes.length) {
      const more = new Uint32Array(this.hashes.length * 2);
      more.set(this.hashes);
      this.hashes = more;
    }
    this.hashes[2 * this.count] = murmur3(SEED0, path);
    this.hashes[2 * this.count + 1] = murmur3(SEED1, path);
    this.count++;
  }

  /** The filter of the paths added since the last one (as `buildFilter` makes it). */
  finish(): Uint8Array {
    const n = this.count;
    this.count = 0;
    if (n > MAX_CHANGED_PATHS) return Uint8Array.of(0xff);
    if (n === 0) return Uint8Array.of(0);
    const filter = new Uint8Array(Math.ceil((n * BITS_PER_ENTRY) / 8));
    const bits = filter.length * 8;
    for (let k = 0; k < n; k++) {
      const h0 = this.hashes[2 * k]!;
      const h1 = this.hashes[2 * k + 1]!;
      for (let i = 0; i < NUM_HASHES; i++) {
        const bit = ((h0 + Math.imul(i, h1)) >>> 0) % bits;
        filter[bit >>> 3]! |= 1 << (bit & 7);
      }
    }
    return filter;
  }
}

/** False only if no path of `keys` can be in the filter (the commit certainly left them alone). */
export function filterMayContain(filter: Uint8Array, keys: BloomKey[], start = 0, end = filter.length): boolean {
  // [start, end): the filter within a larger buffer (a commit-graph page), read in place.
  if (end <= start) return true;
  const bits = (end - start) * 8;
  for (const key of keys) {
    for (const h of key) {
      const bit = h % bits;
      if ((filter[start + (bit >>> 3)]! & (1 << (bit & 7))) === 0) return false;
    }
  }
  return true;
}
