// Pack windows filled ahead of reads that are known in advance (a listing's or a diff's level of
// trees, a diff page's next blobs): a storage read per cluster of nearby windows instead of one
// per window as each read meets its own (git/range-source.ts `WindowedSource.prefetch`).
import { isResolved, type Location, type ObjectStore, type Pack } from "./object-store";
import { OBJ_OFS_DELTA } from "./pack-format";
import type { Oid } from "./oid";

/** Rounds of delta bases a prefetch follows down the chains (the reads go on without it past them). */
const PREFETCH_ROUNDS = 8;

/**
 * The pack windows holding `oids` (located already) and, round by round, their delta bases,
 * filled in a storage read per cluster of nearby windows (`WindowedSource.prefetch`) before they
 * are read: on long70k.git the 636 trees a listing of 53 commits reads lie in 450 KB of a 145 MB
 * pack, their bases nearby, and read one window at a time their reads waited for each other.
 * Objects the shared cache holds resolved are skipped (their read needs no window, nor do their
 * bases), and so are ids not located yet (`prefetchObjects` locates them first).
 */
export async function prefetchEntries(store: ObjectStore, oids: readonly Oid[]): Promise<void> {
  let level: Location[] = [];
  for (const oid of oids) {
    const at = store.locatedNow(oid);
    if (at && !isResolved(at.pack, at.offset)) level.push(at);
  }
  for (let round = 0; round < PREFETCH_ROUNDS && level.length > 0; round++) {
    const byPack = new Map<Pack, number[]>();
    for (const at of level) {
      const list = byPack.get(at.pack);
      if (list) list.push(at.offset);
      else byPack.set(at.pack, [at.offset]);
    }
    const filled = await Promise.all(
      [...byPack].map(async ([pack, offsets]) => {
        const source = pack.source as { prefetch?: (offsets: readonly number[]) => Promise<void> };
        if (!source.prefetch) return false;
        await source.prefetch(offsets);
        return true;
      }),
    );
    if (!filled.some(Boolean)) return;
    const next: Location[] = [];
    for (const at of level) {
      // From the window just filled (no storage read); a base named by id is left to the read.
      const header = await at.pack.header(at.offset);
      if (header.type === OBJ_OFS_DELTA && !isResolved(at.pack, header.baseOffset!))
        next.push({ pack: at.pack, offset: header.baseOffset! });
    }
    level = next;
  }
}

/**
 * `oids` located (those not known yet, in one sorted batch: a ranged index reads each of its
 * pages once for all of them) and their windows filled (`prefetchEntries`).
 */
export async function prefetchObjects(store: ObjectStore, oids: readonly Oid[]): Promise<void> {
  const unknown = [...new Set(oids)].filter((oid) => store.locatedNow(oid) === undefined).sort();
  if (unknown.length > 0) await store.locateMany(unknown);
  await prefetchEntries(store, oids);
}
