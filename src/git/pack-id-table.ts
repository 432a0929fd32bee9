// A compact in-memory table of a large pack's object ids (their first 8 bytes) and offsets, read
// once from its ranged index by large sequential reads, for work that looks up hundreds of
// thousands of objects in an order no cache can follow: the commit-graph build of an import
// (git/commit-graph-build.ts), which at git/git's 900,000 objects otherwise swept the whole 25 MB
// index through the 10 MiB page cache once per tree level of every batch of commits (6.8 GB read).
import type { Location, ObjectStore } from "./object-store";
import type { Oid } from "./oid";
import { PackIndex } from "./pack-index";
import { RangedPackIndex } from "./pack-index-ranged";
import { ByteLru } from "../utils/lru";

/** 12 bytes an object: 8 of its id, 4 of its offset. */
export const ID_TABLE_BYTES_PER_OBJECT = 12;
/** The most memory the tables of one lookup pass may hold (about 1.4 million objects). */
export const ID_TABLE_BUDGET = 16 * 1024 * 1024;
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

  static async read(index: RangedPackIndex): Promise<PackIdTable> {
    const n = index.count;
    const hi = new Uint32Array(n);
    const lo = new Uint32Array(n);
    const offsets = new Uint32Array(n);
    for await (const { from, names, offsets: offs } of index.nameBatches()) {
      const nv = new DataView(names.buffer, names.byteOffset, names.length);
      const ov = new DataView(offs.buffer, offs.byteOffset, offs.length);
      for (let k = 0; k * 20 < names.length; k++) {
        const i = from + k;
        hi[i] = nv.getUint32(k * 20);
        lo[i] = nv.getUint32(k * 20 + 4);
        const o = ov.getUint32(k * 4);
        offsets[i] = o & 0x80000000 ? ASK_INDEX : o;
        if (i > 0 && hi[i] === hi[i - 1] && lo[i] === lo[i - 1]) offsets[i] = offsets[i - 1] = ASK_INDEX;
      }
    }
    return new PackIdTable(hi, lo, offsets);
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
    const h = word(oid, 0);
    const l = word(oid, 8);
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

/** Locations of many ids; `inMemory` when tables answer them (no storage read per batch). */
export type BulkLocator = ((oids: readonly Oid[]) => Promise<(Location | null)[]>) & { inMemory: boolean };

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
  for (const p of ranged) tables.set(p.id, await PackIdTable.read(p.index as RangedPackIndex));
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
    { inMemory: true },
  );
}

/** Bytes of id tables an isolate keeps for `idTableLocator` (packs are immutable: so are their tables). */
export const KEPT_TABLES_BYTES = 4 * 1024 * 1024;
const keptTables = new ByteLru<string, PackIdTable>(KEPT_TABLES_BYTES, (t) => t.byteSize + 64, KEPT_TABLES_BYTES);

/**
 * A locator for `store.useLocator` from its packs' id tables, read whole, when they hold at most
 * `maxBytes` (null when they would not fit, or no pack has a ranged index: a small index is held
 * whole and its lookups never wait). For a walk that will look up thousands of objects spread
 * over the index (a blame of a long file: a few trees and a version per revision), which by
 * ranges is one storage read per lookup once the ids are spread over more units than are cached.
 */
export async function idTableLocator(
  store: ObjectStore,
  maxBytes: number,
): Promise<(((oid: Oid) => Location | null | undefined) & { bytes: number }) | null> {
  const ranged = store.packs.filter((p) => p.index instanceof RangedPackIndex);
  const objects = ranged.reduce((n, p) => n + p.index.count, 0);
  if (ranged.length === 0 || objects * ID_TABLE_BYTES_PER_OBJECT > maxBytes) return null;
  const tables = new Map<string, PackIdTable>();
  for (const p of ranged) {
    let table = keptTables.get(p.id);
    if (!table) keptTables.set(p.id, (table = await PackIdTable.read(p.index as RangedPackIndex)));
    tables.set(p.id, table);
  }
  const locate = (oid: Oid): Location | null | undefined => {
    for (const pack of store.packs) {
      const table = tables.get(pack.id);
      if (!table) {
        // A small index held whole answers at once (the packs of the pushes since an import lie
        // before its pack: asking the indexes for them sent every lookup to the ranged one too).
        if (!(pack.index instanceof PackIndex)) return undefined;
        const position = pack.index.find(oid);
        if (position >= 0) return { pack, offset: pack.index.offsetAt(position) };
        continue;
      }
      // An id the table cannot tell: the indexes answer.
      const at = table.find(oid);
      if (at === "index") return undefined;
      if (at !== null) return { pack, offset: at };
    }
    return null;
  };
  // What the tables weigh (a caller that logs its memory).
  return Object.assign(locate, { bytes: [...tables.values()].reduce((n, t) => n + t.byteSize, 0) });
}
