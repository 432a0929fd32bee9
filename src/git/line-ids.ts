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
    let head = 0; // characters of whole lines shared at the start
    let headLines = 0;
    let tailFrom = text.length; // where the whole lines shared at the end start
    let tailLines = 0;
    if (base) {
      const b = base.text;
      const shared = commonPrefix(text, 0, b, 0, Math.min(text.length, b.length));
      head = shared === 0 ? 0 : text.lastIndexOf("\n", shared - 1) + 1;
      headLines = countLines(text, 0, head);
      // The shared end, not into the shared start of either text, from the first line start
      // after a newline both have (so that it starts a line in both).
      const same = commonSuffix(text, text.length, b, b.length, Math.min(text.length, b.length) - head);
      if (same > 0) {
        const nl = text.indexOf("\n", text.length - same);
        tailFrom = nl < 0 ? text.length : nl + 1;
        tailLines = countLines(text, tailFrom, text.length);
      }
    }
    const middle = countLines(text, head, tailFrom);
    const ids = new Int32Array(headLines + middle + tailLines);
    if (base) {
      ids.set(base.ids.subarray(0, headLines));
      ids.set(base.ids.subarray(base.ids.length - tailLines), headLines + middle);
      const bTail = base.text.length - (text.length - tailFrom);
      this.fromBase(
        text,
        ids,
        { from: head, to: tailFrom, line: headLines },
        base,
        { from: head, to: bTail, line: headLines },
        0,
      );
    } else {
      this.lookUp(text, ids, head, tailFrom, headLines);
    }
    return { text, ids };
  }

  /**
   * Ids of the lines of `text` in `mine` (character offsets at line starts), where `theirs` is the
   * part of the base between the same shared lines. A run of whole lines from the middle of `mine`
   * is looked for in `theirs`; found, the match is widened both ways natively, its lines take the
   * base's ids, and the parts on either side are done the same way; not found (a change is
   * there), both halves are. Small parts are looked up. Ids depend only on the lines' text, so
   * any match gives the same ids as looking every line up.
   */
  private fromBase(text: string, ids: Int32Array, mine: Part, base: Version, theirs: Part, depth: number): void {
    const { from, to } = mine;
    const b = base.text;
    if (to - from < MIN_PART || theirs.to - theirs.from < MIN_PART || depth > MAX_DEPTH) {
      this.lookUp(text, ids, from, to, mine.line);
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
        this.lookUp(text, ids, from, to, mine.line);
        return;
      }
      // A change near the middle: each half on its own, against the same part of the base.
      const split = countNewlines(text, from, ms);
      this.fromBase(text, ids, { from, to: ms, line: mine.line }, base, theirs, depth + 1);
      this.fromBase(text, ids, { from: ms, to, line: mine.line + split }, base, theirs, depth + 1);
      return;
    }
    // Widen the match, then trim it to whole lines in both texts.
    const back = commonSuffix(text, ms, b, q, Math.min(ms - from, q - theirs.from));
    let x = ms - back;
    if (!(isLineStart(text, x) && isLineStart(b, q - (ms - x)))) x = text.indexOf("\n", x) + 1;
    const ahead = commonPrefix(text, ms, b, q, Math.min(to - ms, theirs.to - q));
    const e = text.lastIndexOf("\n", ms + ahead - 1) + 1;
    const y = q - (ms - x);
    const n = countNewlines(text, x, e);
    const nx = mine.line + countNewlines(text, from, x);
    const ny = theirs.line + countNewlines(b, theirs.from, y);
    ids.set(base.ids.subarray(ny, ny + n), nx);
    this.fromBase(text, ids, { from, to: x, line: mine.line }, base, { from: theirs.from, to: y, line: theirs.line }, depth + 1);
    this.fromBase(text, ids, { from: e, to, line: nx + n }, base, { from: y + (e - x), to: theirs.to, line: ny + n }, depth + 1);
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

/** Part of a text: characters [from, to), both at line starts (or the end); `line`: the index of its first line. */
interface Part {
  from: number;
  to: number;
  line: number;
}

/** Parts shorter than this (in characters) are looked up line by line. */
const MIN_PART = 256;
/** Characters of whole lines looked for in the base, at least. */
const NEEDLE = 48;
/** Halvings at most (a part halves at each level, so this is never reached on real files). */
const MAX_DEPTH = 48;

const isLineStart = (s: string, i: number) => i === 0 || s.charCodeAt(i - 1) === 10;

/** Newlines in s[from, to). */
function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf("\n", from); i >= 0 && i < to; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

/** A version of a file as a table read it. */
export interface Version {
  text: string;
  ids: Int32Array;
}

/** Lines in text[from, to) when `from` starts a line: its newlines, and a last line without one. */
function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf("\n", from); i >= 0 && i < to; i = text.indexOf("\n", i + 1)) n++;
  if (to > from && text.charCodeAt(to - 1) !== 10) n++;
  return n;
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
