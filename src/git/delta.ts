// Git's delta format: copy/insert instructions that rebuild an object from a base.
import { corruptPack } from "./errors";

function varint(d: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let shift = 0;
  let c: number;
  do {
    if (pos >= d.length) throw corruptPack("truncated delta header");
    c = d[pos++]!;
    value += (c & 0x7f) * 2 ** shift;
    shift += 7;
  } while (c & 0x80);
  return [value, pos];
}

/** Sizes announced at the start of a delta: the base's and the result's. */
export function deltaSizes(delta: Uint8Array): { baseSize: number; resultSize: number; start: number } {
  const [baseSize, p1] = varint(delta, 0);
  const [resultSize, start] = varint(delta, p1);
  return { baseSize, resultSize, start };
}

/**
 * Copies up to this many bytes go byte by byte: `set` needs a subarray, a new object each, and
 * tree deltas (most of what a history walk resolves) are mostly copies and inserts of a few
 * dozen bytes (an entry's id and name).
 */
const SHORT_COPY = 64;

export function applyDelta(base: Uint8Array, delta: Uint8Array, into?: (size: number) => Uint8Array): Uint8Array {
  const { baseSize, resultSize, start } = deltaSizes(delta);
  if (baseSize !== base.length) throw corruptPack(`delta expects a base of ${baseSize} bytes, got ${base.length}`);
  const out = into ? into(resultSize) : new Uint8Array(resultSize);
  let pos = start;
  let o = 0;
  while (pos < delta.length) {
    const op = delta[pos++]!;
    if (op & 0x80) {
      let off = 0;
      let len = 0;
      if (op & 0x01) off = delta[pos++]!;
      if (op & 0x02) off |= delta[pos++]! << 8;
      if (op & 0x04) off |= delta[pos++]! << 16;
      if (op & 0x08) off += delta[pos++]! * 0x1000000;
      if (op & 0x10) len = delta[pos++]!;
      if (op & 0x20) len |= delta[pos++]! << 8;
      if (op & 0x40) len |= delta[pos++]! << 16;
      if (len === 0) len = 0x10000;
      if (pos > delta.length || off + len > base.length || o + len > resultSize) {
        throw corruptPack("delta copies outside its base or result");
      }
      if (len <= SHORT_COPY) for (let i = 0; i < len; i++) out[o + i] = base[off + i]!;
      else out.set(base.subarray(off, off + len), o);
      o += len;
    } else if (op > 0) {
      if (pos + op > delta.length || o + op > resultSize) throw corruptPack("delta inserts past its end");
      if (op <= SHORT_COPY) for (let i = 0; i < op; i++) out[o + i] = delta[pos + i]!;
      else out.set(delta.subarray(pos, pos + op), o);
      pos += op;
      o += op;
    } else {
      throw corruptPack("delta has a reserved instruction");
    }
  }
  if (o !== resultSize) throw corruptPack(`delta produced ${o} bytes instead of ${resultSize}`);
  return out;
}

/**
 * Reused result buffers, one per depth of a delta chain, for a resolver that is done with an
 * object once its own deltas are: a new array buffer per resolved object was garbage V8 frees
 * late. Buffers stay within `budget` bytes in all; a result that does not fit gets its own.
 */
export class ResultBuffers {
  private readonly buffers: Uint8Array[] = [];
  /** Bytes the buffers hold. */
  held = 0;
  constructor(private readonly budget: number) {}

  /** A buffer of `size` bytes for a result at `depth`, valid until the next call at that depth. */
  at(depth: number, size: number): Uint8Array {
    const had = this.buffers[depth];
    if (had && had.length >= size) return had.subarray(0, size);
    const grow = Math.max(size, 2 * (had?.length ?? 0), 4096);
    if (this.held - (had?.length ?? 0) + grow > this.budget) return new Uint8Array(size);
    this.held += grow - (had?.length ?? 0);
    const next = new Uint8Array(grow);
    this.buffers[depth] = next;
    return next.subarray(0, size);
  }
}
