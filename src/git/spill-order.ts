// Ordering and reading for spill runs (git/spill.ts): the store their parts go to, records
// compared bytewise by key, a sort's permutation applied in place, the merge's min-heap of run
// cursors and their window reads.

/** Where parts go: numbered from 0, each put once, whole, and read by ranges. */
export interface SpillStore {
  put(part: number, bytes: Uint8Array): Promise<void>;
  /** Bytes [start, end) of a part (end within the part). */
  read(part: number, start: number, end: number): Promise<Uint8Array>;
  /** Like read, into `into` (merges then make no array buffer per window); returns the filled view. */
  readInto?(part: number, start: number, into: Uint8Array): Promise<Uint8Array>;
  /** Deletes parts (any number at once; some may be absent, after a failed write: not an error). */
  delete(parts: number[]): Promise<void>;
}

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

/**
 * Bytes [c.next, end) of a part for a cursor, read into the cursor's one buffer when the store can;
 * a short read is an error.
 */
export async function readWindow(store: SpillStore, c: Cursor, part: number, end: number, window: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if (store.readInto) {
    const own = c.own ?? new Uint8Array(window);
    bytes = await store.readInto(part, c.next, own.subarray(0, end - c.next));
    // The read may detach the buffer: the cursor's view is made again over the memory it returned.
    c.own = new Uint8Array(bytes.buffer, bytes.byteOffset, window);
  } else bytes = await store.read(part, c.next, end);
  if (bytes.length !== end - c.next)
    throw new Error(`spill part ${part} is short: read ${bytes.length} bytes of ${end - c.next}`);
  return bytes;
}
