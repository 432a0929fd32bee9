// Lines of file versions as integer ids, from the versions' bytes: equal lines (and a last line
// without a newline apart from the same bytes with one, as git's diff has it) get the same id in
// every version read through one table, so a walk over hundreds of versions of a file (blame)
// splits and hashes each version once, and its diffs compare numbers. Nothing is decoded: the
// 550 versions of a 2,000-line file were 41 MB of strings per blame, when only the lines a page
// shows need text (comparing lines as strings along Myers' diagonals, or interning both sides
// again for every diff, cost several times more still).

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
  /** Arrays of versions released (`release`), for the next versions' ids and starts. */
  private spare: Int32Array[] = [];

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
   * base's ids and line starts: at the start and the end, then in the middle around lines found
   * in the base (`fromBase`), so that only the lines near changes are scanned and hashed.
   */
  idsOf(data: Uint8Array, base?: Version): Version {
    const out = new Lines();
    if (!base) {
      this.lookUp(data, out, 0, data.length);
      return this.version(out, data);
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
    out.copy(base, 0, below(base.starts, head), 0);
    this.fromBase(data, out, { from: head, to: tailFrom }, base, { from: head, to: bTail }, 0);
    out.copy(base, below(base.starts, bTail), base.starts.length, tailFrom - bTail);
    return this.version(out, data);
  }

  /**
   * Gives the table back the arrays of versions its caller is done with (no view of them kept):
   * the next versions' ids and starts are written into them. A new pair of arrays per version (two
   * of 8 KiB for the long file, 1,040 a blame on long70k) was array buffers the collector
   * reclaimed late; in workerd each new array buffer also costs its allocation (36 of a cold
   * blame page's profile samples were that line).
   */
  release(versions: Iterable<Version>): void {
    for (const v of versions) {
      if (this.spare.length >= SPARE_MAX) return;
      this.spare.push(new Int32Array(v.ids.buffer), new Int32Array(v.starts.buffer));
    }
  }

  /** Arrays released and not used again yet (for tests). */
  get spareArrays(): number {
    return this.spare.length;
  }

  /** `out`'s ids and starts copied into released arrays when they fit, else new ones a little larger. */
  private version(out: Lines, bytes: Uint8Array): Version {
    const n = out.n;
    const take = () => {
      const i = this.spare.findIndex((a) => a.length >= n);
      return i < 0 ? new Int32Array(n + (n >> 4)) : this.spare.splice(i, 1)[0]!;
    };
    const ids = take();
    const starts = take();
    ids.set(idsScratch.subarray(0, n));
    starts.set(startsScratch.subarray(0, n));
    return { bytes, ids: ids.subarray(0, n), starts: starts.subarray(0, n) };
  }

  /**
   * Lines of `data` in the part `mine` (byte offsets at line starts, or the end) added to `out`,
   * where `theirs` is the part of the base between the same shared lines. A run of whole lines
   * from the middle of `mine` is looked for in `theirs`; found, the match is widened both ways
   * and its lines take the base's ids and starts, and the parts on either side are done the same
   * way (the left one first: lines are added in order); not found (a change is there), both
   * halves are. Small parts are scanned and looked up. Ids depend only on the lines' bytes, so any
   * match gives the same ids as looking every line up.
   */
  private fromBase(data: Uint8Array, out: Lines, mine: Part, base: Version, theirs: Part, depth: number): void {
    const { from, to } = mine;
    const b = base.bytes;
    if (to - from < MIN_PART || theirs.to - theirs.from < MIN_PART || depth > MAX_DEPTH) {
      this.lookUp(data, out, from, to);
      return;
    }
    // Whole lines from the middle, at least NEEDLE bytes when the part has them.
    const ms = Math.max(from, data.lastIndexOf(NL, from + ((to - from) >> 1) - 1) + 1);
    let me = data.indexOf(NL, Math.min(to - 1, ms + NEEDLE - 1));
    if (me < 0 || me >= to) me = data.lastIndexOf(NL, to - 1);
    const q = me >= ms ? findLines(b, base.starts, theirs, theirs.from + (ms - from), data, ms, me + 1) : -1;
    if (q < 0) {
      if (ms <= from) {
        this.lookUp(data, out, from, to);
        return;
      }
      // A change near the middle: each half on its own, against the same part of the base.
      this.fromBase(data, out, { from, to: ms }, base, theirs, depth + 1);
      this.fromBase(data, out, { from: ms, to }, base, theirs, depth + 1);
      return;
    }
    // Widen the match, then trim it to whole lines in both versions.
    const back = commonSuffix(data, ms, b, q, Math.min(ms - from, q - theirs.from));
    let x = ms - back;
    if (!(isLineStart(data, x) && isLineStart(b, q - (ms - x)))) x = data.indexOf(NL, x) + 1;
    const ahead = commonPrefix(data, ms, b, q, Math.min(to - ms, theirs.to - q));
    const e = data.lastIndexOf(NL, ms + ahead - 1) + 1;
    const y = q - (ms - x);
    this.fromBase(data, out, { from, to: x }, base, { from: theirs.from, to: y }, depth + 1);
    out.copy(base, below(base.starts, y), below(base.starts, y + (e - x)), x - y);
    this.fromBase(data, out, { from: e, to }, base, { from: y + (e - x), to: theirs.to }, depth + 1);
  }

  /** Splits data[from, to) (from at a line start) into lines, hashing each as it goes, and adds them to `out`. */
  private lookUp(data: Uint8Array, out: Lines, from: number, to: number): void {
    for (let s = from; s < to; ) {
      let h = 0x811c9dc5;
      let e = s;
      while (e < to && data[e] !== NL) h = Math.imul(h ^ data[e++]!, 0x01000193);
      // A last line without a newline is another line than the same bytes with one.
      const eol = e < to;
      const hash = (eol ? h : Math.imul(h ^ 0xff, 0x01000193)) >>> 0;
      let id = this.byHash.get(hash) ?? -1;
      while (id >= 0 && !this.sameLine(id, data, s, e, eol)) id = this.sameHash[id]!;
      if (id < 0) id = this.add(hash, data, s, e, eol);
      out.push(s, id);
      this.linesHashed++;
      s = e + 1;
    }
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

/**
 * Where the whole lines needle[from, to) (from a line start, to after a newline) are in the part
 * `within` of `hay`, starting at a line start (hayStarts: hay's line starts); -1 if nowhere.
 * Looked for outwards from the line at `near` (where they would be if nothing moved): any
 * occurrence gives the same ids, and a search from the part's start compared, in JS, half the
 * part's lines at every level of `fromBase`.
 */
function findLines(
  hay: Uint8Array,
  hayStarts: Int32Array,
  within: Part,
  near: number,
  needle: Uint8Array,
  from: number,
  to: number,
): number {
  const n = to - from;
  const first = below(hayStarts, within.from);
  const end = below(hayStarts, within.to - n + 1); // lines that start early enough to hold it
  const at = (k: number) => {
    const q = hayStarts[k]!;
    let i = 0;
    while (i < n && hay[q + i] === needle[from + i]) i++;
    return i === n;
  };
  const mid = Math.min(Math.max(below(hayStarts, near), first), end);
  for (let d = 0; mid + d < end || mid - d - 1 >= first; d++) {
    if (mid + d < end && at(mid + d)) return hayStarts[mid + d]!;
    if (mid - d - 1 >= first && at(mid - d - 1)) return hayStarts[mid - d - 1]!;
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
/** Released arrays a table keeps at most (two a version). */
const SPARE_MAX = 64;

const isLineStart = (s: Uint8Array, i: number) => i === 0 || s[i - 1] === NL;

/** A version of a file as a table read it. */
export interface Version {
  /** Its bytes, as stored (the caller decodes the lines it shows). */
  bytes: Uint8Array;
  ids: Int32Array;
  /** Where each line starts in `bytes`. */
  starts: Int32Array;
}

/** Scratch arrays of Lines (grown to the longest version, kept: one per isolate, used synchronously). */
let startsScratch = new Int32Array(4096);
let idsScratch = new Int32Array(4096);

/** The lines of a version as they are found, in order: where each starts and its id. */
class Lines {
  n = 0;

  push(start: number, id: number): void {
    if (this.n === startsScratch.length) this.grow(this.n + 1);
    startsScratch[this.n] = start;
    idsScratch[this.n++] = id;
  }

  /** Lines [first, end) of `base`, their starts moved by `shift`. */
  copy(base: Version, first: number, end: number, shift: number): void {
    if (end <= first) return;
    if (this.n + (end - first) > startsScratch.length) this.grow(this.n + (end - first));
    idsScratch.set(base.ids.subarray(first, end), this.n);
    for (let i = first; i < end; i++) startsScratch[this.n++] = base.starts[i]! + shift;
  }

  private grow(atLeast: number): void {
    const size = Math.max(atLeast, 2 * startsScratch.length);
    const starts = new Int32Array(size);
    starts.set(startsScratch.subarray(0, this.n));
    const ids = new Int32Array(size);
    ids.set(idsScratch.subarray(0, this.n));
    startsScratch = starts;
    idsScratch = ids;
  }
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

const viewOf = (a: Uint8Array) => new DataView(a.buffer, a.byteOffset, a.byteLength);

/**
 * Bytes equal from a[ai] and b[bi] on, at most `max`: four at a time (unaligned loads), then one.
 * (`Buffer.compare` a block at a time was faster in Node but ten times slower in workerd.)
 */
function commonPrefix(a: Uint8Array, ai: number, b: Uint8Array, bi: number, max: number): number {
  let i = 0;
  if (max >= 8) {
    const av = viewOf(a);
    const bv = viewOf(b);
    while (i + 4 <= max && av.getUint32(ai + i, true) === bv.getUint32(bi + i, true)) i += 4;
  }
  while (i < max && a[ai + i] === b[bi + i]) i++;
  return i;
}

/** Bytes equal just before a[ae] and b[be], at most `max`. */
function commonSuffix(a: Uint8Array, ae: number, b: Uint8Array, be: number, max: number): number {
  let i = 0;
  if (max >= 8) {
    const av = viewOf(a);
    const bv = viewOf(b);
    while (i + 4 <= max && av.getUint32(ae - i - 4, true) === bv.getUint32(be - i - 4, true)) i += 4;
  }
  while (i < max && a[ae - 1 - i] === b[be - 1 - i]) i++;
  return i;
}
