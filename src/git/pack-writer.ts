// Writes the pack a fetch sends, reusing stored entries as they are (compressed data and deltas)
// whenever their base is sent too or the client has it; only the rest is rebuilt and deflated.
import { Pacer } from "../utils/pace";
import { GitError } from "./errors";
import type { Location, ObjectStore, Pack } from "./object-store";
import { encodeEntryHeader, encodeOfsDistance, OBJ_OFS_DELTA, OBJ_REF_DELTA, packHeader, typeNumber } from "./pack-format";
import { hashObject, hexInto, hexToBytes, sha1, type Oid } from "./oid";
import { deflate } from "./zlib";
import { concatBytes } from "../utils/bytes";
import { crc32 } from "./crc32";
import { createDelta } from "./delta-encode";
import { PackIndex } from "./pack-index";
import type { EntryHeader } from "./pack-format";
import type { ObjectsToSend } from "./oid-map";

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
   * What a .idx of the written pack needs (with `index: true`), as columns in write order: entry
   * i's id at oids[20i..20i+20), offsets[i], crcs[i]. No object per entry: a compaction writes
   * every object of the repository.
   */
  index: { oids: Uint8Array; offsets: Float64Array; crcs: Uint32Array } | null;
}

/** Raw entries larger than this are copied in pieces rather than read whole. */
const STREAM_COPY_THRESHOLD = 4 * 1024 * 1024;
/** New deltas: worth trying for objects of this size; at most this much data per pack. */
const DELTA_MIN_SIZE = 256;
const DELTA_MAX_OBJECT = 8 * 1024 * 1024;
const DELTA_BUDGET = 48 * 1024 * 1024;
/** Objects, or bytes written, between two yields to other requests. */
const WRITE_SLICE_OBJECTS = 256;
const WRITE_SLICE_BYTES = 1024 * 1024;

export async function writePack(
  store: ObjectStore,
  objects: ObjectsToSend,
  opts: PackWriteOptions,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<PackWriteStats> {
  const packRank = new Map<Pack, number>(store.packs.map((p, i) => [p, i]));
  const plan: { oid: Oid; loc: Location }[] = [];
  const oids = [...objects.keys()];
  const locs = await store.locateMany(oids);
  /** What this pack sends, by stored pack and offset: names the base of a stored OFS_DELTA. */
  const sentAt = new Map<Pack, Map<number, Oid>>();
  oids.forEach((oid, i) => {
    const loc = locs[i];
    if (!loc) throw new GitError("missing_object", `object ${oid} is missing`);
    plan.push({ oid, loc });
    let at = sentAt.get(loc.pack);
    if (!at) sentAt.set(loc.pack, (at = new Map()));
    at.set(loc.offset, oid);
  });
  // Stored order puts every OFS_DELTA base before its deltas, and reads sequentially.
  plan.sort((a, b) => packRank.get(a.loc.pack)! - packRank.get(b.loc.pack)! || a.loc.offset - b.loc.offset);

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
    objects: plan.length,
    reused: 0,
    reusedDeltas: 0,
    rebuilt: 0,
    deltified: 0,
    bytes: 0,
    checksum: new Uint8Array(20),
    index: opts.index
      ? { oids: new Uint8Array(plan.length * 20), offsets: new Float64Array(plan.length), crcs: new Uint32Array(plan.length) }
      : null,
  };
  const written = new Map<Oid, number>();

  await emit(packHeader(plan.length));
  let lastProgress = Date.now();
  let deltaBudget = DELTA_BUDGET;
  /** Sends `oid` as a new delta against the client's version, if one pays off. */
  const tryNewDelta = async (oid: Oid, size: number, data: () => Promise<Uint8Array>): Promise<boolean> => {
    const base = opts.thin ? opts.deltaBases?.get(oid) : undefined;
    if (!base || !opts.clientHas.has(base) || size < DELTA_MIN_SIZE || size > DELTA_MAX_OBJECT || deltaBudget < size) {
      return false;
    }
    // A base this pack sends is not one the client has yet.
    if (!(await store.has(base)) || objects.has(base)) return false;
    deltaBudget -= size;
    const target = await data();
    const delta = createDelta((await store.read(base)).data, target, Math.floor(target.length * 0.6));
    if (!delta) return false;
    await emit(concatBytes([encodeEntryHeader(OBJ_REF_DELTA, delta.length), hexToBytes(base), deflate(delta)]));
    stats.deltified++;
    return true;
  };
  /** The base of a stored delta, when this pack sends it too from the same stored pack. */
  const sentSameChainBase = async (loc: Location): Promise<{ oid: Oid; loc: Location } | null> => {
    const header = await loc.pack.header(loc.offset);
    if (header.type === OBJ_OFS_DELTA) {
      const baseOid = sentAt.get(loc.pack)?.get(header.baseOffset!);
      return baseOid ? { oid: baseOid, loc: { pack: loc.pack, offset: header.baseOffset! } } : null;
    }
    if (header.type !== OBJ_REF_DELTA || !objects.has(header.baseOid!)) return null;
    const baseLoc = await store.locate(header.baseOid!);
    return baseLoc && baseLoc.pack === loc.pack ? { oid: header.baseOid!, loc: baseLoc } : null;
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
  const emitEntry = async (oid: Oid, loc: Location) => {
    const start = bytes;
    crc = 0;
    const header = await loc.pack.header(loc.offset);
    const end = await loc.pack.entryEnd(loc.offset);
    if (header.type !== OBJ_OFS_DELTA && header.type !== OBJ_REF_DELTA) {
      if (!(await tryNewDelta(oid, header.size, async () => (await store.readAt(loc.pack, loc.offset)).data))) {
        await copyRange(loc.pack, loc.offset, end, emit);
        stats.reused++;
      }
    } else {
      // Reuse a delta only against the copy of its base in the same pack: with an object stored in
      // several packs, mixing copies could chain deltas into a cycle. Such a base is written first.
      let baseOid: Oid | null = null;
      let sentBase: Location | null = null;
      const sentOid = header.type === OBJ_OFS_DELTA ? sentAt.get(loc.pack)?.get(header.baseOffset!) : undefined;
      if (sentOid) {
        baseOid = sentOid;
        sentBase = { pack: loc.pack, offset: header.baseOffset! };
      } else if (header.type === OBJ_REF_DELTA || opts.thin || loc.pack.index instanceof PackIndex) {
        baseOid = header.type === OBJ_REF_DELTA ? header.baseOid! : await unsentBaseOid(loc.pack, header);
        sentBase = objects.has(baseOid) ? await store.locate(baseOid) : null;
      }
      const baseAt = baseOid !== null && sentBase !== null && sentBase.pack === loc.pack ? written.get(baseOid) : undefined;
      const dataStart = loc.offset + header.headerLength;
      if (baseAt !== undefined && opts.ofsDelta) {
        await emit(concatBytes([encodeEntryHeader(OBJ_OFS_DELTA, header.size), encodeOfsDistance(start - baseAt)]));
        await copyRange(loc.pack, dataStart, end, emit);
        stats.reusedDeltas++;
      } else if (baseOid !== null && (baseAt !== undefined || (!sentBase && opts.thin && opts.clientHas.has(baseOid)))) {
        // A base earlier in this pack (the client reads no OFS_DELTA), or one the client has.
        await emit(concatBytes([encodeEntryHeader(OBJ_REF_DELTA, header.size), hexToBytes(baseOid)]));
        await copyRange(loc.pack, dataStart, end, emit);
        stats.reusedDeltas++;
      } else {
        const obj = await store.readAt(loc.pack, loc.offset);
        if (!(await tryNewDelta(oid, obj.data.length, async () => obj.data))) {
          await emit(concatBytes([encodeEntryHeader(typeNumber(obj.type), obj.data.length), deflate(obj.data)]));
          stats.rebuilt++;
        }
      }
    }
    written.set(oid, start);
    if (stats.index) {
      hexInto(oid, stats.index.oids.subarray(count * 20, count * 20 + 20));
      stats.index.offsets[count] = start;
      stats.index.crcs[count] = crc;
    }
    count++;
    if (opts.progress && Date.now() - lastProgress > 500) {
      lastProgress = Date.now();
      await opts.progress(`Writing objects: ${Math.floor((count * 100) / plan.length)}% (${count}/${plan.length})\r`);
    }
  };
  // Reads from cache never wait: without yields a clone's or a compaction's pack would be one
  // slice of seconds for the isolate (or the repository's Durable Object).
  const pacer = new Pacer(WRITE_SLICE_OBJECTS, WRITE_SLICE_BYTES);
  let sliceStart = bytes;
  for (const { oid, loc } of plan) {
    if (written.has(oid)) continue;
    // Every base goes before its deltas, as git pack-objects writes them: clients that resolve
    // REF_DELTA entries in one pass (isomorphic-git) miscount objects otherwise. Stored order has
    // that already, except for bases a completed thin pack appended at its end.
    const chain = [{ oid, loc }];
    for (let base = await sentSameChainBase(loc); base && !written.has(base.oid); base = await sentSameChainBase(base.loc)) {
      if (chain.some((c) => c.oid === base!.oid)) throw new GitError("corrupt_pack", `delta chain loops in ${loc.pack.name}`);
      chain.push(base);
    }
    for (let i = chain.length - 1; i >= 0; i--) await emitEntry(chain[i]!.oid, chain[i]!.loc);
    const paused = pacer.tick(bytes - sliceStart);
    sliceStart = bytes;
    if (paused) await paused;
  }
  const digest = hash.digest();
  stats.checksum = new Uint8Array(digest.buffer, digest.byteOffset, digest.length);
  await write(stats.checksum);
  stats.bytes = bytes + 20;
  return stats;
}

async function copyRange(pack: Pack, start: number, end: number, emit: (c: Uint8Array) => Promise<void>): Promise<void> {
  if (end - start <= STREAM_COPY_THRESHOLD) return emit(await pack.source.read(start, end));
  for (let pos = start; pos < end; pos += STREAM_COPY_THRESHOLD) {
    await emit(await pack.source.read(pos, Math.min(end, pos + STREAM_COPY_THRESHOLD)));
  }
}
