// The .idx of a pack being indexed, with bounded memory: (id, entry number) records in spill runs
// (git/spill.ts: sorted runs of a fixed budget spilled to storage when they outgrow it, as git
// index-pack spills to disk), merged back in id order into the .idx, written as a stream, section by section.
import { corruptPack } from "./errors";
import { sha1 } from "./oid";
import type { Pacer } from "../utils/pace";
import { compareRecords, SpillRuns, type SpillStore } from "./spill";
import { MemorySpillStore } from "./spill-memory";

export type { SpillStore };

/**
 * The spill store as the indexer uses it: it remembers every part put (a failed put too), so that
 * all are deleted however indexing ends, after the writes still under way (spill runs write in
 * the background: a part deleted before its put lands would stay).
 */
export function deletingAll(store: SpillStore): SpillStore & { deleteAll(): Promise<void> } {
  const put = new Set<number>();
  const writing = new Set<Promise<void>>();
  return {
    put(part, bytes) {
      put.add(part);
      const write = store.put(part, bytes);
      const done = () => void writing.delete(write);
      writing.add(write);
      write.then(done, done);
      return write;
    },
    read: (part, start, end) => store.read(part, start, end),
    readInto: store.readInto && ((part, start, into) => store.readInto!(part, start, into)),
    async delete(parts) {
      await store.delete(parts);
      for (const part of parts) put.delete(part);
    },
    async deleteAll() {
      while (writing.size > 0) await Promise.allSettled([...writing]);
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
/** Bytes of .idx handed to the writer at a time. */
const OUT_CHUNK = 256 * 1024;
const MAGIC = [0xff, 0x74, 0x4f, 0x63];

/** The .idx records of a pack: spill runs of 24 bytes keyed by the id, repeats kept (a pack with an object twice is refused). */
export class IndexRecords {
  private readonly runs: SpillRuns;
  private readonly record = new Uint8Array(RECORD);
  /** Records added, and per first byte of the id (the .idx's fan-out table). */
  total = 0;
  readonly firstBytes = new Uint32Array(256);

  /**
   * With a spill store, at most `budget` bytes of records are held (git/spill.ts); without one
   * (small packs, tests), the runs are kept in memory.
   */
  constructor(spill: SpillStore | null, budget: number, held: HeldBytes) {
    const store = spill ?? new MemorySpillStore();
    this.runs = new SpillRuns({ width: RECORD, keyWidth: 20, distinct: false, budget, store, held });
  }

  get spilledRuns(): number {
    return this.runs.runsSpilled;
  }

  /** Adds the record of the object at entry `entry` with id oid[at..at+20). Await what it returns. */
  add(oid: Uint8Array, at: number, entry: number): Promise<void> | undefined {
    const r = this.record;
    r.set(oid.subarray(at, at + 20));
    r[20] = entry >>> 24;
    r[21] = (entry >>> 16) & 255;
    r[22] = (entry >>> 8) & 255;
    r[23] = entry & 255;
    this.total++;
    this.firstBytes[oid[at]!]!++;
    return this.runs.add(r);
  }

  /**
   * Every record in id order, as (buffer, byte position) of the record; more may be added after.
   * Can run several times (once per section of the .idx).
   */
  async *merged(): AsyncGenerator<[Uint8Array, number]> {
    for await (const batch of this.runs.merged()) {
      for (let at = 0; at < batch.length; at += RECORD) yield [batch, at];
    }
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
  const chunk = new Uint8Array(Math.min(OUT_CHUNK, size));
  const view = new DataView(chunk.buffer);
  let used = 0;
  let written = 0;
  const flush = async () => {
    if (used === 0) return;
    const out = chunk.subarray(0, used);
    hash.update(out);
    written += used;
    // The writer copies what it keeps: one chunk buffer serves the whole .idx.
    await write(out);
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
    if (count > 0 && compareRecords(previous, 0, buf, at, 20) === 0) throw corruptPack("pack has the same object twice");
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
