// A set of object ids kept as raw 20-byte keys in one typed array (open addressing): the ids an
// indexed pack refers to can number in the hundreds of thousands, too many for strings.

/** A table slot's hash of the id at bytes[at..]: ids are uniformly distributed, so their first bytes do. */
export const idHash = (bytes: Uint8Array, at: number): number =>
  (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;

/** Whether the 20-byte ids at a[ai..] and b[bi..] are the same. */
export function sameId(a: Uint8Array, ai: number, b: Uint8Array, bi: number): boolean {
  for (let j = 0; j < 20; j++) if (a[ai + j] !== b[bi + j]) return false;
  return true;
}

export class OidSet {
  private keys: Uint8Array;
  private used: Uint8Array;
  private count = 0;

  constructor(capacity = 1024) {
    let size = 1024;
    while (size < capacity * 2) size *= 2;
    this.keys = new Uint8Array(size * 20);
    this.used = new Uint8Array(size);
  }

  get size(): number {
    return this.count;
  }

  private slot(bytes: Uint8Array, at: number): number {
    const mask = this.used.length - 1;
    let i = idHash(bytes, at) & mask;
    for (;;) {
      if (!this.used[i] || sameId(this.keys, i * 20, bytes, at)) return i;
      i = (i + 1) & mask;
    }
  }

  /** Adds the id stored at bytes[at..at+20). */
  add(bytes: Uint8Array, at = 0): void {
    if ((this.count + 1) * 2 > this.used.length) this.grow();
    const i = this.slot(bytes, at);
    if (this.used[i]) return;
    this.used[i] = 1;
    this.keys.set(bytes.subarray(at, at + 20), i * 20);
    this.count++;
  }

  has(bytes: Uint8Array, at = 0): boolean {
    return this.used[this.slot(bytes, at)] === 1;
  }

  /** Calls fn with each id's bytes (a view valid only during the call). */
  forEach(fn: (bytes: Uint8Array) => void): void {
    for (let i = 0; i < this.used.length; i++) if (this.used[i]) fn(this.keys.subarray(i * 20, i * 20 + 20));
  }

  /** Each id's bytes in turn (a view valid until the next step), for loops that await. */
  *values(): Generator<Uint8Array, void, void> {
    for (let i = 0; i < this.used.length; i++) if (this.used[i]) yield this.keys.subarray(i * 20, i * 20 + 20);
  }

  private grow(): void {
    const old = { keys: this.keys, used: this.used };
    this.keys = new Uint8Array(old.keys.length * 2);
    this.used = new Uint8Array(old.used.length * 2);
    this.count = 0;
    for (let i = 0; i < old.used.length; i++) if (old.used[i]) this.add(old.keys, i * 20);
  }
}
