// The .idx of a pack being indexed, with bounded memory: (id, entry number) records, sorted in runs
// of a fixed budget and spilled to storage when they outgrow it (as git index-pack spills to disk),
// then merged back in id order into the .idx, which is written as a stream, section by section.
import { corruptPack } from "./errors";
import { sha1 } from "./oid";
import type { Pacer } from "../utils/pace";
import type { SpillStore } from "./spill";

export type { SpillStore };

/**
 * The spill store as the indexer uses it: it remembers every part put (a failed put too), so that
 * all are deleted however indexing ends.
 */
export function deletingAll(store: SpillStore): SpillStore & { deleteAll(): Promise<void> } {
  const put = new Set<number>();
  return {
    put(part, bytes) {
      put.add(part);
      return store.put(part, bytes);
    },
    read: (part, start, end) => store.read(part, start, end),
    async delete(parts) {
      await store.delete(parts);
      for (const part of parts) put.delete(part);
    },
    async deleteAll() {
      if (put.size > 0) await store.delete([...put]);
      put.clear();
    },
  };
}

/** Counts the bytes the indexer holds in its own buffers (what the memory tests check). */
export class HeldBytes {
  now = 0;
  peak = 0;
  add(bytes: number): void {
    this.now += bytes;
    if (this.now > this.peak) this.peak = this.now;
  }
}

/** A record: the object's id (20 bytes), then its entry number in the pack (big-endian u32). */
const RECORD = 24;
/** Records read from each spilled run at a time, while merging (48 KiB). */
const READ_RECORDS = 2048;
/** Bytes of .idx handed to the writer at a time. */
const OUT_CHUNK = 256 * 1024;
const MAGIC = [0xff, 0x74, 0x4f, 0x63];

function compareRecords(a: Uint8Array, at: number, b: Uint8Array, bt: number): number {
  for (let k = 0; k < 20; k++) {
    const d = a[at + k]! - b[bt + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** One sorted run being merged: its records a window at a time. */
interface RunCursor {
  buf: Uint8Array;
  /** Byte position of the current record in buf. */
  at: number;
  /** Records of the run not yet read into buf. */
  next: number;
  left: number;
  /** The spilled part; null for the records still buffered. */
  part: number | null;
}

export class IndexRecords {
  /** Records not yet spilled, in arrival order; then, once sorted, `sorted` holds them in id order. */
  private buf: Uint8Array;
  private inBuf = 0;
  private perm: Uint32Array;
  private sorted: Uint8Array;
  private readonly runs: { part: number; records: number }[] = [];
  /** Records added, and per first byte of the id (the .idx's fan-out table). */
  total = 0;
  readonly firstBytes = new Uint32Array(256);

  /**
   * With a spill store, at most `budget` bytes of records, order and sorted copy are held (52 bytes
   * a record); without one, the buffers grow with the pack (small packs, tests).
   */
  constructor(
    private readonly spill: SpillStore | null,
    budget: number,
    private readonly held: HeldBytes,
  ) {
    const capacity = spill ? Math.max(64, Math.floor(budget / (2 * RECORD + 4))) : 1024;
    this.buf = new Uint8Array(capacity * RECORD);
    this.perm = new Uint32Array(capacity);
    this.sorted = new Uint8Array(capacity * RECORD);
    held.add(capacity * (2 * RECORD + 4));
  }

  get spilledRuns(): number {
    return this.runs.length;
  }

  /** Adds the record of the object at entry `entry` with id oid[at..at+20). Await what it returns. */
  add(oid: Uint8Array, at: number, entry: number): Promise<void> | undefined {
    if (this.inBuf * RECORD === this.buf.length) {
      if (this.spill) return this.spillRun().then(() => this.add(oid, at, entry));
      this.grow();
    }
    const o = this.inBuf * RECORD;
    this.buf.set(oid.subarray(at, at + 20), o);
    const e = entry;
    this.buf[o + 20] = e >>> 24;
    this.buf[o + 21] = (e >>> 16) & 255;
    this.buf[o + 22] = (e >>> 8) & 255;
    this.buf[o + 23] = e & 255;
    this.inBuf++;
    this.total++;
    this.firstBytes[oid[at]!]!++;
    return undefined;
  }

  private grow(): void {
    const capacity = this.perm.length * 2;
    const next = new Uint8Array(capacity * RECORD);
    next.set(this.buf);
    this.held.add(capacity * (2 * RECORD + 4) - this.perm.length * (2 * RECORD + 4));
    this.buf = next;
    this.perm = new Uint32Array(capacity);
    this.sorted = new Uint8Array(capacity * RECORD);
  }

  /** Sorts the buffered records into `sorted` (buffers reused from run to run: no garbage). */
  private sortBuffered(): void {
    const n = this.inBuf;
    const perm = this.perm.subarray(0, n);
    for (let i = 0; i < n; i++) perm[i] = i;
    const buf = this.buf;
    perm.sort((x, y) => compareRecords(buf, x * RECORD, buf, y * RECORD));
    for (let i = 0; i < n; i++) this.sorted.set(buf.subarray(perm[i]! * RECORD, perm[i]! * RECORD + RECORD), i * RECORD);
  }

  private async spillRun(): Promise<void> {
    this.sortBuffered();
    const part = this.runs.length;
    await this.spill!.put(part, this.sorted.subarray(0, this.inBuf * RECORD));
    this.runs.push({ part, records: this.inBuf });
    this.inBuf = 0;
  }

  /**
   * Every record in id order, as (buffer, byte position) of the record: a merge of the spilled runs
   * and the buffered ones. Can run several times (once per section of the .idx).
   */
  async *merged(): AsyncGenerator<[Uint8Array, number]> {
    const cursors: RunCursor[] = this.runs.map((r) => ({
      buf: new Uint8Array(0),
      at: 0,
      next: 0,
      left: r.records,
      part: r.part,
    }));
    if (this.inBuf > 0)
      cursors.push({ buf: this.sorted.subarray(0, this.inBuf * RECORD), at: 0, next: this.inBuf, left: 0, part: null });
    const readBytes = this.runs.length * READ_RECORDS * RECORD;
    this.held.add(readBytes);
    try {
      const live: RunCursor[] = [];
      for (const c of cursors) if (await this.refill(c)) live.push(c);
      while (live.length > 0) {
        // The run whose current record is least (a handful of runs: a linear scan beats a heap).
        let best = 0;
        for (let k = 1; k < live.length; k++) {
          if (compareRecords(live[k]!.buf, live[k]!.at, live[best]!.buf, live[best]!.at) < 0) best = k;
        }
        const c = live[best]!;
        yield [c.buf, c.at];
        c.at += RECORD;
        if (c.at >= c.buf.length && !(await this.refill(c))) live.splice(best, 1);
      }
    } finally {
      this.held.add(-readBytes);
    }
  }

  /** Reads the run's next window; false when it is spent. */
  private async refill(c: RunCursor): Promise<boolean> {
    if (c.part === null) return c.at < c.buf.length;
    if (c.left === 0) return false;
    const n = Math.min(READ_RECORDS, c.left);
    c.buf = await this.spill!.read(c.part, c.next * RECORD, (c.next + n) * RECORD);
    if (c.buf.length !== n * RECORD) throw new Error(`spilled part ${c.part} is shorter than written`);
    c.at = 0;
    c.next += n;
    c.left -= n;
    return true;
  }

  /** Sorts what is buffered, for `merged` (again after more records are added). */
  sortForMerge(): void {
    this.sortBuffered();
  }
}

/** The entry number of the record at buf[at..]. */
export const entryOf = (buf: Uint8Array, at: number) =>
  ((buf[at + 20]! << 24) | (buf[at + 21]! << 16) | (buf[at + 22]! << 8) | buf[at + 23]!) >>> 0;

/**
 * Writes the version 2 .idx (gitformat-pack) of the records to `write`, in chunks: header and
 * fan-out, then the sorted ids, their CRCs, their offsets and the large offsets, each section one
 * merge of the records, then the pack's checksum and the index's own. Returns its length.
 */
export async function writeIndexFromRecords(
  records: IndexRecords,
  offsets: ArrayLike<number>,
  crcs: Uint32Array,
  packChecksum: Uint8Array,
  write: (chunk: Uint8Array) => Promise<void>,
  pacer: Pacer,
): Promise<number> {
  const n = records.total;
  let bigCount = 0;
  for (let i = 0; i < n; i++) if (offsets[i]! >= 0x80000000) bigCount++;
  const size = 8 + 1024 + n * 28 + bigCount * 8 + 40;
  const hash = sha1();
  let chunk = new Uint8Array(Math.min(OUT_CHUNK, size));
  let view = new DataView(chunk.buffer);
  let used = 0;
  let written = 0;
  const flush = async () => {
    if (used === 0) return;
    const out = chunk.subarray(0, used);
    hash.update(out);
    written += used;
    await write(out);
    // The writer may keep the chunk until its part is full: a new one, not the same reused.
    chunk = new Uint8Array(Math.min(OUT_CHUNK, Math.max(size - written, 1)));
    view = new DataView(chunk.buffer);
    used = 0;
  };
  const room = async (bytes: number) => {
    if (used + bytes > chunk.length) await flush();
  };
  const u32 = async (v: number) => {
    await room(4);
    view.setUint32(used, v);
    used += 4;
  };
  chunk.set(MAGIC, 0);
  used = 4;
  await u32(2);
  let cumulative = 0;
  for (let b = 0; b < 256; b++) await u32((cumulative += records.firstBytes[b]!));
  // Ids, checking that none comes twice.
  const previous = new Uint8Array(20);
  let count = 0;
  for await (const [buf, at] of records.merged()) {
    if (count > 0 && compareRecords(previous, 0, buf, at) === 0) throw corruptPack("pack has the same object twice");
    previous.set(buf.subarray(at, at + 20));
    await room(20);
    chunk.set(buf.subarray(at, at + 20), used);
    used += 20;
    count++;
    const paused = pacer.tick(20);
    if (paused) await paused;
  }
  for await (const [buf, at] of records.merged()) {
    await u32(crcs[entryOf(buf, at)]!);
    const paused = pacer.tick(4);
    if (paused) await paused;
  }
  let big = 0;
  for await (const [buf, at] of records.merged()) {
    const offset = offsets[entryOf(buf, at)]!;
    await u32(offset < 0x80000000 ? offset : (0x80000000 | big++) >>> 0);
    const paused = pacer.tick(4);
    if (paused) await paused;
  }
  if (bigCount > 0) {
    for await (const [buf, at] of records.merged()) {
      const offset = offsets[entryOf(buf, at)]!;
      if (offset < 0x80000000) continue;
      await u32(Math.floor(offset / 2 ** 32));
      await u32(offset >>> 0);
    }
  }
  await room(40);
  chunk.set(packChecksum, used);
  used += 20;
  hash.update(chunk.subarray(0, used));
  chunk.set(hash.digest(), used);
  used += 20;
  written += used;
  await write(chunk.subarray(0, used));
  if (written !== size) throw new Error(`pack index is ${written} bytes, expected ${size}`);
  return size;
}
