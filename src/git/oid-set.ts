// A set of object ids kept as raw 20-byte keys in one typed array (open addressing): the ids an
// indexed pack refers to can number in the hundreds of thousands, too many for strings.

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
    // Object ids are uniformly distributed: their first bytes are a good hash.
    let i = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) & mask;
    for (;;) {
      if (!this.used[i]) return i;
      const k = i * 20;
      let same = true;
      for (let j = 0; j < 20; j++) {
        if (this.keys[k + j] !== bytes[at + j]) {
          same = false;
          break;
        }
      }
      if (same) return i;
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
