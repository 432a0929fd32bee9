// Ordering for spill runs (git/spill.ts): records compared bytewise by key, a sort's permutation
// applied in place, and the merge's min-heap of run cursors.

export interface Cursor {
  /** The run's parts still to read, in order. */
  parts: number[];
  /** Older runs win ties (the record added first is kept). */
  age: number;
  /** Offset in parts[0] of the next window. */
  next: number;
  bytes: Uint8Array;
  at: number;
  /** The records still buffered (not read from a part): nothing to refill. */
  memory?: boolean;
  /** The buffer windows are read into, when the store reads into buffers. */
  own?: Uint8Array;
}

/** Bytewise comparison of the `kw`-byte keys at a[ai..] and b[bi..]. */
export function compareRecords(a: Uint8Array, ai: number, b: Uint8Array, bi: number, kw: number): number {
  for (let k = 0; k < kw; k++) {
    const d = a[ai + k]! - b[bi + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Puts record order[j] at slot j, in place: each cycle of the permutation moves through one spare record. */
export function permute(buf: Uint8Array, order: Uint32Array, w: number): void {
  const spare = new Uint8Array(w);
  const done = 0xffffffff;
  for (let start = 0; start < order.length; start++) {
    if (order[start] === done || order[start] === start) continue;
    spare.set(buf.subarray(start * w, start * w + w));
    let j = start;
    for (;;) {
      const from = order[j]!;
      order[j] = done;
      if (from === start) {
        buf.set(spare, j * w);
        break;
      }
      buf.copyWithin(j * w, from * w, from * w + w);
      j = from;
    }
  }
}

/** A binary min-heap of cursors by their current record's key. */
export class CursorHeap {
  constructor(
    private readonly items: Cursor[],
    private readonly kw: number,
  ) {
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }
  get size(): number {
    return this.items.length;
  }
  top(): Cursor {
    return this.items[0]!;
  }
  /** The top's key grew: restores the order. */
  sifted(): void {
    this.down(0);
  }
  pop(): void {
    const last = this.items.pop()!;
    if (this.items.length > 0) {
      this.items[0] = last;
      this.down(0);
    }
  }
  private less(a: Cursor, b: Cursor): boolean {
    const d = compareRecords(a.bytes, a.at, b.bytes, b.at, this.kw);
    return d < 0 || (d === 0 && a.age < b.age);
  }
  private down(i: number): void {
    const items = this.items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && this.less(items[l]!, items[m]!)) m = l;
      if (r < items.length && this.less(items[r]!, items[m]!)) m = r;
      if (m === i) return;
      [items[i], items[m]] = [items[m]!, items[i]!];
      i = m;
    }
  }
}
