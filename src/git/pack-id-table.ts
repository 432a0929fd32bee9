// A compact in-memory table of a large pack's object ids (their first 8 bytes) and offsets, read
// once from its ranged index by large sequential reads, for work that looks up hundreds of
// thousands of objects in an order no cache can follow: the commit-graph build of an import
// (git/commit-graph-build.ts), which at git/git's 900,000 objects otherwise swept the whole 25 MB
// index through the 10 MiB page cache once per tree level of every batch of commits (6.8 GB read).
import type { Location, ObjectStore } from "./object-store";
import type { Oid } from "./oid";
import { PackIndex } from "./pack-index";
import { RangedPackIndex } from "./pack-index-ranged";
import { shrinkUnitsFor, unitBytesReadOf } from "./pack-index-unit-cache";
import { ByteLru } from "../utils/lru";
import { IsolateRuns } from "../utils/request-scope";
import { edgeCacheBound } from "../utils/edge-budget";
import { isolateTurns, loopStep } from "../utils/pace";

/** 12 bytes an object: 8 of its id, 4 of its offset. */
export const ID_TABLE_BYTES_PER_OBJECT = 12;
/** The most memory the tables of one lookup pass may hold (about 1.4 million objects). */
export const ID_TABLE_BUDGET = 16 * 1024 * 1024;
/**
 * Entries of a batch copied into a table per unit of `isolateTurns`: a turn every 16,384 entries
 * when nothing else spends. A batch of git/git's table file is 131,072 entries, which ran 10 to
 * 17 ms of the thread at a time during cold tree pages in storage mode (bench/scale-results.md,
 * s16-turns), besides the table's three arrays (3.5 MiB each for 900,000 objects), 21 to 26 ms
 * each to allocate there, now one a turn.
 */
export const TABLE_ENTRIES_PER_UNIT = 256;
/** An offset the table cannot answer: an ambiguous 8-byte prefix, or a pack offset of 2 GiB or more. */
const ASK_INDEX = 0xffffffff;

/** The 32-bit number of 8 hex digits of `hex` from `at` (lowercase or uppercase). */
function word(hex: string, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const c = hex.charCodeAt(i);
    v = v * 16 + (c <= 57 ? c - 48 : (c | 0x20) - 87);
  }
  return v;
}

/** Entries whose ids begin with the same 8 bytes (and big offsets) answer "ask the index". */
export class PackIdTable {
  private constructor(
    private readonly hi: Uint32Array,
    private readonly lo: Uint32Array,
    private readonly offsets: Uint32Array,
  ) {}

  get byteSize(): number {
    return this.hi.byteLength + this.lo.byteLength + this.offsets.byteLength;
  }

  /** `ahead`: batches read side by side ahead of the one being filled in (`nameBatches`). */
  static async read(index: RangedPackIndex, ahead = 0): Promise<PackIdTable> {
    const build = PackIdTable.build(index);
    for (;;) {
      const table = await build.step(Number.POSITIVE_INFINITY, index, ahead);
      if (table) return table;
    }
  }

  /**
   * A table read a part at a time (`step(batches, via)` reads that many batches of ids (`RangedPackIndex.idBatch`: 1.5 MiB of reads each)
   * through `via`, the same index opened by the request at hand so that its meter counts them,
   * then answers the table once it is whole, else null), so that no one request pays for all of it.
   */
  static build(index: RangedPackIndex): {
    readonly bytes: number;
    step(batches: number, via: RangedPackIndex, ahead?: number): Promise<PackIdTable | null>;
  } {
    const n = index.count;
    // Taken by the first step, one array a turn (each is a long stretch of the thread on a large pack).
    let arrays: Promise<[Uint32Array, Uint32Array, Uint32Array]> | null = null;
    const allocate = async (): Promise<[Uint32Array, Uint32Array, Uint32Array]> => {
      const hi = new Uint32Array(n);
      if (n >= TABLE_ENTRIES_PER_UNIT) await isolateTurns.turn();
      const lo = new Uint32Array(n);
      if (n >= TABLE_ENTRIES_PER_UNIT) await isolateTurns.turn();
      return [hi, lo, new Uint32Array(n)];
    };
    let next = 0;
    return {
      bytes: n * ID_TABLE_BYTES_PER_OBJECT,
      async step(batches, via, ahead = 0) {
        if (via.id !== index.id) throw new Error("not the same pack index");
        const [hi, lo, offsets] = await (arrays ??= allocate());
        let read = 0;
        for await (const { from, prefixes, stride, offsets: offs } of batchesAhead(via, next, ahead)) {
          const nv = new DataView(prefixes.buffer, prefixes.byteOffset, prefixes.length);
          const ov = new DataView(offs.buffer, offs.byteOffset, offs.length);
          const count = Math.floor(offs.length / 4);
          for (let k = 0; k < count; k++) {
            const i = from + k;
            hi[i] = nv.getUint32(k * stride);
            lo[i] = nv.getUint32(k * stride + 4);
            const o = ov.getUint32(k * 4);
            offsets[i] = o & 0x80000000 ? ASK_INDEX : o;
            if (i > 0 && hi[i] === hi[i - 1] && lo[i] === lo[i - 1]) offsets[i] = offsets[i - 1] = ASK_INDEX;
            const turn = loopStep(k + 1, TABLE_ENTRIES_PER_UNIT);
            if (turn) await turn;
          }
          next = Math.max(next, from + count);
          if (++read >= batches) break;
        }
        return next >= n ? new PackIdTable(hi, lo, offsets) : null;
      },
    };
  }

  /**
   * The offset of the object `oid` names: null when the pack has no object with its first 8
   * bytes (so not it), "index" when the table cannot tell. An id absent from the pack that shares
   * 8 bytes with one present would answer that one's offset: the callers look up ids that the
   * pack's own commits and trees name, which a stored pack always holds (pushes are checked for
   * connectivity).
   */
  find(oid: Oid): number | null | "index" {
    // Read from the string's characters: slices and parseInt made two strings a lookup, garbage
    // that 7 million lookups of a git/git-sized build piled up.
    return this.search(word(oid, 0), word(oid, 8));
  }

  /** `find` of the 20-byte id at `at` of `ids`: no hex string made. */
  findBytes(ids: Uint8Array, at: number): number | null | "index" {
    const h = ((ids[at]! << 24) | (ids[at + 1]! << 16) | (ids[at + 2]! << 8) | ids[at + 3]!) >>> 0;
    const l = ((ids[at + 4]! << 24) | (ids[at + 5]! << 16) | (ids[at + 6]! << 8) | ids[at + 7]!) >>> 0;
    return this.search(h, l);
  }

  private search(h: number, l: number): number | null | "index" {
    let a = 0;
    let b = this.hi.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      const mh = this.hi[m]!;
      if (mh < h || (mh === h && this.lo[m]! < l)) a = m + 1;
      else b = m;
    }
    if (a >= this.hi.length || this.hi[a] !== h || this.lo[a] !== l) return null;
    const o = this.offsets[a]!;
    return o === ASK_INDEX ? "index" : o;
  }
}

/**
 * `via`'s id batches from `start`, with `ahead` batches read side by side before they are asked
 * for: fewer rounds of reads (blame's first request waits for them), their memory held at once.
 */
async function* batchesAhead(via: RangedPackIndex, start: number, ahead: number) {
  const batch = await via.idBatchSize();
  const reading: ReturnType<RangedPackIndex["idBatch"]>[] = [];
  for (let next = start; ; ) {
    while (reading.length <= ahead && next < via.count) {
      const read = via.idBatch(next, Math.min(via.count, next + batch));
      // A batch read ahead that is never asked for (the caller stopped) fails unseen.
      read.catch(() => {});
      reading.push(read);
      next += batch;
    }
    const read = reading.shift();
    if (!read) return;
    yield await read;
  }
}

/** `BulkLocator.at`'s answer for an id in no pack. */
export const NOWHERE = -1;
/** `BulkLocator.at`'s answer for an id its table cannot tell: ask the locator itself. */
export const ASK_LOCATOR = -2;
/** Pack offsets are below 2^33 (8 GiB): `at` answers a pack's number times this plus the offset. */
export const PACK_SPAN = 2 ** 33;

/**
 * Locations of many ids; `inMemory` when tables answer them (no storage read per batch). Those
 * also answer `at`: the location of the 20-byte id at `at` of `ids` without a hex string, an
 * object or a promise, as a number: the pack's place in `store.packs` times PACK_SPAN plus the
 * offset (or NOWHERE, ASK_LOCATOR).
 */
export type BulkLocator = ((oids: readonly Oid[]) => Promise<(Location | null)[]>) & {
  inMemory: boolean;
  at?(ids: Uint8Array, at: number): number;
};

/**
 * `store.locateMany` for a pass that will look up about `lookups` objects: when that is many
 * against the size of its packs' ranged indexes, and their tables fit in ID_TABLE_BUDGET, the
 * tables are read first and answer in memory; otherwise (small indexes are held whole anyway,
 * or a few lookups) it is the store's own.
 */
export async function bulkLocator(store: ObjectStore, lookups: number): Promise<BulkLocator> {
  const plain = Object.assign((oids: readonly Oid[]) => store.locateMany(oids), { inMemory: false });
  const ranged = store.packs.filter((p) => p.index instanceof RangedPackIndex);
  const objects = ranged.reduce((n, p) => n + p.index.count, 0);
  // A table costs one read of the index (28 bytes an object); lookups by ranges cost a 4 KiB
  // page or more each time the cache has lost it, as it mostly has for ids all over the index.
  if (ranged.length === 0 || lookups * 256 < objects || objects * ID_TABLE_BYTES_PER_OBJECT > ID_TABLE_BUDGET) return plain;
  const tables = new Map<string, PackIdTable>();
  // A table kept for the isolate (a tip walk's, a blame's) is used as it is: not read again, nor
  // held twice (a checkpoint run beside the walk that kept it).
  for (const p of ranged) {
    const index = p.index as RangedPackIndex;
    tables.set(p.id, keptTables.get(index.id) ?? (await PackIdTable.read(index)));
  }
  const byPlace = store.packs.map((p) => tables.get(p.id) ?? null);
  const at = (ids: Uint8Array, from: number): number => {
    for (let k = 0; k < byPlace.length; k++) {
      const table = byPlace[k];
      // A pack without a table (its index whole in memory) is asked through the locator.
      if (!table) return ASK_LOCATOR;
      const found = table.findBytes(ids, from);
      if (found === "index") return ASK_LOCATOR;
      if (found !== null) return k * PACK_SPAN + found;
    }
    return NOWHERE;
  };
  return Object.assign(
    async (oids: readonly Oid[]) => {
      const out = new Array<Location | null>(oids.length).fill(null);
      for (let i = 0; i < oids.length; i++) {
        const oid = oids[i]!;
        for (const pack of store.packs) {
          // Packs without a table have their index whole in memory: their lookups never wait.
          const at = tables.get(pack.id)?.find(oid) ?? "index";
          if (at === null) continue;
          const offset = at === "index" ? (await pack.index.lookup(oid))?.offset : at;
          if (offset === undefined) continue;
          out[i] = { pack, offset };
          break;
        }
      }
      return out;
    },
    { inMemory: true, at },
  );
}

/**
 * Bytes of id tables an isolate keeps, keyed by index (packs are immutable: so are their tables),
 * one cache for every reader, so that a blame and the source pages of the same repository share
 * one copy: a git/git-sized pack's (900,000 objects, 10.8 MB) fits. With 4 MiB (about 350,000
 * objects) a blame on such a repository looked every tree and version up by ranged index reads,
 * nearly each a storage read.
 */
export const KEPT_TABLES_BYTES = edgeCacheBound("git.pack-id-tables", () => keptTables);
let keptTables = keptTablesOf(KEPT_TABLES_BYTES);

function keptTablesOf(bytes: number): ByteLru<string, PackIdTable> {
  return new ByteLru<string, PackIdTable>(bytes, (t) => t.byteSize + 64, bytes);
}

/** The isolate's budget for kept id tables (no reader reads a bigger one); returns it. */
export function keptTablesBudget(): number {
  return keptTables.maxBytes;
}

/** Sets the budget for kept id tables, forgetting those kept (tests); returns the one before. */
export function setKeptTablesBudget(bytes: number): number {
  const before = keptTables.maxBytes;
  keptTables = keptTablesOf(bytes);
  return before;
}

/** A locator for `store.useLocator`, and what its tables weigh (a caller that logs its memory). */
type IdLocator = ((oid: Oid) => Location | null | undefined) & { bytes: number };

/**
 * A locator for `store.useLocator` over `tables` (by index id): a small index held whole answers
 * at once (the packs of the pushes since an import lie before its pack: leaving them to the
 * indexes sent every lookup to the ranged one too); a ranged pack without a table, or an id its
 * table cannot tell, is left to the indexes (undefined). The table answers exactly for ids the
 * pack holds and for ids no object of it begins like; an id it lacks that shares its first 8
 * bytes with one it holds would get that one's place: walks look up what the repository's own
 * commits and trees name, and a whole id in a URL is checked against its object's hash
 * (git/abbrev.ts).
 */
function locatorOver(store: ObjectStore, tables: Map<string, PackIdTable>): IdLocator {
  const locate = (oid: Oid): Location | null | undefined => {
    for (const pack of store.packs) {
      if (pack.index instanceof PackIndex) {
        const position = pack.index.find(oid);
        if (position >= 0) return { pack, offset: pack.index.offsetAt(position) };
        continue;
      }
      const table = pack.index instanceof RangedPackIndex ? tables.get(pack.index.id) : undefined;
      if (!table) return undefined;
      const at = table.find(oid);
      if (at === "index") return undefined;
      if (at !== null) return { pack, offset: at };
    }
    return null;
  };
  return Object.assign(locate, { bytes: [...tables.values()].reduce((n, t) => n + t.byteSize, 0) });
}

/** The ranged indexes of `store`'s packs (a small index is held whole: its lookups never wait). */
function rangedIndexes(store: ObjectStore): RangedPackIndex[] {
  return store.packs.flatMap((p) => (p.index instanceof RangedPackIndex ? [p.index] : []));
}

/**
 * A locator for `store.useLocator` from its packs' id tables, read whole, when they hold at most
 * `maxBytes` (null when they would not fit, or no pack has a ranged index). For a walk that will
 * look up thousands of objects spread over the index (a blame of a long file: a few trees and a
 * version per revision), which by ranges is one storage read per lookup once the ids are spread
 * over more units than are cached. With `keep` (the default) the tables are kept for the
 * isolate, within its budget; without, one already kept is used but none is added, so that work
 * done once (a compaction, whose packs are retired next) frees its tables when it lets go of
 * the locator. `ahead`: batches read side by side (fewer rounds of reads: blame's first request
 * waits for them), their memory held at once.
 */
export async function idTableLocator(
  store: ObjectStore,
  {
    maxBytes = keptTablesBudget(),
    keep = true,
    ahead = 0,
  }: {
    maxBytes?: number;
    keep?: boolean;
    /** Batches of ids read side by side ahead (1.5 MiB each, held at once), for a walk a page waits for. */
    ahead?: number;
  } = {},
): Promise<IdLocator | null> {
  const ranged = rangedIndexes(store);
  const objects = ranged.reduce((n, index) => n + index.count, 0);
  const limit = keep ? Math.min(maxBytes, keptTablesBudget()) : maxBytes;
  if (ranged.length === 0 || objects * ID_TABLE_BYTES_PER_OBJECT > limit) return null;
  const tables = new Map<string, PackIdTable>();
  for (const index of ranged) {
    let table = keptTables.get(index.id);
    if (!table) {
      table = await PackIdTable.read(index, ahead);
      if (keep) keptTables.set(index.id, table);
    }
    tables.set(index.id, table);
  }
  return locatorOver(store, tables);
}

/**
 * Batches of a table (`RangedPackIndex.idBatch`: 1.5 MiB, two reads) a page reads at
 * most: git/git's table is read over seven pages, none of which waits for all of it.
 */
export const TABLE_BATCHES_PER_PAGE = 2;
/** The one table being read (its memory is taken at once, so one at a time). */
let building: { id: string; build: ReturnType<typeof PackIdTable.build> } | null = null;
const tableSteps = new IsolateRuns<PackIdTable | null>();
/** A step that has not finished after this long is taken as lost with its request. */
const TABLE_STEP_STALE_MS = 60_000;

/**
 * A locator for `store.useLocator` on a source page, from the kept id tables of its packs'
 * ranged indexes, once this isolate's lookups in an index have read a third of its size by units
 * (on big.git a cold page made 6 to 200 unit reads, one or two a lookup: nearly all of its
 * storage requests): then its table is read (names and offsets in large reads, a few batches a
 * page, as the index is 28 bytes an object and the table 12) and kept, and lookups in that pack
 * cost nothing after. Until then, or when the tables would not fit, null: the indexes answer.
 */
export async function pageTableLocator(store: ObjectStore): Promise<IdLocator | null> {
  const ranged = rangedIndexes(store);
  if (ranged.length === 0) return null;
  const tables = new Map<string, PackIdTable>();
  for (const index of ranged) {
    const table = keptTables.get(index.id) ?? (await stepTable(index));
    if (table) tables.set(index.id, table);
  }
  return tables.size === 0 ? null : locatorOver(store, tables);
}

/** Reads the next batches of `index`'s table when it is due and fits; the table once whole. */
async function stepTable(index: RangedPackIndex): Promise<PackIdTable | null> {
  if (building && building.id !== index.id) return null;
  if (!building) {
    const bytes = index.count * ID_TABLE_BYTES_PER_OBJECT;
    if (unitBytesReadOf(index.id) * 3 < index.size || bytes + 64 > keptTablesBudget()) return null;
    // Room first (the table's memory is taken at once): the tables least used go, such as those
    // of packs a compaction retired, which nothing asks for again but would otherwise keep their
    // room, and the new pack's table out, for as long as the isolate lives.
    keptTables.makeRoom(bytes + 64);
    building = { id: index.id, build: PackIdTable.build(index) };
  }
  const { build } = building;
  // One request reads a step; others go on by units meanwhile (never waiting on another request).
  return tableSteps.runUnlessBusy(
    index.id,
    async () => {
      const table = await build.step(TABLE_BATCHES_PER_PAGE, index);
      if (table && building?.build === build) {
        building = null;
        keptTables.set(index.id, table);
        shrinkUnitsFor(table.byteSize);
      }
      return table;
    },
    null,
    TABLE_STEP_STALE_MS,
  );
}
