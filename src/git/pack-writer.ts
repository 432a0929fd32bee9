// Writes the pack a fetch sends, reusing stored entries as they are (compressed data and deltas)
// whenever their base is sent too or the client has it; only the rest is rebuilt and deflated.
import { Pacer } from "../utils/pace";
import { GitError } from "./errors";
import type { Location, ObjectStore, Pack } from "./object-store";
import { encodeEntryHeader, encodeOfsDistance, OBJ_OFS_DELTA, OBJ_REF_DELTA, packHeader, typeNumber } from "./pack-format";
import { hashObject, hexToBytes, sha1, type Oid } from "./oid";
import { deflate } from "./zlib";
import { concatBytes } from "../utils/bytes";
import { crc32 } from "./crc32";
import { createDelta } from "./delta-encode";
import { PackIndex } from "./pack-index";
import type { EntryHeader } from "./pack-format";
import { OidTypeMap, type ObjectsToSend } from "./oid-map";
import { PackCopier } from "./pack-copy";

export interface PackWriteOptions {
  /** The client reads OBJ_OFS_DELTA entries. */
  ofsDelta: boolean;
  /** The client accepts deltas against objects it has (thin pack). */
  thin: boolean;
  /** Objects the client has, usable as thin-pack bases. */
  clientHas: Set<Oid>;
  /** Progress lines for the client (side band 2). */
  progress?: (message: string) => Promise<void>;
  /** Collect what a .idx of the written pack needs (offsets and CRCs), for packs the forge stores. */
  index?: boolean;
  /** For objects with no reusable delta: the client's version to compute a new delta against. */
  deltaBases?: Map<Oid, Oid>;
  /** Called once every object is located (what answered the lookups may go: a compaction's id tables). */
  planned?: () => void;
  /** A buffer the caller no longer uses, to copy stored entries through (a compaction's walk reader's). */
  copyBuffer?: Uint8Array;
}

export interface PackWriteStats {
  objects: number;
  reused: number;
  reusedDeltas: number;
  rebuilt: number;
  /** Objects sent as new deltas against the client's version. */
  deltified: number;
  bytes: number;
  /** Trailer checksum of the written pack. */
  checksum: Uint8Array;
  /**
   * What a .idx of the written pack needs (with `index: true`), as columns by the object's place in
   * the set sent: its id at oids[20i..20i+20) (a view of the set's own id column, not a copy),
   * where it starts in the written pack offsets[i], crcs[i]. 12 bytes an object beside the set.
   */
  index: { oids: Uint8Array; offsets: Float64Array; crcs: Uint32Array } | null;
  /** Bytes of the plan's typed columns (pack, offset and stored order of every object). */
  planBytes: number;
  /** Storage reads made copying stored entries, and the most bytes that copying held at once. */
  copyReads: number;
  copyPeakBytes: number;
  /** Bytes of copy buffers the writer made (0 when `copyBuffer` was handed in). */
  copyMadeBytes: number;
}

/** New deltas: worth trying for objects of this size; at most this much data per pack. */
const DELTA_MIN_SIZE = 256;
const DELTA_MAX_OBJECT = 8 * 1024 * 1024;
const DELTA_BUDGET = 48 * 1024 * 1024;
/** Objects, or bytes written, between two yields to other requests. */
const WRITE_SLICE_OBJECTS = 256;
const WRITE_SLICE_BYTES = 1024 * 1024;
/** Lookups run side by side while the plan is made (each may wait for a page of a ranged index). */
const LOCATE_BATCH = 256;

export async function writePack(
  store: ObjectStore,
  objects: ObjectsToSend,
  opts: PackWriteOptions,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<PackWriteStats> {
  // The plan, in typed arrays (a clone or a compaction sends every object): object i (its place
  // in `set`) is stored in packs[packOf[i]] at offsetOf[i]; ids become strings only while used.
  const packs = store.packs;
  const packRank = new Map<Pack, number>(packs.map((p, i) => [p, i]));
  const set = objects instanceof OidTypeMap ? objects : OidTypeMap.from(objects.keys());
  const n = set.size;
  // As narrow as the store allows: a byte for the pack (a compaction starts at four), 4 bytes for
  // the offset unless a pack passes 4 GiB. 9 bytes an object with `order`, where it was 16.
  const packOf = packs.length <= 0xff ? new Uint8Array(n) : packs.length <= 0xffff ? new Uint16Array(n) : new Uint32Array(n);
  const offsetOf = packs.every((p) => p.source.size <= 2 ** 32) ? new Uint32Array(n) : new Float64Array(n);
  for (let from = 0; from < n; from += LOCATE_BATCH) {
    const to = Math.min(n, from + LOCATE_BATCH);
    const batch: Promise<Location | null>[] = [];
    for (let i = from; i < to; i++) batch.push(store.locate(set.idAt(i)));
    const found = await Promise.all(batch);
    for (let i = from; i < to; i++) {
      const loc = found[i - from];
      if (!loc) throw new GitError("missing_object", `object ${set.oidAt(i)} is missing`);
      packOf[i] = packRank.get(loc.pack)!;
      offsetOf[i] = loc.offset;
    }
  }
  opts.planned?.();
  // Stored order puts every OFS_DELTA base before its deltas, and reads sequentially.
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => packOf[a]! - packOf[b]! || offsetOf[a]! - offsetOf[b]!);
  /** Where each pack's objects start in `order`. */
  const packStart = new Uint32Array(packs.length + 1);
  for (let k = 0, rank = 0; rank <= packs.length; rank++) {
    while (k < n && packOf[order[k]!]! < rank) k++;
    packStart[rank] = k;
  }
  /** The object this pack sends from `rank`'s stored pack at `offset` (a stored OFS_DELTA's base), or -1. */
  const sentAt = (rank: number, offset: number): number => {
    let lo = packStart[rank]!;
    let hi = packStart[rank + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = offsetOf[order[mid]!]!;
      if (at === offset) return order[mid]!;
      if (at < offset) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  };

  const hash = sha1();
  let bytes = 0;
  let crc = 0;
  const emit = async (chunk: Uint8Array) => {
    hash.update(chunk);
    if (opts.index) crc = crc32(chunk, crc);
    bytes += chunk.length;
    await write(chunk);
  };
  const stats: PackWriteStats = {
    objects: n,
    reused: 0,
    reusedDeltas: 0,
    rebuilt: 0,
    deltified: 0,
    bytes: 0,
    checksum: new Uint8Array(20),
    index: null,
    planBytes: packOf.byteLength + offsetOf.byteLength + order.byteLength,
    copyReads: 0,
    copyPeakBytes: 0,
    copyMadeBytes: 0,
  };
  /** Where each object starts in the written pack, -1 until written. */
  const written = new Float64Array(n).fill(-1);
  const crcs = opts.index ? new Uint32Array(n) : null;
  /** Objects sent from each stored pack (whether reading its whole offset table pays). */
  const sendingFrom = new Map<Pack, number>(packs.map((p, rank) => [p, packStart[rank + 1]! - packStart[rank]!]));
  const copier = new PackCopier((p) => sendingFrom.get(p) ?? 0, opts.copyBuffer);

  await emit(packHeader(n));
  let lastProgress = Date.now();
  let deltaBudget = DELTA_BUDGET;
  /** Sends `oid` as a new delta against the client's version, if one pays off. */
  const tryNewDelta = async (oid: Oid, size: number, data: () => Promise<Uint8Array>): Promise<boolean> => {
    const base = opts.thin ? opts.deltaBases?.get(oid) : undefined;
    if (!base || !opts.clientHas.has(base) || size < DELTA_MIN_SIZE || size > DELTA_MAX_OBJECT || deltaBudget < size) {
      return false;
    }
    // A base this pack sends is not one the client has yet.
    if (!(await store.has(base)) || set.has(base)) return false;
    deltaBudget -= size;
    const target = await data();
    const delta = createDelta((await store.read(base)).data, target, Math.floor(target.length * 0.6));
    if (!delta) return false;
    await emit(concatBytes([encodeEntryHeader(OBJ_REF_DELTA, delta.length), hexToBytes(base), deflate(delta)]));
    stats.deltified++;
    return true;
  };
  /** The base of object i's stored delta, when this pack sends it too from the same stored pack, or -1. */
  const sentSameChainBase = async (i: number): Promise<number> => {
    const header = await (await copier.view(packs[packOf[i]!]!)).header(offsetOf[i]!);
    if (header.type === OBJ_OFS_DELTA) return sentAt(packOf[i]!, header.baseOffset!);
    if (header.type !== OBJ_REF_DELTA) return -1;
    const base = set.indexOf(header.baseOid!);
    return base >= 0 && packOf[base] === packOf[i] ? base : -1;
  };
  /**
   * The id of a stored OFS_DELTA's base that this pack does not send: from the index's offset
   * table when it is in memory; a ranged index has no reverse table, so the base is read and
   * hashed (only thin packs ask: the client may have it).
   */
  const unsentBaseOid = async (pack: Pack, header: EntryHeader): Promise<Oid> => {
    if (pack.index instanceof PackIndex) {
      const oid = pack.index.oidAtOffset(header.baseOffset!);
      if (!oid) throw new GitError("corrupt_pack", `no object at delta base offset in ${pack.name}`);
      return oid;
    }
    const base = await store.readAt(pack, header.baseOffset!);
    return hashObject(base.type, base.data);
  };
  let count = 0;
  const emitEntry = async (i: number) => {
    const oid = set.oidAt(i);
    const stored = packs[packOf[i]!]!;
    // Read through the copier's own buffer: its views are valid until its next read.
    const loc: Location = { pack: await copier.view(stored), offset: offsetOf[i]! };
    const start = bytes;
    crc = 0;
    const header = await loc.pack.header(loc.offset);
    const end = await copier.entryEnd(stored, loc.offset);
    if (header.type !== OBJ_OFS_DELTA && header.type !== OBJ_REF_DELTA) {
      if (!(await tryNewDelta(oid, header.size, async () => (await store.readAt(loc.pack, loc.offset)).data))) {
        await copier.copy(stored, loc.offset, end, emit);
        stats.reused++;
      }
    } else {
      // Reuse a delta only against the copy of its base in the same pack: with an object stored in
      // several packs, mixing copies could chain deltas into a cycle. Such a base is written first.
      let baseOid: Oid | null = null;
      /** The base's place in the plan when this pack sends it, else -1. */
      let base = header.type === OBJ_OFS_DELTA ? sentAt(packOf[i]!, header.baseOffset!) : -1;
      if (base >= 0) {
        baseOid = set.oidAt(base);
      } else if (header.type === OBJ_REF_DELTA || opts.thin || loc.pack.index instanceof PackIndex) {
        baseOid = header.type === OBJ_REF_DELTA ? header.baseOid! : await unsentBaseOid(loc.pack, header);
        base = set.indexOf(baseOid);
      }
      const baseAt = base >= 0 && packOf[base] === packOf[i] && written[base]! >= 0 ? written[base] : undefined;
      const dataStart = loc.offset + header.headerLength;
      if (baseAt !== undefined && opts.ofsDelta) {
        await emit(concatBytes([encodeEntryHeader(OBJ_OFS_DELTA, header.size), encodeOfsDistance(start - baseAt)]));
        await copier.copy(stored, dataStart, end, emit);
        stats.reusedDeltas++;
      } else if (baseOid !== null && (baseAt !== undefined || (base < 0 && opts.thin && opts.clientHas.has(baseOid)))) {
        // A base earlier in this pack (the client reads no OFS_DELTA), or one the client has.
        await emit(concatBytes([encodeEntryHeader(OBJ_REF_DELTA, header.size), hexToBytes(baseOid)]));
        await copier.copy(stored, dataStart, end, emit);
        stats.reusedDeltas++;
      } else {
        const obj = await store.readAt(loc.pack, loc.offset);
        if (!(await tryNewDelta(oid, obj.data.length, async () => obj.data))) {
          await emit(concatBytes([encodeEntryHeader(typeNumber(obj.type), obj.data.length), deflate(obj.data)]));
          stats.rebuilt++;
        }
      }
    }
    written[i] = start;
    if (crcs) crcs[i] = crc;
    count++;
    if (opts.progress && Date.now() - lastProgress > 500) {
      lastProgress = Date.now();
      await opts.progress(`Writing objects: ${Math.floor((count * 100) / n)}% (${count}/${n})\r`);
    }
  };
  // Reads from cache never wait: without yields a clone's or a compaction's pack would be one
  // slice of seconds for the isolate (or the repository's Durable Object).
  const pacer = new Pacer(WRITE_SLICE_OBJECTS, WRITE_SLICE_BYTES);
  let sliceStart = bytes;
  try {
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      if (written[i]! >= 0) continue;
      // Every base goes before its deltas, as git pack-objects writes them: clients that resolve
      // REF_DELTA entries in one pass (isomorphic-git) miscount objects otherwise. Stored order has
      // that already, except for bases a completed thin pack appended at its end.
      const chain = [i];
      for (let base = await sentSameChainBase(i); base >= 0 && written[base]! < 0; base = await sentSameChainBase(base)) {
        if (chain.includes(base)) throw new GitError("corrupt_pack", `delta chain loops in ${packs[packOf[i]!]!.name}`);
        chain.push(base);
      }
      for (let c = chain.length - 1; c >= 0; c--) await emitEntry(chain[c]!);
      const paused = pacer.tick(bytes - sliceStart);
      sliceStart = bytes;
      if (paused) await paused;
    }
  } finally {
    copier.dispose();
    stats.copyReads = copier.reads;
    stats.copyPeakBytes = copier.peakBytes;
    stats.copyMadeBytes = copier.madeBytes;
  }
  const digest = hash.digest();
  stats.checksum = new Uint8Array(digest.buffer, digest.byteOffset, digest.length);
  await write(stats.checksum);
  stats.bytes = bytes + 20;
  if (crcs) stats.index = { oids: set.idColumn(), offsets: written, crcs };
  return stats;
}
