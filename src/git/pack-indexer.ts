// Indexes a pack with bounded memory (what `git index-pack` does): one sequential pass that checks
// the framing, inflates every entry, hashes whole objects and the pack; then delta resolution,
// base first, each base kept only while its deltas are resolved. Thin packs get their missing
// bases from the repository and report them, so the caller can complete the pack.
import { Pacer } from "../utils/pace";
import { applyDelta } from "./delta";
import { corruptPack, GitError } from "./errors";
import type { GitObject } from "./object-store";
import { bytesToHex, hashObject, hexInto, sha1, type ObjectType, type Oid } from "./oid";
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
import { writePackIndexPaced } from "./pack-index";
import type { RangeSource } from "./range-source";
import { inflateAt, InflateError } from "./zlib";
import { Cursor, hashRange, inflateStream } from "./pack-reading";

/** Objects larger than this are inflated in a stream (hashed, never held whole). */
const STREAM_INFLATE_THRESHOLD = 32 * 1024 * 1024;
/**
 * Inflated entries kept from the first pass for the second (deltas and their bases), at most: in
 * one arena, not one small array per entry (hundreds of thousands of tiny deltas would cost far
 * more in per-object overhead than in bytes). 8 MiB, not more: the rest is re-read through the
 * window cache, and on the 320,185-object benchmark 24 MiB raised the push isolate's peak (heap
 * plus array buffers, after collection) from 134 to 165 MiB for little speed.
 */
const KEEP_BUDGET = 8 * 1024 * 1024;
const KEEP_MAX_ENTRY = 256 * 1024;
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

/** The most a pack may declare: a guard against headers that promise absurd counts. */
const MAX_OBJECTS = 50_000_000;

export interface IndexResult {
  /** Trailer checksum of the pack: its name is pack-<checksum>. */
  checksum: Oid;
  count: number;
  /** The .idx (version 2) bytes: also the list of the pack's objects (PackIndex reads them). */
  index: Uint8Array;
  /** Bases of REF_DELTA entries that are not in the pack (a thin pack), in id order. */
  missingBases: Oid[];
  /**
   * Every delta's base is in the pack, before it: clients may be sent the pack as it is (some,
   * isomorphic-git among them, miscount objects when a REF_DELTA's base comes later).
   */
  basesFirst: boolean;
}

export interface IndexOptions {
  /** Objects outside the pack that thin deltas may use as bases; null when absent. */
  external?: (oid: Oid) => Promise<GitObject | null>;
  onProgress?: (done: number, total: number) => void;
  /** Sees every object of the pack once, whole (e.g. to collect what it links to). */
  onObject?: (type: ObjectType, data: Uint8Array) => void;
}

/**
 * What the indexer knows of each entry, in columns of typed arrays indexed by pack order: a few
 * dozen bytes per object and no JS object each (a pack of 850,000 objects would otherwise cost
 * hundreds of MB in per-entry objects, maps and hex strings).
 */
class Entries {
  /** Offset of each entry; offsets[count] is where the trailer starts (so an entry ends at the next offset). */
  readonly offsets: Float64Array;
  readonly headerLengths: Uint8Array;
  /** Inflated size (of the delta, for a delta). */
  readonly sizes: Float64Array;
  /** The entry's type in the pack (OBJ_*). */
  readonly packTypes: Uint8Array;
  /** The object's type number once known (0 until a delta is resolved). */
  readonly types: Uint8Array;
  /** 20-byte ids, valid where types[i] != 0. */
  readonly oids: Uint8Array;
  readonly crcs: Uint32Array;
  /** OFS_DELTA: the base's entry number; -1 otherwise. */
  readonly ofsBases: Int32Array;
  /** REF_DELTA: the base's id (allocated at the first REF_DELTA: full packs rarely have any). */
  refBases: Uint8Array | null = null;
  /** Start of each entry's inflated bytes in `kept`, or -1. */
  readonly keptAt: Float64Array;
  kept = new Uint8Array(0);
  keptBytes = 0;

  constructor(readonly count: number) {
    this.offsets = new Float64Array(count + 1);
    this.headerLengths = new Uint8Array(count);
    this.sizes = new Float64Array(count);
    this.packTypes = new Uint8Array(count);
    this.types = new Uint8Array(count);
    this.oids = new Uint8Array(count * 20);
    this.crcs = new Uint32Array(count);
    this.ofsBases = new Int32Array(count).fill(-1);
    this.keptAt = new Float64Array(count).fill(-1);
  }

  oid(i: number): Uint8Array {
    return this.oids.subarray(i * 20, i * 20 + 20);
  }

  /** Keeps entry i's inflated bytes for the second pass if the budget allows. */
  keep(i: number, data: Uint8Array): void {
    if (data.length > KEEP_MAX_ENTRY || this.keptBytes + data.length > KEEP_BUDGET) return;
    if (this.keptBytes + data.length > this.kept.length) {
      // Grows by doubling up to the budget: a small push never allocates the whole budget.
      let size = Math.max(64 * 1024, this.kept.length * 2);
      while (size < this.keptBytes + data.length) size *= 2;
      const next = new Uint8Array(Math.min(KEEP_BUDGET, size));
      next.set(this.kept.subarray(0, this.keptBytes));
      this.kept = next;
    }
    this.kept.set(data, this.keptBytes);
    this.keptAt[i] = this.keptBytes;
    this.keptBytes += data.length;
  }

  /** The entry whose offset is exactly `offset`, or -1 (offsets ascend: binary search). */
  atOffset(offset: number, below: number): number {
    let lo = 0;
    let hi = below;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < below && this.offsets[lo] === offset ? lo : -1;
  }
}

function compareAt(a: Uint8Array, at: number, b: Uint8Array, bt: number): number {
  for (let k = 0; k < 20; k++) {
    const d = a[at + k]! - b[bt + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

export async function indexPack(source: RangeSource, opts: IndexOptions = {}): Promise<IndexResult> {
  if (source.size < PACK_HEADER_SIZE + 20) throw corruptPack("pack is truncated (shorter than its header and trailer)");
  const cursor = new Cursor(source);
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
  const e = new Entries(count);
  let refDeltas = 0;

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
    e.headerLengths[n] = header.headerLength;
    e.sizes[n] = header.size;
    e.packTypes[n] = header.type;
    if (header.type === OBJ_OFS_DELTA) {
      const base = e.atOffset(header.baseOffset!, n);
      if (base < 0) throw corruptPack(`delta at ${pos} points inside another object`);
      e.ofsBases[n] = base;
    } else if (header.type === OBJ_REF_DELTA) {
      e.refBases ??= new Uint8Array(count * 20);
      hexInto(header.baseOid!, e.refBases.subarray(n * 20, n * 20 + 20));
      refDeltas++;
    }
    const dataStart = pos + header.headerLength;
    let end: number;
    if (header.size > STREAM_INFLATE_THRESHOLD) {
      const streamed = await inflateStream(source, dataStart, dataEnd, header, pos);
      end = streamed.end;
      if (header.type !== OBJ_BLOB) {
        throw new GitError(
          "too_large",
          `object of ${header.size} bytes at offset ${pos} is too large (only blobs may be this big)`,
        );
      }
      e.types[n] = OBJ_BLOB;
      hexInto(streamed.oid!, e.oid(n));
    } else {
      let data: Uint8Array;
      let want = Math.max(header.size + 64, 4096);
      for (;;) {
        await cursor.ensure(pos, header.headerLength + want);
        const limit = Math.min(cursor.buf.length, dataEnd - cursor.base);
        try {
          const r = inflateAt(cursor.buf.subarray(0, limit), cursor.at(dataStart), header.size);
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
      const isDelta = header.type === OBJ_OFS_DELTA || header.type === OBJ_REF_DELTA;
      if (!isDelta) {
        const type = typeName(header.type);
        opts.onObject?.(type, data);
        e.types[n] = header.type;
        hexInto(hashObject(type, data), e.oid(n));
      }
      if (isDelta || header.type !== OBJ_BLOB || data.length < 65536) e.keep(n, data);
    }
    // The entry's raw bytes feed the pack hash and its CRC.
    e.crcs[n] = await hashRange(source, cursor, pos, end, packHash);
    await pacer.tick(end - pos + header.size);
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
  // ranges of one array grouped by base entry (counting sort), REF_DELTAs as ranges of their
  // entry numbers sorted by base id (binary search).
  const ofsStart = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) if (e.ofsBases[i]! >= 0) ofsStart[e.ofsBases[i]! + 1]!++;
  for (let i = 0; i < count; i++) ofsStart[i + 1]! += ofsStart[i]!;
  const ofsKids = new Int32Array(ofsStart[count]!);
  {
    const fill = ofsStart.slice(0, count);
    for (let i = 0; i < count; i++) if (e.ofsBases[i]! >= 0) ofsKids[fill[e.ofsBases[i]!]!++] = i;
  }
  const refKids = new Uint32Array(refDeltas);
  if (e.refBases) {
    const bases = e.refBases;
    let k = 0;
    for (let i = 0; i < count; i++) if (e.packTypes[i] === OBJ_REF_DELTA) refKids[k++] = i;
    refKids.sort((a, b) => compareAt(bases, a * 20, bases, b * 20));
  }
  /** First position in refKids whose base id is >= the id at key[at..at+20). */
  const refLowerBound = (key: Uint8Array, at: number): number => {
    let lo = 0;
    let hi = refKids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareAt(e.refBases!, refKids[mid]! * 20, key, at) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const hasRefKids = (key: Uint8Array, at: number): boolean => {
    if (refKids.length === 0) return false;
    const p = refLowerBound(key, at);
    return p < refKids.length && compareAt(e.refBases!, refKids[p]! * 20, key, at) === 0;
  };

  const inflateEntry = async (i: number): Promise<Uint8Array> => {
    const at = e.keptAt[i]!;
    if (at >= 0) return e.kept.subarray(at, at + e.sizes[i]!);
    const bytes = await source.read(e.offsets[i]!, e.offsets[i + 1]!);
    return inflateAt(bytes, e.headerLengths[i]!, e.sizes[i]!).data;
  };

  let basesFirst = true;
  const baseOid = new Uint8Array(20);
  const resolveChild = async (child: number, base: number, type: number, content: Uint8Array) => {
    const data = applyDelta(content, await inflateEntry(child));
    e.keptAt[child] = -1;
    const name = typeName(type);
    e.types[child] = type;
    hexInto(hashObject(name, data), e.oid(child));
    if (e.packTypes[child] === OBJ_REF_DELTA && (base < 0 || e.offsets[base]! > e.offsets[child]!)) basesFirst = false;
    opts.onObject?.(name, data);
    await pacer.tick(data.length);
    if (ofsStart[child + 1]! > ofsStart[child]! || hasRefKids(e.oids, child * 20))
      await resolveChildren(child, e.oids, child * 20, type, data);
  };
  /** Resolves the deltas of a base: entry `base` (or -1 outside the pack) with id key[at..at+20). */
  const resolveChildren = async (base: number, key: Uint8Array, at: number, type: number, content: Uint8Array): Promise<void> => {
    if (base >= 0) {
      e.keptAt[base] = -1;
      for (let k = ofsStart[base]!; k < ofsStart[base + 1]!; k++) await resolveChild(ofsKids[k]!, base, type, content);
    }
    if (refKids.length === 0) return;
    // A copy: the key may be a view of a buffer the recursion below reuses.
    const id = key.slice(at, at + 20);
    for (let p = refLowerBound(id, 0); p < refKids.length && compareAt(e.refBases!, refKids[p]! * 20, id, 0) === 0; p++) {
      const child = refKids[p]!;
      if (e.types[child] === 0) await resolveChild(child, base, type, content);
    }
  };

  for (let i = 0; i < count; i++) {
    if (e.packTypes[i] === OBJ_OFS_DELTA || e.packTypes[i] === OBJ_REF_DELTA) continue;
    if (ofsStart[i + 1]! === ofsStart[i]! && !hasRefKids(e.oids, i * 20)) continue;
    await resolveChildren(i, e.oids, i * 20, e.types[i]!, await inflateEntry(i));
  }
  // What is left are REF_DELTAs on bases outside the pack (a thin pack), and their descendants.
  const missingBases: Oid[] = [];
  for (let p = 0; p < refKids.length; ) {
    const child = refKids[p]!;
    let next = p + 1;
    while (next < refKids.length && compareAt(e.refBases!, refKids[next]! * 20, e.refBases!, child * 20) === 0) next++;
    if (e.types[child] === 0) {
      baseOid.set(e.refBases!.subarray(child * 20, child * 20 + 20));
      const oid = bytesToHex(baseOid);
      const external = opts.external ? await opts.external(oid) : null;
      if (external) {
        missingBases.push(oid);
        await resolveChildren(-1, baseOid, 0, typeNumber(external.type), external.data);
      }
    }
    p = next;
  }
  let unresolved = 0;
  let firstMissing: string | null = null;
  for (let i = 0; i < count; i++) {
    if (e.types[i] !== 0) continue;
    unresolved++;
    if (firstMissing === null && e.packTypes[i] === OBJ_REF_DELTA) firstMissing = bytesToHex(e.refBases!, i * 20, i * 20 + 20);
  }
  if (unresolved > 0) {
    throw corruptPack(`${unresolved} deltas could not be resolved${firstMissing ? ` (missing base ${firstMissing})` : ""}`);
  }

  const index = await writePackIndexPaced(
    e.oids,
    e.offsets.subarray(0, count),
    e.crcs,
    trailer,
    new Pacer(INDEX_SLICE_ENTRIES, YIELD_BYTES),
  );
  return { checksum, count, index, missingBases, basesFirst };
}
