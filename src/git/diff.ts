// Line diffs (Myers, with a cost cap and a unique-line fallback for huge changes). Unified hunks
// are hunks.ts, tree diffs tree-diff.ts.
import { DiffBuffers } from "./diff-buffers";

// ---- Lines

export interface TextLines {
  lines: string[];
  /** False when the text does not end with a newline (git's "\ No newline at end of file"). */
  eol: boolean;
}

export function splitLines(text: string): TextLines {
  if (text === "") return { lines: [], eol: true };
  const lines = text.split("\n");
  const eol = lines[lines.length - 1] === "";
  if (eol) lines.pop();
  return { lines, eol };
}

/** git's heuristic: a NUL byte in the first 8000 bytes makes a file binary. */
export function isBinary(data: Uint8Array): boolean {
  const n = Math.min(data.length, 8000);
  for (let i = 0; i < n; i++) if (data[i] === 0) return true;
  return false;
}

// ---- Line diff

/** A run of lines: equal in both sides, or lines of `a` replaced by lines of `b` (either may be empty). */
export interface Chunk {
  equal: boolean;
  aStart: number;
  aLen: number;
  bStart: number;
  bLen: number;
}

/** Edit distance past which Myers gives up on a region (its memory grows with the square). */
const MAX_D = 1000;

/** Work a diff did, for tests and Server-Timing: line comparisons (equal or not). */
export interface DiffStats {
  compared: number;
}

/**
 * Diffs two line lists. Lines are compared as strings; a last line without a newline differs
 * from the same line with one (pass `aEol`/`bEol`).
 */
export function diffLines(a: string[], b: string[], aEol = true, bEol = true): Chunk[] {
  const ids = new Map<string, number>();
  const idOf = (s: string) => {
    let id = ids.get(s);
    if (id === undefined) ids.set(s, (id = ids.size));
    return id;
  };
  const lineA = (i: number) => (!aEol && i === a.length - 1 ? `${a[i]}\0noeol` : a[i]!);
  const lineB = (i: number) => (!bEol && i === b.length - 1 ? `${b[i]}\0noeol` : b[i]!);
  const ai = new Int32Array(a.length);
  const bi = new Int32Array(b.length);
  // Lines the two sides share at the start and the end (most of a big file that a commit
  // touches) are interned once for both.
  let head = 0;
  while (head < a.length && head < b.length && lineA(head) === lineB(head)) ai[head] = bi[head] = idOf(lineA(head++));
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && lineA(a.length - 1 - tail) === lineB(b.length - 1 - tail)) {
    ai[a.length - 1 - tail] = bi[b.length - 1 - tail] = idOf(lineA(a.length - 1 - tail));
    tail++;
  }
  for (let i = head; i < a.length - tail; i++) ai[i] = idOf(lineA(i));
  for (let i = head; i < b.length - tail; i++) bi[i] = idOf(lineB(i));
  return diffIds(ai, bi);
}

/**
 * Diffs two versions given as line ids (equal ids: equal lines; line-ids.ts keeps them across the
 * versions of a file). Past the common head and tail,
 * Myers' walk compares ids along its diagonals: about one comparison per unchanged line plus the
 * square of the number of changes.
 */
export function diffIds(a: Int32Array, b: Int32Array, stats: DiffStats = { compared: 0 }, buffers?: DiffBuffers): Chunk[] {
  const { ca, cb } = changedLines(a, b, stats, buffers ?? new DiffBuffers());
  return chunksOf(ca, cb);
}

/**
 * The equal runs of the same diff as `diffIds`, into `buffers.runs` as (aStart, bStart, length)
 * triples, in order; returns how many runs. Nothing is allocated once the buffers are big enough:
 * blame diffs hundreds of versions of a file, and a new set of arrays for each diff made most of its
 * garbage (bench/scale-results.md).
 */
export function equalRuns(a: Int32Array, b: Int32Array, stats: DiffStats, buffers: DiffBuffers): number {
  const { ca, cb } = changedLines(a, b, stats, buffers);
  const runs = buffers.ints("runs", 3 * (Math.min(a.length, b.length) + 1));
  let n = 0;
  let x = 0;
  let y = 0;
  while (x < ca.length && y < cb.length) {
    if (ca[x] || cb[y]) {
      while (x < ca.length && ca[x]) x++;
      while (y < cb.length && cb[y]) y++;
      continue;
    }
    const x0 = x;
    const y0 = y;
    while (x < ca.length && y < cb.length && !ca[x] && !cb[y]) {
      x++;
      y++;
    }
    runs[3 * n] = x0;
    runs[3 * n + 1] = y0;
    runs[3 * n + 2] = x - x0;
    n++;
  }
  return n;
}

/** The changed-line flags of both sides (1: changed), compacted as git does. */
function changedLines(a: Int32Array, b: Int32Array, stats: DiffStats, buffers: DiffBuffers): Matched {
  // Changed-line flags per side (matched lines cleared), then git's compaction: slide each group
  // of changes down as far as it goes, unless it can line up with a change on the other side.
  const ca = buffers.u8("ca", a.length).fill(1);
  const cb = buffers.u8("cb", b.length).fill(1);
  const out = { ca, cb, buffers };
  matchRegion(a, 0, a.length, b, 0, b.length, out, 0, stats);
  compact(a, ca, cb, buffers);
  compact(b, cb, ca, buffers);
  return out;
}

/** Builds chunks from the changed-line flags of both sides (unchanged lines pair up in order). */
function chunksOf(ca: Uint8Array, cb: Uint8Array): Chunk[] {
  const out: Chunk[] = [];
  let x = 0;
  let y = 0;
  while (x < ca.length || y < cb.length) {
    if (x < ca.length && y < cb.length && !ca[x] && !cb[y]) {
      const c: Chunk = { equal: true, aStart: x, aLen: 0, bStart: y, bLen: 0 };
      while (x < ca.length && y < cb.length && !ca[x] && !cb[y]) {
        x++;
        y++;
      }
      c.aLen = x - c.aStart;
      c.bLen = y - c.bStart;
      out.push(c);
    } else {
      const c: Chunk = { equal: false, aStart: x, aLen: 0, bStart: y, bLen: 0 };
      while (x < ca.length && ca[x]) x++;
      while (y < cb.length && cb[y]) y++;
      c.aLen = x - c.aStart;
      c.bLen = y - c.bStart;
      out.push(c);
    }
  }
  return out;
}

/**
 * xdiff's change compaction for one side (`rec` its line ids, `rchg` its flags, `other` the other
 * side's flags): each group of changed lines is slid down while the line below equals its first
 * line (merging with groups it meets), then back up to the lowest place where it faces a change
 * on the other side, if any.
 */
function compact(rec: Int32Array, rchg: Uint8Array, other: Uint8Array, buffers: DiffBuffers): void {
  const n = rec.length;
  // The other side's unchanged lines, in order: the k-th group there follows the k-th of them.
  const unchanged = buffers.ints("unchanged", other.length);
  let u = 0;
  for (let j = 0; j < other.length; j++) if (!other[j]) unchanged[u++] = j;
  const otherHasChangeAfter = (k: number) => {
    const from = k === 0 ? 0 : unchanged[k - 1]! + 1;
    return from < other.length && other[from] === 1;
  };
  let k = 0; // unchanged lines of this side before `start`
  let start = 0;
  while (start < n) {
    if (!rchg[start]) {
      start++;
      k++;
      continue;
    }
    let end = start;
    while (end < n && rchg[end]) end++;
    let size: number;
    let endMatching = -1;
    do {
      size = end - start;
      while (start > 0 && rec[start - 1] === rec[end - 1]) {
        rchg[--start] = 1;
        rchg[--end] = 0;
        k--;
        while (start > 0 && rchg[start - 1]) start--;
      }
      endMatching = otherHasChangeAfter(k) ? end : -1;
      while (end < n && rec[start] === rec[end]) {
        rchg[start++] = 0;
        rchg[end++] = 1;
        k++;
        while (end < n && rchg[end]) end++;
        if (otherHasChangeAfter(k)) endMatching = end;
      }
    } while (size !== end - start);
    if (endMatching >= 0) {
      while (end > endMatching) {
        rchg[--start] = 1;
        rchg[--end] = 0;
        k--;
      }
    }
    start = end;
  }
}

/** Lines matched so far: their changed-line flags cleared on both sides. */
interface Matched {
  ca: Uint8Array;
  cb: Uint8Array;
  buffers: DiffBuffers;
}

/** Clears the flags of the matched lines of a[aLo,aHi) and b[bLo,bHi). */
function matchRegion(
  a: Int32Array,
  aLo: number,
  aHi: number,
  b: Int32Array,
  bLo: number,
  bHi: number,
  out: Matched,
  depth: number,
  stats: DiffStats,
): void {
  // Common prefix and suffix: one comparison a line.
  const from = aLo;
  const upTo = aHi;
  while (aLo < aHi && bLo < bHi && a[aLo] === b[bLo]) out.ca[aLo++] = out.cb[bLo++] = 0;
  while (aLo < aHi && bLo < bHi && a[aHi - 1] === b[bHi - 1]) out.ca[--aHi] = out.cb[--bHi] = 0;
  stats.compared += aLo - from + (upTo - aHi) + 2;
  if (aLo < aHi && bLo < bHi) {
    if (!myers(a, aLo, aHi, b, bLo, bHi, out, stats) && depth < 8) uniqueAnchors(a, aLo, aHi, b, bLo, bHi, out, depth, stats);
  }
}

/**
 * Myers' O(ND) diff: clears the flags of the lines it matches; false (nothing cleared) when the edit
 * distance exceeds MAX_D. Its diagonals and their trace (the diagonals of step d at d², as they
 * stood before the step) live in the caller's buffers.
 */
function myers(
  a: Int32Array,
  aLo: number,
  aHi: number,
  b: Int32Array,
  bLo: number,
  bHi: number,
  out: Matched,
  stats: DiffStats,
): boolean {
  const n = aHi - aLo;
  const m = bHi - bLo;
  const max = Math.min(n + m, MAX_D);
  const off = max + 1;
  const v = out.buffers.ints("v", 2 * max + 3).fill(0, 0, 2 * max + 3);
  let trace = out.buffers.ints("trace", 64);
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    if (trace.length < (d + 1) * (d + 1)) {
      const grown = out.buffers.ints("trace", Math.max((d + 1) * (d + 1), 2 * trace.length));
      grown.set(trace.subarray(0, d * d));
      trace = grown;
    }
    trace.set(v.subarray(off - d, off + d + 1), d * d);
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      const x0 = x;
      while (x < n && y < m && a[aLo + x] === b[bLo + y]) {
        x++;
        y++;
      }
      stats.compared += x - x0 + 1;
      v[off + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
  }
  if (found < 0) return false;
  let x = n;
  let y = m;
  for (let d = found; d >= 0; d--) {
    const at = (k: number) => trace[d * d + k + d]!;
    const k = x - y;
    let prevX: number;
    let prevY: number;
    if (d === 0) {
      prevX = 0;
      prevY = 0;
    } else {
      const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
      prevX = at(prevK);
      prevY = prevX - prevK;
    }
    while (x > prevX && y > prevY) {
      x--;
      y--;
      out.ca[aLo + x] = out.cb[bLo + y] = 0;
    }
    x = prevX;
    y = prevY;
  }
  return true;
}

/**
 * For changes too large for Myers: lines that occur once on each side anchor the diff (their
 * longest increasing run, as patience diff does), and the gaps between them are diffed again.
 */
function uniqueAnchors(
  a: Int32Array,
  aLo: number,
  aHi: number,
  b: Int32Array,
  bLo: number,
  bHi: number,
  out: Matched,
  depth: number,
  stats: DiffStats,
): void {
  const countA = new Map<number, number>();
  const countB = new Map<number, number>();
  const posB = new Map<number, number>();
  for (let i = aLo; i < aHi; i++) countA.set(a[i]!, (countA.get(a[i]!) ?? 0) + 1);
  for (let j = bLo; j < bHi; j++) {
    countB.set(b[j]!, (countB.get(b[j]!) ?? 0) + 1);
    posB.set(b[j]!, j);
  }
  const cand: [number, number][] = [];
  for (let i = aLo; i < aHi; i++) {
    const id = a[i]!;
    if (countA.get(id) === 1 && countB.get(id) === 1) cand.push([i, posB.get(id)!]);
  }
  // Longest increasing subsequence of the b positions (patience sorting).
  const tops: number[] = [];
  const prev = new Int32Array(cand.length).fill(-1);
  for (let i = 0; i < cand.length; i++) {
    const y = cand[i]![1];
    let lo = 0;
    let hi = tops.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cand[tops[mid]!]![1] < y) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) prev[i] = tops[lo - 1]!;
    tops[lo] = i;
  }
  const anchors: [number, number][] = [];
  for (let i = tops.length ? tops[tops.length - 1]! : -1; i >= 0; i = prev[i]!) anchors.unshift(cand[i]!);
  if (anchors.length === 0) return; // nothing in common worth finding: all replaced
  let x = aLo;
  let y = bLo;
  for (const [ax, by] of anchors) {
    matchRegion(a, x, ax, b, y, by, out, depth + 1, stats);
    out.ca[ax] = out.cb[by] = 0;
    x = ax + 1;
    y = by + 1;
  }
  matchRegion(a, x, aHi, b, y, bHi, out, depth + 1, stats);
}
