// Raw tree data compared byte by byte, for history walks: which entries of one tree another lacks
// or has with another id, without decoding the entries both have the same (most of a changed
// directory is unchanged). Names are kept as one char per byte (see byteString).
import { bytesToHex, type Oid } from "./oid";

/**
 * Names are kept as one char per byte while walking (much cheaper than decoding UTF-8 for every
 * entry of every tree), and decoded once at the end.
 */
export function byteString(data: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(data[i]!);
  return s;
}

export interface Entry {
  name: string;
  oid: Oid;
  tree: boolean;
}

/** A changed entry of a tree, and the other tree's entry of the same name and kind, if any. */
export interface Changed extends Entry {
  theirs?: { oid: Oid; tree: boolean };
}

/** Positions of one entry in raw tree data. */
function nextEntry(d: Uint8Array, p: number): { name: number; nameEnd: number; oid: number; tree: boolean; end: number } {
  let sp = p;
  while (d[sp] !== 0x20) sp++;
  let nul = sp + 1;
  while (d[nul] !== 0) nul++;
  return { name: sp + 1, nameEnd: nul, oid: nul + 1, tree: d[p] === 0x34, end: nul + 21 };
}

/** git's order of two entries: name bytes, a tree's name compared as if it ended in "/". */
function order(a: Uint8Array, x: ReturnType<typeof nextEntry>, b: Uint8Array, y: ReturnType<typeof nextEntry>): number {
  const la = x.nameEnd - x.name;
  const lb = y.nameEnd - y.name;
  const n = Math.min(la, lb);
  for (let i = 0; i < n; i++) {
    const d = a[x.name + i]! - b[y.name + i]!;
    if (d !== 0) return d;
  }
  const ca = la > n ? a[x.name + n]! : x.tree ? 0x2f : 0;
  const cb = lb > n ? b[y.name + n]! : y.tree ? 0x2f : 0;
  return ca - cb;
}

/**
 * Entries of `mine` that `theirs` lacks or has with another id, compared on the raw bytes (no
 * entry that is the same on both sides is decoded: most of a changed directory is unchanged).
 */
export function changedEntries(mine: Uint8Array, theirs: Uint8Array): Changed[] {
  const out: Changed[] = [];
  let q = 0;
  let y = q < theirs.length ? nextEntry(theirs, q) : null;
  for (let p = 0; p < mine.length; ) {
    const x = nextEntry(mine, p);
    p = x.end;
    let cmp = 1;
    while (y && (cmp = order(mine, x, theirs, y)) > 0) {
      q = y.end;
      y = q < theirs.length ? nextEntry(theirs, q) : null;
    }
    if (y && cmp === 0) {
      let same = true;
      for (let i = 0; i < 20; i++) {
        if (mine[x.oid + i] !== theirs[y.oid + i]) {
          same = false;
          break;
        }
      }
      if (same) continue;
      out.push({
        name: byteString(mine, x.name, x.nameEnd),
        oid: bytesToHex(mine, x.oid, x.oid + 20),
        tree: x.tree,
        theirs: { oid: bytesToHex(theirs, y.oid, y.oid + 20), tree: y.tree },
      });
    } else {
      out.push({ name: byteString(mine, x.name, x.nameEnd), oid: bytesToHex(mine, x.oid, x.oid + 20), tree: x.tree });
    }
  }
  return out;
}
