// Buffers for many line diffs in a row (diff.ts): a blame diffs hundreds of versions of a file, and
// new arrays for each diff made most of its garbage.

/** Int32 entries a DiffBuffers keeps in one buffer (1 MiB): larger ones are for one diff. */
const MAX_KEPT = 256 * 1024;

/**
 * Buffers a caller that diffs many times keeps for its diffs (one diff at a time): the changed-line
 * flags, Myers' diagonals and trace, and the runs out. They grow to the largest diff and stay.
 */
export class DiffBuffers {
  private readonly bytes = new Map<string, Uint8Array>();
  private readonly int32 = new Map<string, Int32Array>();
  /** Buffers allocated so far (for tests: a blame allocates a few, not a few per diff). */
  allocations = 0;

  /** Bytes buffer `name` of exactly `n` (a view of a larger one kept), zeroed or not as the caller fills it. */
  u8(name: string, n: number): Uint8Array {
    let buf = this.bytes.get(name);
    if (!buf || buf.length < n) {
      this.allocations++;
      this.bytes.set(name, (buf = new Uint8Array(Math.max(n, 2 * (buf?.length ?? 0), 1024))));
    }
    return buf.subarray(0, n);
  }

  /** Int32 buffer `name` of at least `n` (its content left over from the last use). */
  ints(name: string, n: number): Int32Array {
    let buf = this.int32.get(name);
    if (!buf || buf.length < n) {
      this.allocations++;
      buf = new Int32Array(Math.max(n, 2 * (buf?.length ?? 0), 1024));
      // Myers' trace of a diff near MAX_D is megabytes: used once, not kept.
      if (buf.length <= MAX_KEPT) this.int32.set(name, buf);
    }
    return buf;
  }
}
