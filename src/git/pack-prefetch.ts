// Pack windows filled ahead of reads that are known in advance (a listing's or a diff's level of
// trees, a diff page's next blobs): a storage read per cluster of nearby windows instead of one
// per window as each read meets its own (git/range-source.ts `WindowedSource.prefetch`).
import { isResolved, type Location, type ObjectStore, type Pack } from "./object-store";
import { OBJ_OFS_DELTA } from "./pack-format";
import type { Oid } from "./oid";
import { WINDOW } from "./range-source";

/** Rounds of delta bases a prefetch follows down the chains (the reads go on without it past them). */
const PREFETCH_ROUNDS = 8;

export interface PrefetchOptions {
  /** Rounds of delta bases followed (PREFETCH_ROUNDS by default). */
  rounds?: number;
  /**
   * Windows before a delta base's own filled with it, in the same read, when its own is not held
   * yet. A chain's bases lie before its entry, and a tree's a few KB before the last one: on
   * big.git an old directory's chain steps down 30 windows, one window every step or two, so each
   * window it met was a read of its own.
   */
  behind?: number;
}

/**
 * The pack windows holding `oids` (located already) and, round by round, their delta bases,
 * filled in a storage read per cluster of nearby windows (`WindowedSource.prefetch`) before they
 * are read: on long70k.git the 636 trees a listing of 53 commits reads lie in 450 KB of a 145 MB
 * pack, their bases nearby, and read one window at a time their reads waited for each other.
 * Objects the shared cache holds resolved are skipped (their read needs no window, nor do their
 * bases), and so are ids not located yet (`prefetchObjects` locates them first).
 */
export async function prefetchEntries(store: ObjectStore, oids: readonly Oid[], opts: PrefetchOptions = {}): Promise<void> {
  const rounds = opts.rounds ?? PREFETCH_ROUNDS;
  const behind = opts.behind ?? 0;
  let level: Location[] = [];
  for (const oid of oids) {
    const at = store.locatedNow(oid);
    if (at && !isResolved(at.pack, at.offset)) level.push(at);
  }
  for (let round = 0; round < rounds && level.length > 0; round++) {
    const byPack = new Map<Pack, number[]>();
    for (const at of level) {
      let list = byPack.get(at.pack);
      if (!list) byPack.set(at.pack, (list = []));
      list.push(at.offset);
      // A base whose window is not held yet: the rest of its chain most likely lies just before it.
      if (round > 0 && behind > 0 && !at.pack.source.peek?.(at.offset, at.offset + 1))
        for (let k = 1; k <= behind && at.offset - k * WINDOW >= 0; k++) list.push(at.offset - k * WINDOW);
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
export async function prefetchObjects(store: ObjectStore, oids: readonly Oid[], opts?: PrefetchOptions): Promise<void> {
  const unknown = [...new Set(oids)].filter((oid) => store.locatedNow(oid) === undefined).sort();
  if (unknown.length > 0) await store.locateMany(unknown);
  await prefetchEntries(store, oids, opts);
}
