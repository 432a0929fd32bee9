// Computes git deltas: copy instructions for the runs a target shares with its base, inserts for
// the rest. Used when a fetch would otherwise send an object whole while the client holds an
// older version of it (the same path in the commits it has).

const BLOCK = 16;
const PRIME = 0x01000193;
/** Candidates checked per position, so a repetitive base cannot make this quadratic. */
const MAX_CHAIN = 32;
const MAX_COPY = 0x10000;

/** Appends `n` as a delta header size (7 bits a byte, low bits first). */
export function varint(n: number, out: number[] = []): number[] {
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function blockHash(d: Uint8Array, at: number): number {
  let h = 0;
  for (let i = 0; i < BLOCK; i++) h = (Math.imul(h, PRIME) + d[at + i]!) >>> 0;
  return h;
}

/** PRIME^(BLOCK-1) mod 2^32, to roll the hash one byte along. */
const OUT_FACTOR = (() => {
  let f = 1;
  for (let i = 0; i < BLOCK - 1; i++) f = Math.imul(f, PRIME) >>> 0;
  return f;
})();

/** A delta that rebuilds `target` from `base` (git's format), or null when it would not pay. */
export function createDelta(base: Uint8Array, target: Uint8Array, maxSize = target.length): Uint8Array | null {
  if (base.length < BLOCK || target.length < BLOCK) return null;
  const blocks = Math.floor(base.length / BLOCK);
  let bits = 1;
  while (1 << bits < blocks * 2 && bits < 24) bits++;
  const mask = (1 << bits) - 1;
  const heads = new Int32Array(1 << bits).fill(-1);
  const next = new Int32Array(blocks);
  // Later blocks first in each chain: they are usually the better match for appended text.
  for (let b = 0; b < blocks; b++) {
    const slot = blockHash(base, b * BLOCK) & mask;
    next[b] = heads[slot]!;
    heads[slot] = b;
  }

  const out: number[] = [];
  varint(base.length, out);
  varint(target.length, out);
  let insertStart = 0;
  const flushInsert = (end: number) => {
    for (let p = insertStart; p < end; p += 127) {
      const n = Math.min(127, end - p);
      out.push(n);
      for (let i = 0; i < n; i++) out.push(target[p + i]!);
    }
  };
  const emitCopy = (off: number, len: number) => {
    while (len > 0) {
      const n = Math.min(len, MAX_COPY);
      const at = out.length;
      out.push(0x80);
      let op = 0x80;
      for (let i = 0; i < 4; i++) {
        const byte = Math.floor(off / 2 ** (8 * i)) & 0xff;
        if (byte) {
          out.push(byte);
          op |= 1 << i;
        }
      }
      const size = n === MAX_COPY ? 0 : n;
      for (let i = 0; i < 3; i++) {
        const byte = (size >> (8 * i)) & 0xff;
        if (byte) {
          out.push(byte);
          op |= 0x10 << i;
        }
      }
      out[at] = op;
      off += n;
      len -= n;
    }
  };

  let t = 0;
  let h = blockHash(target, 0);
  while (t + BLOCK <= target.length) {
    let bestLen = 0;
    let bestOff = 0;
    let bestBack = 0;
    let chain = 0;
    for (let b = heads[h & mask]!; b >= 0 && chain < MAX_CHAIN; b = next[b]!, chain++) {
      const off = b * BLOCK;
      let len = 0;
      while (off + len < base.length && t + len < target.length && base[off + len] === target[t + len]) len++;
      if (len < BLOCK) continue;
      let back = 0;
      while (back < t - insertStart && back < off && base[off - back - 1] === target[t - back - 1]) back++;
      if (len + back > bestLen + bestBack) {
        bestLen = len;
        bestOff = off;
        bestBack = back;
      }
    }
    if (bestLen >= BLOCK) {
      flushInsert(t - bestBack);
      emitCopy(bestOff - bestBack, bestLen + bestBack);
      t += bestLen;
      insertStart = t;
      if (out.length > maxSize) return null;
      if (t + BLOCK <= target.length) h = blockHash(target, t);
      continue;
    }
    if (t + BLOCK < target.length) {
      h = (Math.imul((h - Math.imul(target[t]!, OUT_FACTOR)) >>> 0, PRIME) + target[t + BLOCK]!) >>> 0;
    }
    t++;
    if (t - insertStart > 4096 && out.length > maxSize) return null;
  }
  flushInsert(target.length);
  return out.length < maxSize ? Uint8Array.from(out) : null;
}
