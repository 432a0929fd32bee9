// The isolate's cache of pack index units (git/pack-index-ranged.ts): aligned reads of an index
// kept as the buffers they came in, shared by every pack and request, bounded in bytes
// (utils/edge-budget.ts), with what each index has cost in reads so far.
import { corruptPack } from "./errors";
import type { RangeSource } from "./range-source";
import { ByteLru, heldBytes, ownBytes } from "../utils/lru";
import { inflightReads } from "../utils/request-scope";
import { Units } from "./pack-index-units";
import { edgeCacheBound } from "../utils/edge-budget";

/**
 * Bytes of index read together on a miss (aligned). A unit is cached as the buffer its read
 * returned: no copy, one cache entry (it was 64 copied 4 KiB pages a 256 KiB read, each an
 * entry: half the busy time of a compare page on big.git). 32 KiB, not 256: a lookup reads only
 * the names around the id's estimated place (`windowMargin`), and on big.git (25 MB of index, a
 * 10 MiB cache) cold path logs spent less time in all with 32 KiB reads, a fifth more of them,
 * than with 256 KiB ones (tree-probe, four runs each, back to back).
 */
const UNIT = 32 * 1024;
/** Bytes of a unit (for tests). */
export const RANGED_UNIT = UNIT;

/**
 * Bytes of index units kept. Ids hash evenly, so a walk over a repository's history looks up all
 * over the index: below the size of its names and offsets (24 bytes an object: 7.7 MB for the
 * 320,000-object benchmark repository) nearly every lookup is a storage request again.
 */
export const RANGED_PAGE_BUDGET = edgeCacheBound("git.index-units", () => units);
const newUnitCache = (bytes: number) => new ByteLru<string, Uint8Array>(bytes, (u) => heldBytes(u) + 64);
/** Index units of every pack, shared by the isolate's requests (indexes are immutable). */
let units = newUnitCache(RANGED_PAGE_BUDGET);
/** Bytes a unit holds: UNIT, or less when the cache is small (a sixteenth of it, at least 4 KiB), so that one read never flushes it. */
let unitBytes = UNIT;

/**
 * For tests: an empty unit cache of `bytes` (returns the previous budget), so that an index larger
 * than the cache, as a large repository's is in production, fits in a test.
 */
export function setRangedPageBudget(bytes: number): number {
  const before = units.maxBytes;
  units = newUnitCache(bytes);
  unitBytes = Math.max(4096, Math.min(UNIT, Math.floor(bytes / 4096 / 16) * 4096));
  return before;
}

/** Bytes the shared unit cache holds now (for tests and benchmarks). */
export const rangedPageBytes = (): number => units.bytes;

/**
 * Bytes of units this isolate has read from storage, per index (by source id): what its lookups
 * have cost so far, against which reading its id table once pays (pack-id-table.ts `pageTableLocator`).
 */
const unitReads = new Map<string, number>();
export const unitBytesReadOf = (sourceId: string): number => unitReads.get(sourceId) ?? 0;

/**
 * Gives `bytes` of the unit budget to id tables kept for pages (which answer what units would):
 * the unit cache starts again with what is left, at least a fifth of the budget.
 */
export function shrinkUnitsFor(bytes: number): void {
  const left = Math.max(Math.floor(RANGED_PAGE_BUDGET / 5), units.maxBytes - bytes);
  if (left < units.maxBytes) units = newUnitCache(left);
}

/** Bytes a unit holds now (UNIT unless the cache was made small). */
export const unitSize = (): number => unitBytes;

const unitKey = (source: RangeSource, u: number): string => `${source.id}#${unitBytes}#${u}`;

/** The units of `source` holding bytes [start, end) when the cache has them all (no wait), else null. */
export function unitsNow(source: RangeSource, start: number, end: number): Units | null {
  const size = unitBytes;
  const first = Math.floor(start / size);
  const last = Math.floor((end - 1) / size);
  const parts: Uint8Array[] = [];
  for (let u = first; u <= last; u++) {
    const hit = units.get(unitKey(source, u));
    if (!hit) return null;
    parts.push(hit);
  }
  return new Units(parts, first, size);
}

/**
 * The units of `source` holding bytes [start, end) through the unit cache: each missing unit is one
 * read (`onRead` counts it), all of them side by side (and joined by the request's other lookups of
 * the same unit).
 */
export async function unitsOf(source: RangeSource, start: number, end: number, onRead: () => void): Promise<Units> {
  const size = unitBytes;
  const first = Math.floor(start / size);
  const last = Math.floor((end - 1) / size);
  const inflight = inflightReads<Uint8Array>();
  const got: (Uint8Array | Promise<Uint8Array>)[] = [];
  for (let u = first; u <= last; u++) {
    const key = unitKey(source, u);
    got.push(units.get(key) ?? inflight.get(key) ?? fetchUnit(source, u, size, key, onRead));
  }
  const parts = await Promise.all(got);
  if ((last - first) * size + parts[parts.length - 1]!.length < end - first * size) throw corruptPack("truncated pack index");
  return new Units(parts, first, size);
}

function fetchUnit(source: RangeSource, u: number, size: number, key: string, onRead: () => void): Promise<Uint8Array> {
  const inflight = inflightReads<Uint8Array>();
  onRead();
  if (unitReads.size >= 1000) unitReads.clear();
  unitReads.set(source.id, unitBytesReadOf(source.id) + size);
  // Kept as read (a storage read returns a buffer of its own; a view into a larger one, as
  // from memory, is copied so that the cache never holds more than it counts).
  const unit = source.read(u * size, (u + 1) * size).then((b) => {
    const own = ownBytes(b);
    units.set(key, own);
    return own;
  });
  unit.finally(() => inflight.delete(key)).catch(() => undefined);
  inflight.set(key, unit);
  return unit;
}
