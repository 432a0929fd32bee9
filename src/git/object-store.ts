// Reads git objects out of a repository's packs: finds them through the pack indexes (whole in
// memory or read by ranges), reads their entries through ranged reads, and resolves delta chains
// with a bounded, shared base cache.
import { applyDelta, deltaSizes } from "./delta";
import { GitError } from "./errors";
import { PackIndex } from "./pack-index";
import { OBJ_COMMIT, OBJ_OFS_DELTA, OBJ_REF_DELTA, parseEntryHeader, typeName, type EntryHeader } from "./pack-format";
import { oidAt, type ObjectType, type Oid, sha1 } from "./oid";
import { forgetWindows, type RangeSource } from "./range-source";
import { inflateAt, InflateError } from "./zlib";
import { heldBytes } from "../utils/lru";
import { isolateTurns, TURN_UNITS } from "../utils/pace";
import { edgeLru } from "../utils/edge-budget";

/**
 * What the object store asks of a pack's index. A small index is held whole (`PackIndex`: its
 * lookups never wait); a large one is read by ranges (`RangedPackIndex`), so only its fan-out table
 * and a shared, byte-bounded cache of its pages are in memory.
 */
export interface PackLookup {
  readonly count: number;
  /** Memory the index holds itself, for cache accounting. */
  readonly byteSize: number;
  lookup(oid: Oid | Uint8Array): Promise<{ position: number; offset: number } | null>;
  /** Up to `max` ids starting with `prefix` (lowercase hex), in index order. */
  findByPrefix(prefix: string, max: number): Promise<Oid[]>;
  /**
   * The end of the entry at `offset` from the offset table alone: a scan of the whole table by
   * ranges, for the rare entry too large to find its end by inflating it.
   */
  nextOffset(offset: number, packSize: number): number | Promise<number>;
}

/**
 * The most bytes zlib's deflate makes of `n` bytes (zlib's deflateBound with its 2-byte header and
 * 4-byte checksum): an entry read up to this end holds its whole zlib stream.
 */
const deflateBound = (n: number) => n + Math.floor(n / 4096) + Math.floor(n / 16384) + Math.floor(n / 2 ** 25) + 19 + 64;
/** Entries up to this size find their end by inflating; larger ones from the offset table. */
const INFLATE_FOR_END = 8 * 1024 * 1024;

export interface GitObject {
  type: ObjectType;
  data: Uint8Array;
}

export interface ReadOptions {
  /**
   * False: a commit read does not learn the commits after it (`learnAfter`). For reads of commits
   * scattered over the history (blame's margin: the long file's 520 commits among 70,000 learned
   * about 66,000 commits, each inflated and hashed, a third of a cold blame's CPU).
   */
  learn?: boolean;
}

/** Longest header of a pack entry (type/size varint, plus a 20-byte REF_DELTA base). */
const MAX_ENTRY_HEADER = 32;

export class Pack {
  constructor(
    readonly name: string,
    readonly index: PackLookup,
    readonly source: RangeSource,
  ) {}

  get id(): string {
    return this.source.id;
  }

  /** The index held whole, whose offset table answers synchronously; null for a ranged one. */
  private get whole(): PackIndex | null {
    return this.index instanceof PackIndex ? this.index : null;
  }

  /** Where the entry at `offset` ends (where the next one starts, or the trailer). */
  async entryEnd(offset: number): Promise<number> {
    if (this.whole) return this.whole.nextOffset(offset, this.source.size);
    // A ranged index has no pack-order table (it would be 8 bytes an object): the zlib stream
    // says where it ends once inflated, and the offset table, scanned, for the largest entries.
    const header = await this.header(offset);
    if (header.size > INFLATE_FOR_END) return this.index.nextOffset(offset, this.source.size);
    return (await this.inflateEntry(offset, header)).end;
  }

  /**
   * Header of the entry at `offset`, and bytes holding the whole entry (with a ranged index, up to
   * zlib's bound of its compressed size: maybe some of the next entry, where inflating stops).
   */
  async rawEntry(offset: number, known?: EntryHeader, extra = 1): Promise<{ header: EntryHeader; bytes: Uint8Array }> {
    if (this.whole) {
      const bytes = await this.source.read(offset, this.whole.nextOffset(offset, this.source.size));
      const header = parseEntryHeader(bytes, 0, offset);
      if (!header) throw new GitError("corrupt_pack", `truncated entry at offset ${offset} of ${this.name}`);
      return { header, bytes };
    }
    const header = known ?? (await this.header(offset));
    const end = Math.min(this.source.size - 20, offset + header.headerLength + deflateBound(header.size) * extra);
    return { header, bytes: await this.source.read(offset, end) };
  }

  /** The entry at `offset` inflated (a delta's data for a delta), and where the entry ends. */
  async inflateEntry(offset: number, known?: EntryHeader): Promise<{ header: EntryHeader; data: Uint8Array; end: number }> {
    for (let extra = 1; ; extra *= 2) {
      const { header, bytes } = await this.rawEntry(offset, known, extra);
      try {
        const { data, consumed } = inflateAt(bytes, header.headerLength, header.size);
        return { header, data, end: offset + header.headerLength + consumed };
      } catch (err) {
        // Only a deflater worse than zlib's overruns the bound: then read further, doubling.
        const more = !this.whole && offset + bytes.length < this.source.size - 20;
        if (!(more && err instanceof InflateError && err.truncated)) throw err;
      }
    }
  }

  /** Just the header of the entry at `offset` (a small read). */
  async header(offset: number): Promise<EntryHeader> {
    const end = Math.min(
      this.whole ? this.whole.nextOffset(offset, this.source.size) : this.source.size - 20,
      offset + MAX_ENTRY_HEADER,
    );
    const header = parseEntryHeader(await this.source.read(offset, end), 0, offset);
    if (!header) throw new GitError("corrupt_pack", `truncated entry at offset ${offset} of ${this.name}`);
    return header;
  }
}

export interface Location {
  pack: Pack;
  offset: number;
}

/** Resolved objects shared by every request of the isolate; entries are immutable. */
const resolved = edgeLru<string, GitObject>("git.resolved-objects", (o) => heldBytes(o.data) + 64);

/** Bytes the shared cache of resolved objects holds now (for tests and benchmarks). */
export const resolvedCacheBytes = (): number => resolved.bytes;
/** Whether the shared cache holds the entry at `offset` of `pack` resolved (a prefetch skips it). */
export const isResolved = (pack: Pack, offset: number): boolean => resolved.get(entryKey(pack, offset)) !== undefined;

/** Lets the shared caches drop what they hold of `pack` (about to be retired): its objects and windows. */
export function forgetPack(pack: Pack): void {
  const n = packNumbers.get(pack.id);
  if (n !== undefined) resolved.deleteWhere((key) => key.startsWith(`${n}@`));
  forgetWindows(pack.source.id);
}
/**
 * Short numbers for pack ids (long R2 keys), so that the resolved-object keys hashed on every
 * read stay short. Bounded: when full it starts over with new numbers (old entries age out).
 */
const packNumbers = new Map<string, number>();
let nextPackNumber = 0;
function entryKey(pack: Pack, offset: number): string {
  let n = packNumbers.get(pack.id);
  if (n === undefined) {
    if (packNumbers.size >= 10_000) packNumbers.clear();
    packNumbers.set(pack.id, (n = nextPackNumber++));
  }
  return `${n}@${offset}`;
}

/** Answers `locate` remembers per store (about 100 bytes each). */
const LOCATED_MAX = 4096;
/** Lookups run side by side in `locateMany` (each may wait for a page of a ranged index). */
const LOCATE_BATCH = 256;

/**
 * Object reads between two turns for other requests (`ObjectStore.read`), of any store of the
 * isolate: they spend one unit each from the isolate's budget (utils/pace.ts `isolateTurns`).
 */
export const READS_PER_TURN = TURN_UNITS;

/** Objects larger than this are not cached (they would evict many small trees and commits). */
const MAX_CACHED_OBJECT = 1024 * 1024;

/**
 * Where commits lie, learned without an index lookup: git writes a pack's commits together, in
 * history order, so the entries after a commit just read are mostly the commits a log or
 * compare page shows next. When a commit is inflated from storage, the whole commits after it in
 * the same already-read window are inflated and hashed (their id is the hash of their content:
 * exact), and their places kept here, by id, for every request of the isolate. A cold lookup in a
 * large pack's ranged index costs one or two storage requests (issue 19: 40 of a log page's 41 R2
 * calls on big.git were index reads). About 150 bytes an id.
 */
const learned = edgeLru<Oid, { pack: string; offset: number }>("git.learned-commits", () => 150);
/** Entries one read learns at most (each inflated and hashed: a few microseconds for a commit). */
const LEARN_MAX = 128;

export class ObjectStore {
  /**
   * Recent answers of `locate` by hex id: walks ask `has` of a parent, then read it, so the
   * second lookup (through a ranged index: several awaits) is saved. Small and per store.
   */
  private readonly located = new Map<Oid, Location | null>();

  /** Entries being read, by `entryKey` (`readEntry`). */
  private readonly reading = new Map<string, Promise<GitObject>>();

  /** Answers lookups in memory before the indexes are asked (`useLocator`). */
  private locator: ((oid: Oid) => Location | null | undefined) | null = null;

  constructor(readonly packs: Pack[]) {}

  /**
   * Lookups by hex id go to `locator` first (packs' id tables read whole, git/pack-id-table.ts):
   * a location, null for an object the store does not have, or undefined to ask the indexes.
   * Null lets the tables go.
   */
  useLocator(locator: ((oid: Oid) => Location | null | undefined) | null): void {
    this.located.clear();
    this.locator = locator;
  }

  /**
   * Where `oid` is stored when that is known without asking an index (this store's answers, its
   * locator, the commits learned next to commits read); undefined when an index must be asked.
   */
  locatedNow(oid: Oid): Location | null | undefined {
    const known = this.located.get(oid);
    if (known !== undefined) return known;
    const fromTable = this.locator?.(oid);
    if (fromTable !== undefined) return fromTable;
    const near = learned.get(oid);
    const pack = near && this.packs.find((p) => p.id === near.pack);
    return pack ? { pack, offset: near!.offset } : undefined;
  }

  /** Where `oid` is stored (the first pack that has it), or null. */
  async locate(oid: Oid | Uint8Array): Promise<Location | null> {
    if (typeof oid === "string") {
      const now = this.locatedNow(oid);
      if (now !== undefined) return now;
    } else if (this.locator) {
      // Raw ids too (a pack writer's plan of every object): a string each beats a ranged lookup each.
      const fromTable = this.locator(oidAt(oid, 0));
      if (fromTable !== undefined) return fromTable;
    }
    let found: Location | null = null;
    for (const pack of this.packs) {
      const at = await pack.index.lookup(oid);
      if (at) {
        found = { pack, offset: at.offset };
        break;
      }
    }
    if (typeof oid === "string") {
      if (this.located.size >= LOCATED_MAX) this.located.clear();
      this.located.set(oid, found);
    }
    return found;
  }

  async has(oid: Oid | Uint8Array): Promise<boolean> {
    return (await this.locate(oid)) !== null;
  }

  /**
   * Locations of many ids, looked up a batch at a time side by side: a ranged index reads each
   * page once for all the ids of the batch that fall in it, so storage requests stay few.
   */
  async locateMany(oids: readonly Oid[]): Promise<(Location | null)[]> {
    const out = new Array<Location | null>(oids.length);
    for (let from = 0; from < oids.length; from += LOCATE_BATCH) {
      const batch = oids.slice(from, from + LOCATE_BATCH);
      const found = await Promise.all(batch.map((oid) => this.locate(oid)));
      for (let i = 0; i < found.length; i++) out[from + i] = found[i]!;
    }
    return out;
  }

  /** Those of `oids` the store has, in their order. */
  async filterPresent(oids: readonly Oid[]): Promise<Oid[]> {
    const found = await this.locateMany(oids);
    return oids.filter((_, i) => found[i] !== null);
  }

  async read(oid: Oid, opts?: ReadOptions): Promise<GitObject> {
    // Objects the shared cache holds are read without any wait: a turn for other requests every
    // READS_PER_TURN reads of any store of the isolate, so cached diffs and listings do not run whole.
    const turn = isolateTurns.spend();
    if (turn) await turn;
    const loc = await this.locate(oid);
    if (!loc) throw new GitError("missing_object", `object ${oid} is missing`);
    return this.readEntry(loc.pack, loc.offset, opts?.learn !== false);
  }

  /** Reads an object and checks its type. */
  async readTyped(oid: Oid, type: ObjectType, opts?: ReadOptions): Promise<Uint8Array> {
    const obj = await this.read(oid, opts);
    if (obj.type !== type) throw new GitError("missing_object", `object ${oid} is a ${obj.type}, not a ${type}`);
    return obj.data;
  }

  readAt(pack: Pack, offset: number): Promise<GitObject> {
    return this.readEntry(pack, offset, true);
  }

  /**
   * `learn`: whether a commit read from storage learns the commits after it (`ReadOptions`). An
   * entry being read already is waited for, not inflated again: reads side by side (blame's read
   * ahead, a tree level's reads) meet on the bases their delta chains share.
   */
  private readEntry(pack: Pack, offset: number, learn: boolean): Promise<GitObject> {
    const key = entryKey(pack, offset);
    const hit = resolved.get(key);
    if (hit) return Promise.resolve(hit);
    let reading = this.reading.get(key);
    if (!reading) {
      reading = this.readFresh(pack, offset, key, learn).finally(() => this.reading.delete(key));
      this.reading.set(key, reading);
    }
    return reading;
  }

  private async readFresh(pack: Pack, offset: number, key: string, learn: boolean): Promise<GitObject> {
    const { header, data, end } = await pack.inflateEntry(offset);
    let obj: GitObject;
    if (header.type === OBJ_OFS_DELTA || header.type === OBJ_REF_DELTA) {
      const base = header.type === OBJ_OFS_DELTA ? await this.readAt(pack, header.baseOffset!) : await this.read(header.baseOid!);
      obj = { type: base.type, data: applyDelta(base.data, data) };
    } else {
      obj = { type: typeName(header.type), data };
    }
    if (heldBytes(obj.data) <= MAX_CACHED_OBJECT) resolved.set(key, obj);
    if (header.type === OBJ_COMMIT && learn) await learnAfter(pack, end);
    return obj;
  }

  /** Type and size of an object without rebuilding it (deltas: from their headers). */
  async info(oid: Oid): Promise<{ type: ObjectType; size: number }> {
    const loc = await this.locate(oid);
    if (!loc) throw new GitError("missing_object", `object ${oid} is missing`);
    return this.infoAt(loc.pack, loc.offset);
  }

  async infoAt(pack: Pack, offset: number): Promise<{ type: ObjectType; size: number }> {
    const cached = resolved.get(entryKey(pack, offset));
    if (cached) return { type: cached.type, size: cached.data.length };
    const header = await pack.header(offset);
    if (header.type !== OBJ_OFS_DELTA && header.type !== OBJ_REF_DELTA) {
      return { type: typeName(header.type), size: header.size };
    }
    const { header: h, data } = await pack.inflateEntry(offset, header);
    const { resultSize } = deltaSizes(data);
    const base = h.type === OBJ_OFS_DELTA ? await this.typeAt(pack, h.baseOffset!) : await this.typeOf(h.baseOid!);
    return { type: base, size: resultSize };
  }

  private async typeAt(pack: Pack, offset: number): Promise<ObjectType> {
    for (let depth = 0; depth < 10_000; depth++) {
      const cached = resolved.get(entryKey(pack, offset));
      if (cached) return cached.type;
      const h = await pack.header(offset);
      if (h.type === OBJ_OFS_DELTA) offset = h.baseOffset!;
      else if (h.type === OBJ_REF_DELTA) return this.typeOf(h.baseOid!);
      else return typeName(h.type);
    }
    throw new GitError("corrupt_pack", "delta chain too long");
  }

  private async typeOf(oid: Oid): Promise<ObjectType> {
    const loc = await this.locate(oid);
    if (!loc) throw new GitError("missing_object", `object ${oid} is missing`);
    return this.typeAt(loc.pack, loc.offset);
  }
}

/**
 * Learns the ids and places of the whole commits that follow, from `pos`, in the part of the pack
 * already in memory (no storage read): each is inflated, hashed, and kept resolved. Stops at the
 * first entry that is not a commit, not whole in memory, or already resolved (a later read of a
 * learned commit inflates nothing, so it learns nothing again).
 */
async function learnAfter(pack: Pack, pos: number): Promise<void> {
  const peek = pack.source.peek?.bind(pack.source);
  if (!peek) return;
  for (let n = 0; n < LEARN_MAX; n++) {
    // A unit each, as a read through the pack windows: 128 commits inflated and hashed at once were
    // one of a cold log page's longest stretches (bench/scale-results.md, s13-logwarm). Another
    // read may learn the same entries meanwhile, or the window go: both are seen below.
    const turn = isolateTurns.spend();
    if (turn) await turn;
    if (resolved.get(entryKey(pack, pos))) return;
    const bytes = peek(pos, pack.source.size - 20);
    const header = bytes && parseEntryHeader(bytes, 0, pos);
    if (!bytes || !header || header.type !== OBJ_COMMIT) return;
    let inflated: { data: Uint8Array; consumed: number };
    try {
      inflated = inflateAt(bytes, header.headerLength, header.size);
    } catch {
      return; // runs past what is in memory (or is not a whole entry): stop here
    }
    const data = inflated.data;
    const oid = sha1().update(`commit ${data.length}\0`).update(data).digest("hex");
    learned.set(oid, { pack: pack.id, offset: pos });
    resolved.set(entryKey(pack, pos), { type: "commit", data });
    pos += header.headerLength + inflated.consumed;
  }
}
