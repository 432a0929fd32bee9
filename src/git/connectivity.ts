// Connectivity of a received pack, from the links its objects carry (collected while indexing
// into spilled sorted runs, git/spill.ts): every object they name, and every new ref value, must
// be in the pack or already in the repository (which is connected: every pack was checked when it
// arrived). One merge of the sorted links with the pack's sorted ids answers it, and finds the
// objects of the pack nothing links to, which tell whether the pack is the closure of its tips;
// memory stays within the links' budget and a window of ids, whatever the pack's size.
import { corruptPack } from "./errors";
import { bytesToHex, hexToBytes, type Oid } from "./oid";
import { OidSet } from "./oid-set";
import type { PackIndex } from "./pack-index";
import type { RangeSource } from "./range-source";
import { compareRecords, SpillRuns, type SpillStore } from "./spill";
import { Pacer } from "../utils/pace";

/**
 * Bytes the link runs of one pack may hold (git/spill.ts): about 80,000 links sort in memory, so a
 * push of thousands of objects writes nothing out; a larger pack spills parts of 1.5 MiB. 4 MiB,
 * not 8: they are held through both passes of the indexer, where the push isolate peaks.
 */
export const LINK_SPILL_BUDGET = 4 * 1024 * 1024;
/** Links compared between two yields: a few ms of work. */
const LINKS_PER_SLICE = 8192;
/** Pack ids read at once (160 KiB). */
const ID_WINDOW = 8192;
/** Ids outside the pack asked of the repository at once. */
const OUTSIDE_BATCH = 4096;
/** Where a version 2 .idx's sorted ids begin (after the header and fan-out table). */
const IDX_NAMES = 8 + 256 * 4;

/** Spill runs for what a pack's objects link to (20-byte ids; collectLinks adds to them). */
export const linkRuns = (store: SpillStore, budget = LINK_SPILL_BUDGET): SpillRuns => new SpillRuns({ width: 20, budget, store });

/** A pack's ids in ascending order, read by ranges. */
export interface SortedIds {
  count: number;
  /** Ids [from, to) as consecutive 20-byte names. */
  read(from: number, to: number): Promise<Uint8Array>;
  /** Ids [from, from + into.length / 20) read into `into` (no buffer per window); returns the filled view. */
  readInto?(from: number, into: Uint8Array): Promise<Uint8Array>;
}

/** The ids of an index in memory: views into it, no copy. */
export function indexIds(index: PackIndex): SortedIds {
  return {
    count: index.count,
    read: async (from, to) => index.bytes.subarray(IDX_NAMES + from * 20, IDX_NAMES + to * 20),
  };
}

/** The ids of a version 2 .idx in storage, by ranged reads (the fan-out's last entry is the count). */
export async function idxIds(source: RangeSource): Promise<SortedIds> {
  const last = await source.read(IDX_NAMES - 4, IDX_NAMES);
  const count = new DataView(last.buffer, last.byteOffset, 4).getUint32(0);
  return {
    count,
    read: (from, to) => source.read(IDX_NAMES + from * 20, IDX_NAMES + to * 20),
    readInto: source.readInto && ((from, into) => source.readInto!(IDX_NAMES + from * 20, into)),
  };
}

export interface Connectivity {
  /** An id linked to, or a tip, that neither the pack nor the repository has; or null. */
  missing: Oid | null;
  /**
   * The pack's objects nothing in it links to (tips among them), when there are no more of them
   * than tips; else null (the pack cannot be the closure of those tips).
   */
  unlinked: Set<Oid> | null;
}

/**
 * Merges the sorted links with the pack's ids (none when the push sent no objects); what is not
 * in the pack is asked of the repository (`elsewhere` answers which of a batch it has). Reads the
 * runs once; the caller disposes of them.
 */
export async function checkConnectivity(
  links: SpillRuns,
  pack: SortedIds | null,
  tips: Oid[],
  elsewhere: (oids: Oid[]) => Promise<Oid[]> = async () => [],
): Promise<Connectivity> {
  const tipSet = new OidSet();
  for (const tip of tips) tipSet.add(hexToBytes(tip));
  const tipsInPack = new Set<Oid>();
  let unlinked: Set<Oid> | null = new Set();
  const ids = new IdCursor(pack ?? { count: 0, read: async () => new Uint8Array(0) });
  /** A pack id nothing links to (so far in the merge: ids come in order, links too). */
  const noteUnlinked = (id: Uint8Array, at: number) => {
    const view = id.subarray(at, at + 20);
    if (tipSet.has(view)) tipsInPack.add(bytesToHex(view));
    if (unlinked === null) return;
    unlinked.add(bytesToHex(view));
    if (unlinked.size > tipSet.size) unlinked = null;
  };
  let outside: Oid[] = [];
  const ask = async (): Promise<Oid | null> => {
    const batch = outside;
    outside = [];
    if (batch.length === 0) return null;
    const present = new Set(await elsewhere(batch));
    return batch.find((oid) => !present.has(oid)) ?? null;
  };

  const pacer = new Pacer(LINKS_PER_SLICE);
  for await (const batch of links.sorted()) {
    for (let at = 0; at < batch.length; at += 20) {
      // Pack ids before this link are linked by nothing (links come in order too).
      let cmp = 1;
      while (ids.more || (await ids.load())) {
        cmp = compareRecords(ids.bytes, ids.at, batch, at, 20);
        if (cmp >= 0) break;
        noteUnlinked(ids.bytes, ids.at);
        ids.next();
        cmp = 1;
      }
      if (cmp === 0) {
        if (tipSet.has(batch, at)) tipsInPack.add(bytesToHex(batch.subarray(at, at + 20)));
        ids.next();
      } else {
        outside.push(bytesToHex(batch.subarray(at, at + 20)));
        const missing = outside.length >= OUTSIDE_BATCH ? await ask() : null;
        if (missing) return { missing, unlinked: null };
      }
      const paused = pacer.tick();
      if (paused) await paused;
    }
  }
  while (ids.more || (await ids.load())) {
    noteUnlinked(ids.bytes, ids.at);
    ids.next();
    const paused = pacer.tick();
    if (paused) await paused;
  }
  for (const tip of new Set(tips)) if (!tipsInPack.has(tip)) outside.push(tip);
  const missing = await ask();
  return { missing, unlinked: missing ? null : unlinked };
}

/**
 * True when the pack holds exactly what `tips` (among those checked) reach. With connectivity
 * established, an object no other object links to and that is no tip is unreachable; in a DAG,
 * if none is like that, all are reachable. So: every object nothing links to is a tip.
 */
export function isClosure(check: Connectivity, tips: Iterable<Oid>): boolean {
  if (check.missing !== null || check.unlinked === null) return false;
  const tipSet = new Set(tips);
  for (const oid of check.unlinked) if (!tipSet.has(oid)) return false;
  return true;
}

/** Walks a pack's sorted ids by windows. */
class IdCursor {
  bytes: Uint8Array = new Uint8Array(0);
  at = 0;
  private from = 0;
  /** The window the ids are read into, when the source reads into buffers. */
  private own: Uint8Array | null = null;
  constructor(private readonly ids: SortedIds) {}
  /** There is a current id (false at the end). */
  get more(): boolean {
    return this.at < this.bytes.length;
  }
  /** Reads the next window (the current one is used up); false at the end. */
  async load(): Promise<boolean> {
    if (this.from >= this.ids.count) return false;
    const to = Math.min(this.ids.count, this.from + ID_WINDOW);
    if (this.ids.readInto) {
      // The read may detach the buffer: the view is made again over the memory it hands back.
      const own = this.own ?? new Uint8Array(ID_WINDOW * 20);
      this.bytes = await this.ids.readInto(this.from, own.subarray(0, (to - this.from) * 20));
      this.own = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, ID_WINDOW * 20);
    } else this.bytes = await this.ids.read(this.from, to);
    if (this.bytes.length !== (to - this.from) * 20) throw corruptPack("truncated pack index");
    this.at = 0;
    this.from = to;
    return true;
  }
  next(): void {
    this.at += 20;
  }
}
