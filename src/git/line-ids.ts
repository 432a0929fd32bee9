// Lines of file versions as integer ids, from the versions' bytes: equal lines (and a last line
// without a newline apart from the same bytes with one, as git's diff has it) get the same id in
// every version read through one table, so a walk over hundreds of versions of a file (blame)
// splits and hashes each version once, and its diffs compare numbers. Nothing is decoded: the
// 550 versions of a 2,000-line file were 41 MB of text per blame, most of its garbage, when only
// the lines a page shows need text (comparing lines as strings along Myers' diagonals, or
// interning both sides again for every diff, cost several times more still).

/** Bytes of distinct lines a table may hold before it starts over (ids are then renumbered). */
const HELD_MAX = 4 * 1024 * 1024;

const NL = 10;

export class LineTable {
  constructor(private readonly maxHeld = HELD_MAX) {}

  /** Line hash → the first id with that hash; `sameHash[id]` → the next id with it (-1: none). */
  private readonly byHash = new Map<number, number>();
  private sameHash: number[] = [];
  /** Every distinct line's bytes, one after the other; id i is held[at[i], at[i+1]). */
  private held = new Uint8Array(64 * 1024);
  private at: number[] = [0];
  /** Whether id i is a last line without a newline. */
  private noEol: boolean[] = [];
  /** Bumped when the table starts over: ids of different generations must not be compared. */
  generation = 0;
  /** Lines looked up so far (work done, for tests and Server-Timing). */
  linesHashed = 0;

  /**
   * Starts over (new ids, a new generation) when the table holds more than its limit. Called
   * between diffs, never by `idsOf`, so that the two sides of a diff share a generation.
   */
  startOverIfFull(): void {
    if (this.heldBytes() + 16 * this.sameHash.length <= this.maxHeld) return;
    this.byHash.clear();
    this.sameHash = [];
    this.at = [0];
    this.noEol = [];
    this.generation++;
  }

  private heldBytes(): number {
    return this.at[this.at.length - 1]!;
  }

  /**
   * The ids of the lines of `data` (split at "\n" bytes, as git's diff does), and where they
   * start. With `base` (another version read through this table, in the same generation: blame
   * passes the child of the commit whose version this is), the whole lines the two share take the
   * base's ids: at the start and the end, then in the middle around lines found in the base
   * (`fromBase`), so that only the lines near changes are split and looked up.
   */
  idsOf(data: Uint8Array, base?: Version): Version {
    if (!base) {
      const starts = lineStarts(data, 0, data.length).slice();
      const ids = new Int32Array(starts.length);
      this.lookUp(data, ids, starts, 0, starts.length);
      return { bytes: data, ids, starts };
    }
    const b = base.bytes;
    const shared = commonPrefix(data, 0, b, 0, Math.min(data.length, b.length));
    const head = shared === 0 ? 0 : data.lastIndexOf(NL, shared - 1) + 1; // whole lines shared at the start
    // The shared end, not into the shared start of either version, from the first line start
    // after a newline both have (so that it starts a line in both).
    let tailFrom = data.length;
    const same = commonSuffix(data, data.length, b, b.length, Math.min(data.length, b.length) - head);
    if (same > 0) {
      const nl = data.indexOf(NL, data.length - same);
      tailFrom = nl < 0 ? data.length : nl + 1;
    }
    const bTail = b.length - (data.length - tailFrom);
    // Line starts (and counts) of the shared start and end come from the base's: only the middle is scanned.
    const headLines = below(base.starts, head);
    const bTailLine = below(base.starts, bTail);
    const tailLines = base.starts.length - bTailLine;
    const middle = lineStarts(data, head, tailFrom);
    const total = headLines + middle.length + tailLines;
    const starts = new Int32Array(total);
    starts.set(base.starts.subarray(0, headLines));
    starts.set(middle, headLines);
    for (let i = 0, shift = tailFrom - bTail; i < tailLines; i++)
      starts[headLines + middle.length + i] = base.starts[bTailLine + i]! + shift;
    const ids = new Int32Array(total);
    ids.set(base.ids.subarray(0, headLines));
    ids.set(base.ids.subarray(bTailLine), headLines + middle.length);
    const version = { bytes: data, ids, starts };
    this.fromBase(version, { from: head, to: tailFrom }, base, { from: head, to: bTail }, 0);
    return version;
  }

  /**
   * Ids of the lines of `mine` (byte offsets at line starts, or the end) where `theirs` is the
   * part of the base between the same shared lines. A run of whole lines from the middle of
   * `mine` is looked for in `theirs`; found, the match is widened both ways, its lines take the
   * base's ids, and the parts on either side are done the same way; not found (a change is
   * there), both halves are. Small parts are looked up. Ids depend only on the lines' bytes, so
   * any match gives the same ids as looking every line up.
   */
  private fromBase(v: Version, mine: Part, base: Version, theirs: Part, depth: number): void {
    const { bytes, ids } = v;
    const { from, to } = mine;
    const b = base.bytes;
    if (to - from < MIN_PART || theirs.to - theirs.from < MIN_PART || depth > MAX_DEPTH) {
      this.lookUpPart(v, from, to);
      return;
    }
    // Whole lines from the middle, at least NEEDLE bytes when the part has them.
    const ms = Math.max(from, bytes.lastIndexOf(NL, from + ((to - from) >> 1) - 1) + 1);
    let me = bytes.indexOf(NL, Math.min(to - 1, ms + NEEDLE - 1));
    if (me < 0 || me >= to) me = bytes.lastIndexOf(NL, to - 1);
    const q = me >= ms ? findLines(b, base.starts, theirs, bytes, ms, me + 1) : -1;
    if (q < 0) {
      if (ms <= from) {
        this.lookUpPart(v, from, to);
        return;
      }
      // A change near the middle: each half on its own, against the same part of the base.
      this.fromBase(v, { from, to: ms }, base, theirs, depth + 1);
      this.fromBase(v, { from: ms, to }, base, theirs, depth + 1);
      return;
    }
    // Widen the match, then trim it to whole lines in both versions.
    const back = commonSuffix(bytes, ms, b, q, Math.min(ms - from, q - theirs.from));
    let x = ms - back;
    if (!(isLineStart(bytes, x) && isLineStart(b, q - (ms - x)))) x = bytes.indexOf(NL, x) + 1;
    const ahead = commonPrefix(bytes, ms, b, q, Math.min(to - ms, theirs.to - q));
    const e = bytes.lastIndexOf(NL, ms + ahead - 1) + 1;
    const y = q - (ms - x);
    const nx = below(v.starts, x);
    const ny = below(base.starts, y);
    const n = below(v.starts, e) - nx;
    ids.set(base.ids.subarray(ny, ny + n), nx);
    this.fromBase(v, { from, to: x }, base, { from: theirs.from, to: y }, depth + 1);
    this.fromBase(v, { from: e, to }, base, { from: y + (e - x), to: theirs.to }, depth + 1);
  }

  /** Looks up the lines of v.bytes[from, to) (both line starts, or the end). */
  private lookUpPart(v: Version, from: number, to: number): void {
    if (from >= to) return;
    const first = below(v.starts, from);
    this.lookUp(v.bytes, v.ids, v.starts, first, below(v.starts, to));
  }

  /** Looks up lines [first, end) of `data`, whose starts are `starts`. */
  private lookUp(data: Uint8Array, ids: Int32Array, starts: Int32Array, first: number, end: number): void {
    for (let line = first; line < end; line++) {
      const s = starts[line]!;
      const next = line + 1 < starts.length ? starts[line + 1]! : data.length;
      // The line without its newline; the last line of a version may have none.
      const eol = next > s && data[next - 1] === NL;
      const e = eol ? next - 1 : next;
      const hash = hashBytes(data, s, e, eol);
      let id = this.byHash.get(hash) ?? -1;
      while (id >= 0 && !this.sameLine(id, data, s, e, eol)) id = this.sameHash[id]!;
      if (id < 0) id = this.add(hash, data, s, e, eol);
      ids[line] = id;
    }
    this.linesHashed += end - first;
  }

  private sameLine(id: number, data: Uint8Array, s: number, e: number, eol: boolean): boolean {
    const from = this.at[id]!;
    if (this.at[id + 1]! - from !== e - s || this.noEol[id] === eol) return false;
    for (let i = 0; i < e - s; i++) if (this.held[from + i] !== data[s + i]) return false;
    return true;
  }

  /** A new id for the line data[s, e): its bytes are copied (a view would keep the whole version alive). */
  private add(hash: number, data: Uint8Array, s: number, e: number, eol: boolean): number {
    const id = this.noEol.length;
    const from = this.heldBytes();
    if (from + (e - s) > this.held.length) {
      const grown = new Uint8Array(Math.max(2 * this.held.length, from + (e - s)));
      grown.set(this.held.subarray(0, from));
      this.held = grown;
    }
    this.held.set(data.subarray(s, e), from);
    this.at.push(from + (e - s));
    this.noEol.push(!eol);
    const first = this.byHash.get(hash);
    this.sameHash.push(first ?? -1);
    this.byHash.set(hash, id);
    return id;
  }
}

/** FNV-1a of bytes [s, e), with whether the line ended in a newline. */
function hashBytes(data: Uint8Array, s: number, e: number, eol: boolean): number {
  let h = eol ? 0x811c9dc5 : 0x050c5d1f;
  for (let i = s; i < e; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * Where the whole lines needle[from, to) (from a line start, to after a newline) are in the part
 * `within` of `hay`, starting at a line start (hayStarts: hay's line starts); -1 if nowhere.
 */
function findLines(hay: Uint8Array, hayStarts: Int32Array, within: Part, needle: Uint8Array, from: number, to: number): number {
  const n = to - from;
  const c0 = needle[from]!;
  for (let k = below(hayStarts, within.from); k < hayStarts.length; k++) {
    const q = hayStarts[k]!;
    if (q + n > within.to) return -1;
    if (hay[q] !== c0) continue;
    let i = 1;
    while (i < n && hay[q + i] === needle[from + i]) i++;
    if (i === n) return q;
  }
  return -1;
}

/** Part of a version: bytes [from, to), both at line starts (or the end). */
interface Part {
  from: number;
  to: number;
}

/** Parts shorter than this (in bytes) are looked up line by line. */
const MIN_PART = 256;
/** Bytes of whole lines looked for in the base, at least. */
const NEEDLE = 48;
/** Halvings at most (a part halves at each level, so this is never reached on real files). */
const MAX_DEPTH = 48;

const isLineStart = (s: Uint8Array, i: number) => i === 0 || s[i - 1] === NL;

/** A version of a file as a table read it. */
export interface Version {
  /** Its bytes, as stored (the caller decodes the lines it shows). */
  bytes: Uint8Array;
  ids: Int32Array;
  /** Where each line starts in `bytes`. */
  starts: Int32Array;
}

/** Where lineStarts counts (grown to the longest scan, kept: one per isolate, used synchronously). */
let startsScratch = new Int32Array(4096);

/**
 * Starts of the lines in data[from, to) (`from` at a line start; a last line without a newline
 * counts), as a view of a scratch buffer valid until the next call (callers copy it).
 */
function lineStarts(data: Uint8Array, from: number, to: number): Int32Array {
  let n = 0;
  for (let at = from; at < to; ) {
    if (n === startsScratch.length) {
      const grown = new Int32Array(2 * n);
      grown.set(startsScratch);
      startsScratch = grown;
    }
    startsScratch[n++] = at;
    const nl = data.indexOf(NL, at);
    at = nl < 0 || nl >= to ? to : nl + 1;
  }
  return startsScratch.subarray(0, n);
}

/** How many of the sorted `starts` are below `offset` (the index of the line starting there). */
function below(starts: Int32Array, offset: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bytes equal from a[ai] and b[bi] on, at most `max`. */
function commonPrefix(a: Uint8Array, ai: number, b: Uint8Array, bi: number, max: number): number {
  let i = 0;
  // Four bytes at a time where both sides are at the same alignment (a version and its child
  // mostly are, at their starts).
  const wa = (a.byteOffset + ai) & 3;
  if (wa === ((b.byteOffset + bi) & 3)) {
    while (i < max && (a.byteOffset + ai + i) & 3) {
      if (a[ai + i] !== b[bi + i]) return i;
      i++;
    }
    const words = (max - i) >> 2;
    if (words > 0) {
      const aw = new Uint32Array(a.buffer, a.byteOffset + ai + i, words);
      const bw = new Uint32Array(b.buffer, b.byteOffset + bi + i, words);
      let w = 0;
      while (w < words && aw[w] === bw[w]) w++;
      i += 4 * w;
    }
  }
  while (i < max && a[ai + i] === b[bi + i]) i++;
  return i;
}

/** Bytes equal just before a[ae] and b[be], at most `max`. */
function commonSuffix(a: Uint8Array, ae: number, b: Uint8Array, be: number, max: number): number {
  let i = 0;
  if (((a.byteOffset + ae) & 3) === ((b.byteOffset + be) & 3)) {
    while (i < max && (a.byteOffset + ae - i) & 3) {
      if (a[ae - 1 - i] !== b[be - 1 - i]) return i;
      i++;
    }
    const words = (max - i) >> 2;
    if (words > 0) {
      const aw = new Uint32Array(a.buffer, a.byteOffset + ae - i - 4 * words, words);
      const bw = new Uint32Array(b.buffer, b.byteOffset + be - i - 4 * words, words);
      let w = 0;
      while (w < words && aw[words - 1 - w] === bw[words - 1 - w]) w++;
      i += 4 * w;
    }
  }
  while (i < max && a[ae - 1 - i] === b[be - 1 - i]) i++;
  return i;
}
