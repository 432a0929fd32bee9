// Indexes a pack with bounded memory (what `git index-pack` does): one sequential pass that checks
// the framing, inflates every entry, hashes whole objects and the pack; then delta resolution,
// base first, each base kept only while its deltas are resolved; then the .idx, written as a
// stream from sorted runs of its records (spilled to storage past a budget). Thin packs get their
// missing bases from the repository and report them, so the caller can complete the pack.
import { Pacer } from "../utils/pace";
import { applyDelta, ResultBuffers } from "./delta";
import { corruptPack, GitError } from "./errors";
import { bytesToHex, ObjectHasher, sha1, type Oid } from "./oid";
import {
  OBJ_BLOB,
  OBJ_OFS_DELTA,
  OBJ_REF_DELTA,
  PACK_HEADER_SIZE,
  parseEntryHeader,
  parsePackHeader,
  typeName,
  typeNumber,
} from "./pack-format";
import { deletingAll, entryOf, HeldBytes, IndexRecords, writeIndexFromRecords } from "./index-records";
import type { RangeSource } from "./range-source";
import { InflateScratch, inflateAt, InflateError, PieceInflater, PIECES_OVER } from "./zlib";
import { Cursor, hashRange, inflateFromCursor } from "./pack-reading";
import { concatBytes } from "../utils/bytes";
import { Entries, REF_BASE } from "./pack-entries";
import type { IndexOptions, IndexResult, StreamedIndexResult, StreamOptions } from "./pack-indexer-types";

export type { IndexOptions, IndexResult, StreamedIndexResult, StreamOptions };
import { PackWindows } from "./pack-windows";

/** Objects larger than this must be blobs (inflated in pieces and hashed, never held whole). */
const STREAM_INFLATE_THRESHOLD = 32 * 1024 * 1024;
/**
 * Work between two yields to the event loop. Indexing a large pack is seconds of CPU with few
 * awaits that really wait (reads come from memory or in 8 MiB chunks); without yields it holds
 * up every other request of the isolate, and locally, where one workerd thread runs all workers,
 * every page of the forge.
 */
const YIELD_OBJECTS = 64;
/**
 * 1 MiB, not 4: with 4 MiB (inflated plus hashed) a slice took 100 to 150 ms on the loaded 2-core
 * machine, and pages waited that long during an import (bench:scale, "during uploads").
 */
const YIELD_BYTES = 1024 * 1024;
/** Entries sorted or written between two yields while the .idx is made (a few ms of work). */
const INDEX_SLICE_ENTRIES = 16384;
/**
 * Bytes of .idx records (id and entry number) held before a sorted run is spilled, when the caller
 * gives a spill store: 4 MiB is about 70,000 objects a run, 13 runs for 900,000 objects.
 */
export const RECORD_BUDGET = 4 * 1024 * 1024;

/** The most a pack may declare: a guard against headers that promise absurd counts. */
const MAX_OBJECTS = 50_000_000;
/** Reused buffers of resolved deltas, one per depth of a chain (larger results get their own). */
const RESULT_BUDGET = 4 * 1024 * 1024;

/** Indexes a pack and returns its .idx whole (small packs, tests, tools). */
export async function indexPack(source: RangeSource, opts: IndexOptions = {}): Promise<IndexResult> {
  const chunks: Uint8Array[] = [];
  const r = await indexPackTo(source, { ...opts, writeIndex: async (chunk) => void chunks.push(chunk.slice()) });
  return {
    checksum: r.checksum,
    count: r.count,
    index: concatBytes(chunks),
    missingBases: r.missingBases,
    basesFirst: r.basesFirst,
  };
}

function compareAt(a: Uint8Array, at: number, b: Uint8Array, bt: number): number {
  for (let k = 0; k < 20; k++) {
    const d = a[at + k]! - b[bt + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Indexes a pack, writing its .idx to opts.writeIndex as a stream. */
export async function indexPackTo(source: RangeSource, opts: StreamOptions): Promise<StreamedIndexResult> {
  const cursor = new Cursor(source);
  const spill = opts.spill && deletingAll(opts.spill);
  try {
    return await indexWith(source, cursor, { ...opts, spill });
  } finally {
    // Neither spilled runs nor an open read of the pack outlive the indexing, whether it
    // succeeded or the pack was refused.
    await cursor.close();
    await spill?.deleteAll();
  }
}

async function indexWith(source: RangeSource, cursor: Cursor, opts: StreamOptions): Promise<StreamedIndexResult> {
  if (source.size < PACK_HEADER_SIZE + 20) throw corruptPack("pack is truncated (shorter than its header and trailer)");
  await cursor.ensure(0, PACK_HEADER_SIZE);
  const { count } = parsePackHeader(cursor.buf.subarray(0, PACK_HEADER_SIZE));
  if (count > MAX_OBJECTS) throw corruptPack(`pack claims ${count} objects`);
  // Every entry takes at least 2 bytes (header and zlib stream): a count the size cannot hold is
  // refused before the columns are allocated for it.
  if (count > (source.size - PACK_HEADER_SIZE - 20) / 2)
    throw corruptPack(`pack claims ${count} objects but is only ${source.size} bytes`);
  const packHash = sha1();
  packHash.update(cursor.buf.subarray(0, PACK_HEADER_SIZE));
  const dataEnd = source.size - 20;
  const held = new HeldBytes();
  const e = new Entries(count, source.size, held);
  const records = new IndexRecords(opts.spill ?? null, opts.recordBudget ?? RECORD_BUDGET, held);
  /** OFS_DELTA: the base's entry number, -1 otherwise (pass 1 only: pass 2 has the children). */
  let ofsBases: Int32Array | null = new Int32Array(count).fill(-1);
  held.add(ofsBases.byteLength);
  const oid = new Uint8Array(20);
  // Every object's id is hashed into the hasher's one buffer (no stream, string or buffer each).
  const hasher = new ObjectHasher();
  const wanted = opts.wanted && opts.onWanted ? opts.wanted : null;
  const noteWanted = (id: Uint8Array, type: number, data: Uint8Array | null) => {
    if (wanted?.has(id)) opts.onWanted!(id, typeName(type), data);
  };
  // Entries not kept are inflated into one reused buffer: no array buffer per object.
  const scratch = new InflateScratch();
  const pieceInflater = new PieceInflater();

  // Pass 1: framing, inflation, hashes of whole objects and of the pack. Small inflated entries
  // are kept (within a budget) so the second pass need not read and inflate them again.
  const pacer = new Pacer(YIELD_OBJECTS, YIELD_BYTES);
  let pos = PACK_HEADER_SIZE;
  for (let n = 0; n < count; n++) {
    if (pos >= dataEnd) throw corruptPack(`pack ends after ${n} of ${count} objects`);
    await cursor.ensure(pos, 64);
    const header = parseEntryHeader(
      cursor.buf.subarray(0, Math.min(cursor.buf.length, dataEnd - cursor.base)),
      cursor.at(pos),
      pos,
    );
    if (!header) throw corruptPack(`pack ends inside the header of object ${n}`);
    e.offsets[n] = pos;
    e.packTypes[n] = header.type;
    if (header.type === OBJ_OFS_DELTA) {
      const base = e.atOffset(header.baseOffset!, n);
      if (base < 0) throw corruptPack(`delta at ${pos} points inside another object`);
      ofsBases[n] = base;
    } else if (header.type === OBJ_REF_DELTA) e.addRef(n, header.baseOid!);
    const dataStart = pos + header.headerLength;
    let end: number;
    let crc: number | null = null;
    const isDelta = header.type === OBJ_OFS_DELTA || header.type === OBJ_REF_DELTA;
    if (header.size > STREAM_INFLATE_THRESHOLD && header.type !== OBJ_BLOB) {
      throw new GitError(
        "too_large",
        `object of ${header.size} bytes at offset ${pos} is too large (only blobs may be this big)`,
      );
    }
    if (header.size > PIECES_OVER && (isDelta || header.type === OBJ_BLOB)) {
      // Large blobs are only hashed and large deltas only skipped here (neither is kept): inflated
      // in pieces as they are read, neither the entry nor the object ever whole in memory.
      const hash = isDelta ? null : hasher.start(typeName(header.type), header.size);
      const entry = { n, pos, dataStart, dataEnd, size: header.size };
      ({ end, crc } = await inflateFromCursor(
        cursor,
        pieceInflater,
        entry,
        packHash,
        hash ? (p) => void hash.update(p) : undefined,
        pacer,
      ));
      if (hash) {
        e.types[n] = header.type;
        noteWanted(hash.finish(), header.type, null);
        const p = records.add(hash.id, 0, n);
        if (p) await p;
      }
    } else {
      let data: Uint8Array;
      let want = Math.max(header.size + 64, 4096);
      for (;;) {
        await cursor.ensure(pos, header.headerLength + want);
        const limit = Math.min(cursor.buf.length, dataEnd - cursor.base);
        try {
          const r = inflateAt(cursor.buf.subarray(0, limit), cursor.at(dataStart), header.size, scratch);
          data = r.data;
          end = dataStart + r.consumed;
          break;
        } catch (err) {
          if (err instanceof InflateError && err.truncated && cursor.base + limit < dataEnd) {
            want *= 2;
            continue;
          }
          if (err instanceof InflateError && err.truncated) {
            throw corruptPack(`pack is truncated: object ${n} at offset ${pos} is cut short`);
          }
          if (err instanceof InflateError) throw corruptPack(`object ${n} at offset ${pos}: ${err.message}`);
          throw err;
        }
      }
      if (!isDelta) {
        const type = typeName(header.type);
        opts.onObject?.(type, data);
        e.types[n] = header.type;
        noteWanted(hasher.hash(type, data), header.type, data);
        const p = records.add(hasher.id, 0, n);
        if (p) await p;
      }
      if (isDelta || header.type !== OBJ_BLOB || data.length < 65536) e.keep(n, data);
    }
    // The entry's raw bytes feed the pack hash and its CRC (an entry inflated in pieces fed them).
    e.crcs[n] = crc ?? (await hashRange(source, cursor, pos, end, packHash));
    // An entry inflated in pieces had its bytes counted piece by piece.
    await pacer.tick(crc === null ? end - pos + header.size : 0);
    pos = end;
    opts.onProgress?.(n + 1, count);
  }
  if (pos !== dataEnd) {
    throw corruptPack(pos < dataEnd ? `${dataEnd - pos} bytes of garbage after the last object` : "pack is truncated");
  }
  e.offsets[count] = dataEnd;
  const trailer = await source.read(dataEnd, dataEnd + 20);
  const digest = packHash.digest();
  if (trailer.length !== 20 || !digest.equals(trailer)) throw corruptPack("pack checksum mismatch (bad trailer)");
  const checksum = bytesToHex(trailer);

  // Pass 2: deltas, from each base to its deltas, depth first. Children of a base: OFS_DELTAs as
  // ranges of one array grouped by base entry (a counting sort that leaves ofsStart[b] at the
  // start of b's range and ofsStart[b + 1] at its end), REF_DELTAs as ranges of their numbers
  // sorted by base id (binary search).
  const ofsStart = new Int32Array(count + 1);
  let deltas = 0;
  for (let i = 0; i < count; i++) {
    if (ofsBases[i]! < 0) continue;
    ofsStart[ofsBases[i]!]!++;
    deltas++;
  }
  for (let i = 0, sum = 0; i < count; i++) ofsStart[i] = sum += ofsStart[i]!;
  ofsStart[count] = deltas;
  const ofsKids = new Int32Array(deltas);
  for (let i = count - 1; i >= 0; i--) if (ofsBases[i]! >= 0) ofsKids[--ofsStart[ofsBases[i]!]!] = i;
  held.add(ofsStart.byteLength + ofsKids.byteLength - ofsBases.byteLength);
  ofsBases = null;
  const refOids = e.refOids;
  const refKids = new Uint32Array(e.refCount);
  for (let k = 0; k < refKids.length; k++) refKids[k] = k;
  refKids.sort((a, b) => compareAt(refOids, a * 20, refOids, b * 20));
  if (refKids.length > 0) {
    // Which entries of the first pass are bases of REF_DELTAs: one merge of their records with the
    // sorted base ids (the ids themselves are not kept per entry).
    let p = 0;
    for await (const [buf, at] of records.merged()) {
      while (p < refKids.length && compareAt(refOids, refKids[p]! * 20, buf, at) < 0) p++;
      if (p === refKids.length) break;
      if (compareAt(refOids, refKids[p]! * 20, buf, at) === 0) e.types[entryOf(buf, at)]! |= REF_BASE;
    }
  }
  /** First position in refKids whose base id is >= the id at key[at..at+20). */
  const refLowerBound = (key: Uint8Array, at: number): number => {
    let lo = 0;
    let hi = refKids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareAt(refOids, refKids[mid]! * 20, key, at) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const hasRefKids = (key: Uint8Array, at: number): boolean => {
    if (refKids.length === 0) return false;
    const p = refLowerBound(key, at);
    return p < refKids.length && compareAt(refOids, refKids[p]! * 20, key, at) === 0;
  };

  // Entries are read again through windows in the first pass's buffer, filled in place.
  const windows = new PackWindows(source, { buffer: await cursor.release() });
  // Bases at the top of the resolution (one at a time) are inflated into a buffer of their own.
  const baseScratch = new InflateScratch();
  /** Entry i's inflated bytes, in `into` (valid until its next use) when small enough. */
  const inflateEntry = async (i: number, into: InflateScratch): Promise<Uint8Array> => {
    const kept = e.kepts(i);
    if (kept) return kept;
    const bytes = await windows.read(e.offsets[i]!, e.offsets[i + 1]!);
    const header = parseEntryHeader(bytes, 0, e.offsets[i]!)!;
    return inflateAt(bytes, header.headerLength, header.size, into).data;
  };

  let basesFirst = true;
  // A resolved object is done with once its own deltas are: it goes into its depth's buffer.
  const results = new ResultBuffers(RESULT_BUDGET);
  let depth = 0;
  const resolveChild = async (child: number, base: number, type: number, content: Uint8Array) => {
    const before = results.held;
    const data = applyDelta(content, await inflateEntry(child, scratch), (size) => results.at(depth, size));
    held.add(results.held - before);
    e.forget(child);
    const name = typeName(type);
    e.types[child] = type;
    // Valid until the next object is hashed: resolveChildren copies it before it resolves any.
    const id = hasher.hash(name, data);
    noteWanted(id, type, data);
    const p = records.add(id, 0, child);
    if (p) await p;
    if (e.packTypes[child] === OBJ_REF_DELTA && (base < 0 || e.offsets[base]! > e.offsets[child]!)) basesFirst = false;
    opts.onObject?.(name, data);
    await pacer.tick(data.length);
    if (ofsStart[child + 1]! > ofsStart[child]! || hasRefKids(id, 0)) {
      depth++;
      try {
        await resolveChildren(child, id, type, data);
      } finally {
        depth--;
      }
    }
  };
  /** Resolves the deltas of a base: entry `base` (or -1 outside the pack) with id `key` (null: no REF_DELTA names it). */
  const resolveChildren = async (base: number, key: Uint8Array | null, type: number, content: Uint8Array): Promise<void> => {
    // A copy, made before any child is hashed: the key is the hasher's buffer (or one the
    // recursion below reuses). Only packs with REF_DELTAs need it.
    const id = refKids.length > 0 && key !== null ? key.slice() : null;
    if (base >= 0) {
      e.forget(base);
      for (let k = ofsStart[base]!; k < ofsStart[base + 1]!; k++) await resolveChild(ofsKids[k]!, base, type, content);
    }
    if (id === null) return;
    for (let p = refLowerBound(id, 0); p < refKids.length && compareAt(refOids, refKids[p]! * 20, id, 0) === 0; p++) {
      const child = e.refEntries[refKids[p]!]!;
      if (e.types[child] === 0) await resolveChild(child, base, type, content);
    }
  };

  for (let i = 0; i < count; i++) {
    if (e.packTypes[i] === OBJ_OFS_DELTA || e.packTypes[i] === OBJ_REF_DELTA) continue;
    const refBase = (e.types[i]! & REF_BASE) !== 0;
    if (ofsStart[i + 1]! === ofsStart[i]! && !refBase) continue;
    const type = e.types[i]! & ~REF_BASE;
    const content = await inflateEntry(i, baseScratch);
    // Ids are not kept per entry: a REF_DELTA's base is hashed again (a few, in full packs).
    if (refBase) oid.set(hasher.hash(typeName(type), content));
    await resolveChildren(i, refBase ? oid : null, type, content);
  }
  // What is left are REF_DELTAs on bases outside the pack (a thin pack), and their descendants.
  const missingBases: Oid[] = [];
  const baseOid = new Uint8Array(20);
  for (let p = 0; p < refKids.length; ) {
    const first = refKids[p]!;
    let next = p + 1;
    while (next < refKids.length && compareAt(refOids, refKids[next]! * 20, refOids, first * 20) === 0) next++;
    if (e.types[e.refEntries[first]!] === 0) {
      baseOid.set(refOids.subarray(first * 20, first * 20 + 20));
      const hex = bytesToHex(baseOid);
      const external = opts.external ? await opts.external(hex) : null;
      if (external) {
        missingBases.push(hex);
        await resolveChildren(-1, baseOid, typeNumber(external.type), external.data);
      }
    }
    p = next;
  }
  let unresolved = 0;
  let firstMissing: string | null = null;
  for (let i = 0; i < count; i++) if (e.types[i] === 0) unresolved++;
  for (let k = 0; k < e.refCount && firstMissing === null; k++) {
    if (e.types[e.refEntries[k]!] === 0) firstMissing = bytesToHex(refOids, k * 20, k * 20 + 20);
  }
  if (unresolved > 0) {
    throw corruptPack(`${unresolved} deltas could not be resolved${firstMissing ? ` (missing base ${firstMissing})` : ""}`);
  }

  // The .idx is written with none of the second pass's buffers held.
  const secondPassReads = windows.reads;
  // The read buffer goes on to the .idx writer, if it wants it: at the end of a large import the
  // columns and buffers of the passes are garbage not collected yet, and a part buffer of the
  // writer's own (grown by doubling to 8 MiB) came on top of them.
  const spare = windows.release();
  opts.spareBuffer?.(spare);
  e.dropKept();
  const indexSize = await writeIndexFromRecords(
    records,
    e.offsets,
    e.crcs,
    trailer,
    opts.writeIndex,
    new Pacer(INDEX_SLICE_ENTRIES, YIELD_BYTES),
  );
  return {
    checksum,
    count,
    missingBases,
    basesFirst,
    indexSize,
    peakHeldBytes: held.peak,
    spilledRuns: records.spilledRuns,
    secondPassReads,
    readBufferBytes: cursor.largest,
  };
}
