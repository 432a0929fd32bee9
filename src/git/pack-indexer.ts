// Indexes a pack with bounded memory (what `git index-pack` does): one sequential pass that checks
// the framing, inflates every entry, hashes whole objects and the pack; then delta resolution,
// base first, each base kept only while its deltas are resolved. Thin packs get their missing
// bases from the repository and report them, so the caller can complete the pack.
// pako, not node:zlib, for objects too large to inflate whole (inflateStream below): its Inflate
// takes the input piece by piece across async R2 reads, never holds the object, and says where
// the zlib stream ended (strm.avail_in), which the next entry's offset needs; node:zlib offers
// that count only from inflateSync over the whole compressed input. Everything else uses ./zlib.
import { Inflate } from "pako";
import { yieldToOthers } from "./budget";
import { applyDelta } from "./delta";
import { corruptPack, GitError } from "./errors";
import type { GitObject } from "./object-store";
import { bytesToHex, hashObject, hexToBytes, sha1, type ObjectType, type Oid } from "./oid";
import {
  OBJ_BLOB,
  OBJ_OFS_DELTA,
  OBJ_REF_DELTA,
  PACK_HEADER_SIZE,
  parseEntryHeader,
  parsePackHeader,
  typeName,
  type EntryHeader,
} from "./pack-format";
import { writePackIndex } from "./pack-index";
import type { RangeSource } from "./range-source";
import { crc32 } from "./crc32";
import { inflateAt, InflateError } from "./zlib";

/** Sequential reads of this size keep R2 requests few and memory flat. */
const CHUNK = 8 * 1024 * 1024;
/** Objects larger than this are inflated in a stream (hashed, never held whole). */
const STREAM_INFLATE_THRESHOLD = 32 * 1024 * 1024;
/** Inflated entries kept from the first pass for the second (deltas and their bases), at most. */
const KEEP_BUDGET = 32 * 1024 * 1024;
const KEEP_MAX_ENTRY = 256 * 1024;
/**
 * Work between two yields to the event loop. Indexing a large pack is seconds of CPU with few
 * awaits that really wait (reads come from memory or in 8 MiB chunks); without yields it holds
 * up every other request of the isolate, and locally, where one workerd thread runs all workers,
 * every page of the forge.
 */
const YIELD_OBJECTS = 64;
const YIELD_BYTES = 4 * 1024 * 1024;

class Pacer {
  private objects = 0;
  private bytes = 0;
  /** Counts one object of `bytes` bytes; yields once enough work has been done since the last. */
  async tick(bytes: number): Promise<void> {
    this.objects++;
    this.bytes += bytes;
    if (this.objects < YIELD_OBJECTS && this.bytes < YIELD_BYTES) return;
    this.objects = this.bytes = 0;
    await yieldToOthers();
  }
}

/** The most a pack may declare: a guard against headers that promise absurd counts. */
const MAX_OBJECTS = 50_000_000;

export interface IndexedEntry {
  oid: Oid;
  type: ObjectType;
  offset: number;
}

export interface IndexResult {
  /** Trailer checksum of the pack: its name is pack-<checksum>. */
  checksum: Oid;
  count: number;
  /** The .idx (version 2) bytes. */
  index: Uint8Array;
  entries: IndexedEntry[];
  /** Bases of REF_DELTA entries that are not in the pack (a thin pack), in first-use order. */
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

/** Reads a source front to back, keeping only the unread part in memory. */
class Cursor {
  buf = new Uint8Array(0);
  /** Offset in the source of buf[0]. */
  base = 0;
  constructor(private readonly source: RangeSource) {}

  get end(): number {
    return this.base + this.buf.length;
  }

  /** Makes sure bytes up to `offset + n` are buffered (or the source ends); drops bytes before `offset`. */
  async ensure(offset: number, n: number): Promise<void> {
    if (offset > this.base) {
      this.buf = this.buf.subarray(Math.min(offset - this.base, this.buf.length));
      this.base = offset;
    }
    while (this.end < Math.min(offset + n, this.source.size)) {
      const more = await this.source.read(this.end, Math.min(this.source.size, this.end + Math.max(CHUNK, n)));
      if (more.length === 0) break;
      const next = new Uint8Array(this.buf.length + more.length);
      next.set(this.buf);
      next.set(more, this.buf.length);
      this.buf = next;
    }
  }

  at(offset: number): number {
    return offset - this.base;
  }
}

interface Entry {
  offset: number;
  header: EntryHeader;
  end: number;
  crc: number;
  oid: Oid | null;
  type: ObjectType | null;
}

export async function indexPack(source: RangeSource, opts: IndexOptions = {}): Promise<IndexResult> {
  if (source.size < PACK_HEADER_SIZE + 20) throw corruptPack("pack is truncated (shorter than its header and trailer)");
  const cursor = new Cursor(source);
  await cursor.ensure(0, PACK_HEADER_SIZE);
  const { count } = parsePackHeader(cursor.buf.subarray(0, PACK_HEADER_SIZE));
  if (count > MAX_OBJECTS) throw corruptPack(`pack claims ${count} objects`);
  const packHash = sha1();
  packHash.update(cursor.buf.subarray(0, PACK_HEADER_SIZE));
  const dataEnd = source.size - 20;

  // Pass 1: framing, inflation, hashes of whole objects and of the pack. Small inflated entries
  // are kept (within a budget) so the second pass need not read and inflate them again.
  const entries: Entry[] = [];
  const kept = new Map<number, Uint8Array>();
  let keptBytes = 0;
  const pacer = new Pacer();
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
    const dataStart = pos + header.headerLength;
    let end: number;
    let data: Uint8Array | null = null;
    if (header.size > STREAM_INFLATE_THRESHOLD) {
      const streamed = await inflateStream(source, dataStart, dataEnd, header, pos);
      end = streamed.end;
      if (header.type === OBJ_BLOB) {
        entries.push({ offset: pos, header, end, crc: 0, oid: streamed.oid!, type: "blob" });
      } else {
        throw new GitError(
          "too_large",
          `object of ${header.size} bytes at offset ${pos} is too large (only blobs may be this big)`,
        );
      }
    } else {
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
      const type = isDelta ? null : typeName(header.type);
      if (type) opts.onObject?.(type, data);
      if (
        data.length <= KEEP_MAX_ENTRY &&
        keptBytes + data.length <= KEEP_BUDGET &&
        (isDelta || type !== "blob" || data.length < 65536)
      ) {
        // A copy: zlib's output may be a view of a larger buffer, which keeping would pin.
        kept.set(pos, data.slice());
        keptBytes += data.length;
      }
      entries.push({ offset: pos, header, end, crc: 0, oid: type ? hashObject(type, data) : null, type });
    }
    // The entry's raw bytes feed the pack hash and its CRC.
    const entry = entries[entries.length - 1]!;
    entry.crc = await hashRange(source, cursor, pos, end, packHash);
    await pacer.tick(end - pos + header.size);
    pos = end;
    opts.onProgress?.(n + 1, count);
  }
  if (pos !== dataEnd) {
    throw corruptPack(pos < dataEnd ? `${dataEnd - pos} bytes of garbage after the last object` : "pack is truncated");
  }
  const trailer = await source.read(dataEnd, dataEnd + 20);
  const digest = packHash.digest();
  if (trailer.length !== 20 || !digest.equals(trailer)) throw corruptPack("pack checksum mismatch (bad trailer)");
  const checksum = bytesToHex(trailer);

  // Pass 2: deltas, from each base to its deltas, depth first.
  const byOffset = new Map<number, Entry>(entries.map((e) => [e.offset, e]));
  const byOid = new Map<Oid, Entry>();
  for (const e of entries) if (e.oid) byOid.set(e.oid, e);
  const ofsChildren = new Map<number, Entry[]>();
  const refChildren = new Map<Oid, Entry[]>();
  for (const e of entries) {
    if (e.header.type === OBJ_OFS_DELTA) {
      if (!byOffset.has(e.header.baseOffset!)) throw corruptPack(`delta at ${e.offset} points inside another object`);
      push(ofsChildren, e.header.baseOffset!, e);
    } else if (e.header.type === OBJ_REF_DELTA) {
      push(refChildren, e.header.baseOid!, e);
    }
  }

  const inflateEntry = async (e: Entry): Promise<Uint8Array> => {
    const hit = kept.get(e.offset);
    if (hit) return hit;
    const bytes = await source.read(e.offset, e.end);
    return inflateAt(bytes, e.header.headerLength, e.header.size).data;
  };

  const resolveChildren = async (base: Entry | null, baseOid: Oid, type: ObjectType, content: Uint8Array) => {
    const kids = [...(base ? (ofsChildren.get(base.offset) ?? []) : []), ...(refChildren.get(baseOid) ?? [])];
    if (base) ofsChildren.delete(base.offset);
    refChildren.delete(baseOid);
    if (base) kept.delete(base.offset);
    for (const child of kids) {
      const data = applyDelta(content, await inflateEntry(child));
      kept.delete(child.offset);
      child.type = type;
      child.oid = hashObject(type, data);
      opts.onObject?.(type, data);
      byOid.set(child.oid, child);
      await pacer.tick(data.length);
      if (ofsChildren.has(child.offset) || refChildren.has(child.oid)) await resolveChildren(child, child.oid, type, data);
    }
  };

  for (const e of entries) {
    if (!e.type || !e.oid) continue;
    if (!ofsChildren.has(e.offset) && !refChildren.has(e.oid)) continue;
    await resolveChildren(e, e.oid, e.type, await inflateEntry(e));
  }
  // REF_DELTA bases that were themselves deltas resolved later, then bases outside the pack.
  const missingBases: Oid[] = [];
  for (let progress = true; refChildren.size && progress; ) {
    progress = false;
    for (const baseOid of [...refChildren.keys()]) {
      const inPack = byOid.get(baseOid);
      if (inPack?.type) {
        await resolveChildren(null, baseOid, inPack.type, await readResolved(inPack));
        progress = true;
        continue;
      }
      const external = opts.external ? await opts.external(baseOid) : null;
      if (!external) continue;
      missingBases.push(baseOid);
      await resolveChildren(null, baseOid, external.type, external.data);
      progress = true;
    }
  }
  const unresolved = entries.filter((e) => !e.oid).length;
  if (unresolved > 0) {
    const base = refChildren.keys().next().value;
    throw corruptPack(`${unresolved} deltas could not be resolved${base ? ` (missing base ${base})` : ""}`);
  }

  const index = writePackIndex(
    entries.map((e) => ({ oid: hexToBytes(e.oid!), offset: e.offset, crc: e.crc })),
    trailer,
  );
  return {
    checksum,
    count,
    index,
    entries: entries.map((e) => ({ oid: e.oid!, type: e.type!, offset: e.offset })),
    missingBases,
    basesFirst: entries.every(
      (e) => e.header.type !== OBJ_REF_DELTA || (byOid.get(e.header.baseOid!)?.offset ?? Infinity) < e.offset,
    ),
  };

  /** Content of an entry already hashed (resolving its delta chain again). */
  async function readResolved(e: Entry): Promise<Uint8Array> {
    const chain: Entry[] = [];
    let cur: Entry | undefined = e;
    while (cur && (cur.header.type === OBJ_OFS_DELTA || cur.header.type === OBJ_REF_DELTA)) {
      chain.push(cur);
      cur = cur.header.type === OBJ_OFS_DELTA ? byOffset.get(cur.header.baseOffset!) : byOid.get(cur.header.baseOid!);
    }
    if (!cur) throw corruptPack("delta chain leaves the pack");
    let data = await inflateEntry(cur);
    for (let i = chain.length - 1; i >= 0; i--) data = applyDelta(data, await inflateEntry(chain[i]!));
    return data;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** CRC of the raw bytes [start, end), feeding them to the pack hash too. */
async function hashRange(
  source: RangeSource,
  cursor: Cursor,
  start: number,
  end: number,
  packHash: ReturnType<typeof sha1>,
): Promise<number> {
  let crc = 0;
  for (let p = start; p < end; ) {
    let piece: Uint8Array;
    if (p >= cursor.base && p < cursor.end) {
      piece = cursor.buf.subarray(cursor.at(p), Math.min(cursor.buf.length, cursor.at(end)));
    } else {
      piece = await source.read(p, Math.min(end, p + CHUNK));
    }
    packHash.update(piece);
    crc = crc32(piece, crc);
    p += piece.length;
  }
  return crc;
}

/** Inflates a large object in pieces, hashing it, and finds where its zlib stream ends. */
async function inflateStream(
  source: RangeSource,
  dataStart: number,
  dataEnd: number,
  header: EntryHeader,
  offset: number,
): Promise<{ end: number; oid: Oid | null }> {
  const isDelta = header.type === OBJ_OFS_DELTA || header.type === OBJ_REF_DELTA;
  const hash = sha1();
  if (!isDelta) hash.update(new TextEncoder().encode(`${typeName(header.type)} ${header.size}\0`));
  let produced = 0;
  // pako sets `ended` and keeps its z_stream in `strm` (not in its type declarations).
  const inflater = new Inflate() as Inflate & { ended: boolean; strm: { avail_in: number } };
  inflater.onData = (chunk: Uint8Array) => {
    produced += chunk.length;
    if (!isDelta) hash.update(chunk);
  };
  let pos = dataStart;
  while (!inflater.ended) {
    if (pos >= dataEnd) throw corruptPack(`object at offset ${offset} is truncated`);
    const piece = await source.read(pos, Math.min(dataEnd, pos + CHUNK));
    inflater.push(piece, false);
    if (inflater.err) throw corruptPack(`object at offset ${offset}: ${inflater.msg}`);
    if (inflater.ended) pos += piece.length - inflater.strm.avail_in;
    else pos += piece.length;
  }
  if (produced !== header.size) {
    throw corruptPack(`object at offset ${offset} inflates to ${produced} bytes, its header says ${header.size}`);
  }
  return { end: pos, oid: isDelta ? null : (hash.digest("hex") as Oid) };
}
