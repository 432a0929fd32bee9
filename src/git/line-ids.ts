// Lines of file versions as integer ids: equal lines (and a last line without a newline apart from
// the same text with one, as git's diff has it) get the same id in every version read through one
// table, so a walk over hundreds of versions of a file (blame) splits and hashes each version once,
// and its diffs compare numbers (comparing the lines as strings along Myers' diagonals, or
// interning both sides again for every diff, cost several times more).

/** Characters of distinct lines a table may hold before it starts over (ids are then renumbered). */
const HELD_MAX = 4 * 1024 * 1024;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class LineTable {
  constructor(private readonly maxHeld = HELD_MAX) {}

  private readonly ids = new Map<string, number>();
  private held = 0;
  /** Bumped when the table starts over: ids of different generations must not be compared. */
  generation = 0;
  /** Lines looked up so far (work done, for tests and Server-Timing). */
  linesHashed = 0;

  /**
   * Starts over (new ids, a new generation) when the table holds more than its limit. Called
   * between diffs, never by `idsOf`, so that the two sides of a diff share a generation.
   */
  startOverIfFull(): void {
    if (this.held <= this.maxHeld) return;
    this.ids.clear();
    this.held = 0;
    this.generation++;
  }

  /**
   * The ids of the lines of `data` (UTF-8, as the pages decode it; split at "\n"), and its text.
   * With `base` (another version read through this table, in the same generation: blame passes the
   * child of the commit whose version this is), the whole lines the two share take the base's ids:
   * at the start and the end, then in the middle around lines found in the base (`fromBase`), all
   * by comparing the texts natively, so that only the lines near changes are split and looked up.
   */
  idsOf(data: Uint8Array, base?: Version): Version {
    const text = decoder.decode(data);
    if (!base) {
      const starts = lineStarts(text, 0, text.length).slice();
      const ids = new Int32Array(starts.length);
      this.lookUp(text, ids, 0, text.length, 0);
      return { text, ids, starts };
    }
    const b = base.text;
    const shared = commonPrefix(text, 0, b, 0, Math.min(text.length, b.length));
    const head = shared === 0 ? 0 : text.lastIndexOf("\n", shared - 1) + 1; // whole lines shared at the start
    // The shared end, not into the shared start of either text, from the first line start after
    // a newline both have (so that it starts a line in both).
    let tailFrom = text.length;
    const same = commonSuffix(text, text.length, b, b.length, Math.min(text.length, b.length) - head);
    if (same > 0) {
      const nl = text.indexOf("\n", text.length - same);
      tailFrom = nl < 0 ? text.length : nl + 1;
    }
    const bTail = b.length - (text.length - tailFrom);
    // Line starts (and counts) of the shared start and end come from the base's: only the middle is scanned.
    const headLines = below(base.starts, head);
    const bTailLine = below(base.starts, bTail);
    const tailLines = base.starts.length - bTailLine;
    const middle = lineStarts(text, head, tailFrom);
    const total = headLines + middle.length + tailLines;
    const starts = new Int32Array(total);
    starts.set(base.starts.subarray(0, headLines));
    starts.set(middle, headLines);
    for (let i = 0, shift = tailFrom - bTail; i < tailLines; i++)
      starts[headLines + middle.length + i] = base.starts[bTailLine + i]! + shift;
    const ids = new Int32Array(total);
    ids.set(base.ids.subarray(0, headLines));
    ids.set(base.ids.subarray(bTailLine), headLines + middle.length);
    const version = { text, ids, starts };
    this.fromBase(version, { from: head, to: tailFrom }, base, { from: head, to: bTail }, 0);
    return version;
  }

  /**
   * Ids of the lines of `mine` (character offsets at line starts, or the end) where `theirs` is
   * the part of the base between the same shared lines. A run of whole lines from the middle of
   * `mine` is looked for in `theirs`; found, the match is widened both ways natively, its lines
   * take the base's ids, and the parts on either side are done the same way; not found (a change
   * is there), both halves are. Small parts are looked up. Ids depend only on the lines' text, so
   * any match gives the same ids as looking every line up.
   */
  private fromBase(v: Version, mine: Part, base: Version, theirs: Part, depth: number): void {
    const { text, ids } = v;
    const { from, to } = mine;
    const b = base.text;
    if (to - from < MIN_PART || theirs.to - theirs.from < MIN_PART || depth > MAX_DEPTH) {
      this.lookUp(text, ids, from, to, below(v.starts, from));
      return;
    }
    // Whole lines from the middle, at least NEEDLE characters when the part has them.
    const ms = Math.max(from, text.lastIndexOf("\n", from + ((to - from) >> 1) - 1) + 1);
    let me = text.indexOf("\n", Math.min(to - 1, ms + NEEDLE - 1));
    if (me < 0 || me >= to) me = text.lastIndexOf("\n", to - 1);
    let q = -1;
    if (me >= ms) {
      const needle = text.slice(ms, me + 1);
      q = b.indexOf(needle, theirs.from);
      while (q >= 0 && q + needle.length <= theirs.to && q > 0 && b.charCodeAt(q - 1) !== 10) q = b.indexOf(needle, q + 1);
      if (q + needle.length > theirs.to) q = -1;
    }
    if (q < 0) {
      if (ms <= from) {
        this.lookUp(text, ids, from, to, below(v.starts, from));
        return;
      }
      // A change near the middle: each half on its own, against the same part of the base.
      this.fromBase(v, { from, to: ms }, base, theirs, depth + 1);
      this.fromBase(v, { from: ms, to }, base, theirs, depth + 1);
      return;
    }
    // Widen the match, then trim it to whole lines in both texts.
    const back = commonSuffix(text, ms, b, q, Math.min(ms - from, q - theirs.from));
    let x = ms - back;
    if (!(isLineStart(text, x) && isLineStart(b, q - (ms - x)))) x = text.indexOf("\n", x) + 1;
    const ahead = commonPrefix(text, ms, b, q, Math.min(to - ms, theirs.to - q));
    const e = text.lastIndexOf("\n", ms + ahead - 1) + 1;
    const y = q - (ms - x);
    const nx = below(v.starts, x);
    const ny = below(base.starts, y);
    const n = below(v.starts, e) - nx;
    ids.set(base.ids.subarray(ny, ny + n), nx);
    this.fromBase(v, { from, to: x }, base, { from: theirs.from, to: y }, depth + 1);
    this.fromBase(v, { from: e, to }, base, { from: y + (e - x), to: theirs.to }, depth + 1);
  }

  /** Splits text[from, to) (from at a line start) into lines and looks each up; the first is line `line`. */
  private lookUp(text: string, ids: Int32Array, from: number, to: number, line: number): void {
    if (from >= to) return;
    const lines = text.slice(from, to).split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    else if (to === text.length) lines[lines.length - 1] += "\0noeol"; // no newline at the end
    for (let i = 0; i < lines.length; i++) {
      const one = lines[i]!;
      let id = this.ids.get(one);
      if (id === undefined) {
        id = this.ids.size;
        // A line out of `split` may be a view that keeps the whole version's text alive: the
        // table keeps a copy of its own instead.
        this.ids.set(decoder.decode(encoder.encode(one)), id);
        this.held += one.length + 16;
      }
      ids[line + i] = id;
    }
    this.linesHashed += lines.length;
  }
}

/** Part of a text: characters [from, to), both at line starts (or the end). */
interface Part {
  from: number;
  to: number;
}

/** Parts shorter than this (in characters) are looked up line by line. */
const MIN_PART = 256;
/** Characters of whole lines looked for in the base, at least. */
const NEEDLE = 48;
/** Halvings at most (a part halves at each level, so this is never reached on real files). */
const MAX_DEPTH = 48;

const isLineStart = (s: string, i: number) => i === 0 || s.charCodeAt(i - 1) === 10;

/** A version of a file as a table read it. */
export interface Version {
  text: string;
  ids: Int32Array;
  /** Where each line starts in `text`. */
  starts: Int32Array;
}

/** Where lineStarts counts (grown to the longest scan, kept: one per isolate, used synchronously). */
let startsScratch = new Int32Array(4096);

/**
 * Starts of the lines in text[from, to) (`from` at a line start; a last line without a newline
 * counts), as a view of a scratch buffer valid until the next call (callers copy it).
 */
function lineStarts(text: string, from: number, to: number): Int32Array {
  let n = 0;
  for (let at = from; at < to; ) {
    if (n === startsScratch.length) {
      const grown = new Int32Array(2 * n);
      grown.set(startsScratch);
      startsScratch = grown;
    }
    startsScratch[n++] = at;
    const nl = text.indexOf("\n", at);
    at = nl < 0 ? to : nl + 1;
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

/** Characters compared at once (natively, as strings) before looking at single ones. */
const BLOCK = 1024;

/** Characters equal from a[ai] and b[bi] on, at most `max`. */
function commonPrefix(a: string, ai: number, b: string, bi: number, max: number): number {
  let i = 0;
  while (i + BLOCK <= max && a.slice(ai + i, ai + i + BLOCK) === b.slice(bi + i, bi + i + BLOCK)) i += BLOCK;
  while (i < max && a.charCodeAt(ai + i) === b.charCodeAt(bi + i)) i++;
  return i;
}

/** Characters equal just before a[ae] and b[be], at most `max`. */
function commonSuffix(a: string, ae: number, b: string, be: number, max: number): number {
  let i = 0;
  while (i + BLOCK <= max && a.slice(ae - i - BLOCK, ae - i) === b.slice(be - i - BLOCK, be - i)) i += BLOCK;
  while (i < max && a.charCodeAt(ae - 1 - i) === b.charCodeAt(be - 1 - i)) i++;
  return i;
}
