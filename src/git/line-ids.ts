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
   * child of the commit whose version this is), the whole lines the two share at the start and at
   * the end take the base's ids: found by comparing the texts natively, a block at a time, so that
   * only the lines between the first and the last change are split and looked up.
   */
  idsOf(data: Uint8Array, base?: Version): Version {
    const text = decoder.decode(data);
    let head = 0; // characters of whole lines shared at the start
    let headLines = 0;
    let tailFrom = text.length; // where the whole lines shared at the end start
    let tailLines = 0;
    if (base) {
      const b = base.text;
      const shared = commonPrefix(text, b);
      head = shared === 0 ? 0 : text.lastIndexOf("\n", shared - 1) + 1;
      headLines = countLines(text, 0, head);
      // The shared end, not into the shared start of either text, from the first line start
      // after a newline both have (so that it starts a line in both).
      const same = commonSuffix(text, b, Math.min(text.length, b.length) - head);
      if (same > 0) {
        const nl = text.indexOf("\n", text.length - same);
        tailFrom = nl < 0 ? text.length : nl + 1;
        tailLines = countLines(text, tailFrom, text.length);
      }
    }
    const lines = text.slice(head, tailFrom).split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    else if (tailFrom === text.length) lines[lines.length - 1] += "\0noeol"; // no newline at the end
    const ids = new Int32Array(headLines + lines.length + tailLines);
    if (base) {
      ids.set(base.ids.subarray(0, headLines));
      ids.set(base.ids.subarray(base.ids.length - tailLines), headLines + lines.length);
    }
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      let id = this.ids.get(line);
      if (id === undefined) {
        id = this.ids.size;
        // A line out of `split` may be a view that keeps the whole version's text alive: the
        // table keeps a copy of its own instead.
        this.ids.set(decoder.decode(encoder.encode(line)), id);
        this.held += line.length + 16;
      }
      ids[headLines + i] = id;
    }
    this.linesHashed += lines.length;
    return { text, ids };
  }
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

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i + BLOCK <= n && a.slice(i, i + BLOCK) === b.slice(i, i + BLOCK)) i += BLOCK;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** Characters shared at the end, at most `max`. */
function commonSuffix(a: string, b: string, max: number): number {
  let i = 0;
  while (i + BLOCK <= max && a.slice(a.length - i - BLOCK, a.length - i) === b.slice(b.length - i - BLOCK, b.length - i))
    i += BLOCK;
  while (i < max && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++;
  return i;
}
