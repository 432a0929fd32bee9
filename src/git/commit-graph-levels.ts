// The tree diffs of the commit-graph build (git/commit-graph-build.ts): the paths each commit
// changes against its first parent, as git lists them for a changed-path Bloom filter, computed
// for many commits level by level on binary ids.
import { yieldToOthers } from "./budget";
import { GitError } from "./errors";
import { MAX_CHANGED_PATHS } from "./bloom";
import type { GitObject, Location, ObjectStore, Pack } from "./object-store";
import { hexInto, oidAt, type Oid } from "./oid";
import { ASK_LOCATOR, NOWHERE, PACK_SPAN } from "./pack-id-table";
import { byteString } from "./tree-changes";

/** The space after the mode of the tree entry at `p` (its name runs from there to a nul). */
function spaceAt(d: Uint8Array, p: number): number {
  while (d[p] !== 0x20) p++;
  return p;
}

function nulAt(d: Uint8Array, space: number): number {
  let nul = space + 1;
  while (d[nul] !== 0) nul++;
  return nul;
}

/** Whether the entry at `p` (its mode ends at `space`) is a directory (mode 40000). */
const isTree = (d: Uint8Array, p: number, space: number) => space - p === 5 && d[p] === 0x34;

/**
 * git's order of two entries (name bytes, a directory's name compared as if it ended in "/"),
 * each given by its space, its nul and whether it is a directory.
 */
function entryOrder(
  a: Uint8Array,
  as: number,
  an: number,
  at: boolean,
  b: Uint8Array,
  bs: number,
  bn: number,
  bt: boolean,
): number {
  const la = an - as - 1;
  const lb = bn - bs - 1;
  const n = Math.min(la, lb);
  for (let i = 1; i <= n; i++) {
    const d = a[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  const ca = la > n ? a[as + 1 + n]! : at ? 0x2f : 0;
  const cb = lb > n ? b[bs + 1 + n]! : bt ? 0x2f : 0;
  return ca - cb;
}

const sameBytes = (a: Uint8Array, from: number, to: number, b: Uint8Array, at: number) => {
  for (let i = from; i < to; i++) if (a[i] !== b[at + i - from]) return false;
  return true;
};

/**
 * Each entry that differs between raw trees `a` and `b` (missing on one side, or another mode or
 * id), in git's order: its name (one char per byte) and, for each side where it is a directory,
 * where the directory's 20-byte id starts in that side's tree (-1: not a directory there).
 * Entries both have the same are compared as bytes, never decoded. Entries are walked by their
 * offsets in plain numbers: an object per entry was the build's largest garbage (660 MB over
 * git/git's history), and a hex string per changed directory the next.
 */
function forEachDifference(a: Uint8Array, b: Uint8Array, each: (name: string, left: number, right: number) => void): void {
  let p = 0;
  let q = 0;
  // Entry x of a: mode [p, xs), name (xs, xn), id after xn; entry y of b likewise.
  let xs = p < a.length ? spaceAt(a, p) : 0;
  let xn = p < a.length ? nulAt(a, xs) : 0;
  let ys = q < b.length ? spaceAt(b, q) : 0;
  let yn = q < b.length ? nulAt(b, ys) : 0;
  while (p < a.length || q < b.length) {
    const xt = p < a.length && isTree(a, p, xs);
    const yt = q < b.length && isTree(b, q, ys);
    const cmp = p >= a.length ? 1 : q >= b.length ? -1 : entryOrder(a, xs, xn, xt, b, ys, yn, yt);
    if (cmp === 0) {
      const same = xs - p === ys - q && sameBytes(a, p, xs, b, q) && sameBytes(a, xn + 1, xn + 21, b, yn + 1);
      if (!same) each(byteString(a, xs + 1, xn), xt ? xn + 1 : -1, yt ? yn + 1 : -1);
    } else if (cmp < 0) each(byteString(a, xs + 1, xn), xt ? xn + 1 : -1, -1);
    else each(byteString(b, ys + 1, yn), -1, yt ? yn + 1 : -1);
    if (cmp <= 0) {
      p = xn + 21;
      if (p < a.length) xn = nulAt(a, (xs = spaceAt(a, p)));
    }
    if (cmp >= 0) {
      q = yn + 21;
      if (q < b.length) yn = nulAt(b, (ys = spaceAt(b, q)));
    }
  }
}

/**
 * The tree pairs of one level: for pair k, the commit it is for, the two trees' ids (bytes
 * [40k, 40k + 20) and [40k + 20, 40k + 40) of `ids`, a side without a tree marked in `sides`),
 * their locations once found, and the path they are at. Two are kept and swapped level by level,
 * so a whole build's levels reuse the same arrays.
 */
class Level {
  count = 0;
  who = new Int32Array(256);
  ids = new Uint8Array(256 * 40);
  /** Bit 1: the left side has a tree; bit 2: the right side. */
  sides = new Uint8Array(256);
  /** Locations as `BulkLocator.at` answers them (two per pair). */
  where = new Float64Array(512);
  prefix: string[] = [];

  reset(): void {
    this.count = 0;
    this.prefix.length = 0;
  }

  push(who: number, left: Uint8Array | null, leftAt: number, right: Uint8Array | null, rightAt: number, prefix: string): void {
    const k = this.count++;
    if (k === this.who.length) this.grow();
    this.who[k] = who;
    this.sides[k] = (left ? 1 : 0) | (right ? 2 : 0);
    // Byte by byte: a view to copy from would be an object per changed directory.
    const ids = this.ids;
    if (left) for (let j = 0; j < 20; j++) ids[k * 40 + j] = left[leftAt + j]!;
    if (right) for (let j = 0; j < 20; j++) ids[k * 40 + 20 + j] = right[rightAt + j]!;
    this.prefix[k] = prefix;
  }

  private grow(): void {
    const n = this.who.length * 2;
    const who = new Int32Array(n);
    who.set(this.who);
    const ids = new Uint8Array(n * 40);
    ids.set(this.ids);
    const sides = new Uint8Array(n);
    sides.set(this.sides);
    this.who = who;
    this.ids = ids;
    this.sides = sides;
    this.where = new Float64Array(n * 2);
  }
}

/**
 * Paths that differ between two trees (either may be absent), with their parent directories, as
 * git lists them for a Bloom filter; null past git's limit of changed paths.
 */
export async function changedPaths(store: ObjectStore, before: Oid | null, after: Oid | null): Promise<string[] | null> {
  return (await changedPathsOfMany(store, [{ before, after }]))[0]!;
}

const EMPTY = new Uint8Array(0);

/** Finds the locations of ids by hex (a store's `locateMany`), and, when tables answer, by bytes. */
export type TreeLocator = ((oids: readonly Oid[]) => Promise<(Location | null)[]>) & {
  at?(ids: Uint8Array, at: number): number;
};

/** Reads trees by pack location (the build's reader, or the store). */
export interface TreeSource {
  readAt(pack: Pack, offset: number, keep?: boolean): Promise<GitObject>;
  peek?(pack: Pack, offset: number, keep?: boolean): GitObject | null;
}

/**
 * `changedPaths` of many commits at once (each its first parent's tree and its own), level by
 * level: the trees of a level are located together before any is read. With tables in memory
 * (`locateMany.at`) each id is found from its bytes; otherwise the level's ids are located in id
 * order: a large pack's index is read by ranges through a cache smaller than it, and ids hash
 * evenly, so one lookup at a time makes nearly every lookup a storage read of its own (at
 * git/git's 900,000 objects, hundreds of thousands of them for a whole history); sorted, the
 * lookups of a level share the index pages they fall in.
 */
export async function changedPathsOfMany(
  store: ObjectStore,
  pairs: readonly { before: Oid | null; after: Oid | null }[],
  locateMany: TreeLocator = (oids) => store.locateMany(oids),
  trees: TreeSource = store,
): Promise<(string[] | null)[]> {
  const out: (Set<string> | null)[] = pairs.map(() => new Set<string>());
  let level = new Level();
  let next = new Level();
  const root = new Uint8Array(40);
  for (let i = 0; i < pairs.length; i++) {
    const { before, after } = pairs[i]!;
    if (before === after) continue;
    if (before) hexInto(before, root);
    if (after) hexInto(after, root.subarray(20));
    level.push(i, before ? root : null, 0, after ? root : null, 20, "");
  }
  const packPlace = new Map(store.packs.map((p, k) => [p, k]));
  while (level.count > 0) {
    await locate(level, locateMany, packPlace);
    const { ids, where } = level;
    const treeData = (k: number, obj: GitObject) => {
      if (obj.type !== "tree") throw new GitError("missing_object", `object ${oidAt(ids, k * 20)} is a ${obj.type}, not a tree`);
      return obj.data;
    };
    // A tree the reader holds is taken without an await (a promise per read was the garbage of
    // hundreds of thousands of reads). `k` is the side's number: 2 * pair + (0 left, 1 right).
    const read = (k: number, keep = false): Uint8Array | Promise<Uint8Array> => {
      const w = where[k]!;
      if (w === NOWHERE) return EMPTY;
      const pack = store.packs[Math.floor(w / PACK_SPAN)]!;
      const offset = w % PACK_SPAN;
      const held = trees.peek?.(pack, offset, keep);
      if (held) return treeData(k, held);
      return trees.readAt(pack, offset, keep).then((obj) => treeData(k, obj));
    };
    next.reset();
    for (let n = 0; n < level.count; n++) {
      const i = level.who[n]!;
      const paths = out[i];
      if (!paths) continue;
      // One side at a time, the first kept aside: the build's reader hands out views of a ring
      // that the second read may come round to.
      let x = read(2 * n, true);
      if (x instanceof Promise) x = await x;
      let y = read(2 * n + 1);
      if (y instanceof Promise) y = await y;
      const prefix = level.prefix[n]!;
      const left = x;
      const right = y;
      forEachDifference(left, right, (name, lt, rt) => {
        if (!out[i]) return;
        const path = prefix + name;
        paths.add(path);
        if (paths.size > MAX_CHANGED_PATHS) out[i] = null;
        else if (lt >= 0 || rt >= 0) next.push(i, lt >= 0 ? left : null, lt, rt >= 0 ? right : null, rt, `${path}/`);
      });
      if (n % 64 === 63) await yieldToOthers();
    }
    [level, next] = [next, level];
  }
  return out.map((paths) => (paths ? [...paths] : null));
}

/**
 * Fills `level.where`: each side's location from its bytes when tables answer, else (a pack
 * without a table, an id its table cannot tell) through the locator by hex, sorted and once each.
 */
async function locate(level: Level, locateMany: TreeLocator, packPlace: Map<Pack, number>): Promise<void> {
  const { ids, sides, where } = level;
  const asked = new Map<Oid, number[]>();
  for (let k = 0; k < level.count * 2; k++) {
    if (!(sides[k >> 1]! & (1 << (k & 1)))) {
      where[k] = NOWHERE;
      continue;
    }
    const w = locateMany.at ? locateMany.at(ids, k * 20) : ASK_LOCATOR;
    if (w === NOWHERE) throw new GitError("missing_object", `object ${oidAt(ids, k * 20)} is missing`);
    where[k] = w;
    if (w !== ASK_LOCATOR) continue;
    const oid = oidAt(ids, k * 20);
    const sidesOf = asked.get(oid);
    if (sidesOf) sidesOf.push(k);
    else asked.set(oid, [k]);
  }
  if (asked.size === 0) return;
  const sorted = [...asked.keys()].sort();
  const found = await locateMany(sorted);
  for (let j = 0; j < sorted.length; j++) {
    const at = found[j];
    if (!at) throw new GitError("missing_object", `object ${sorted[j]} is missing`);
    const w = packPlace.get(at.pack)! * PACK_SPAN + at.offset;
    for (const k of asked.get(sorted[j]!)!) where[k] = w;
  }
}
