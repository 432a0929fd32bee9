// Unified diff hunks of two versions of a file: grouped changes with context, their text as
// `git diff` prints it (with the enclosing function's name), and counts of added/removed lines.
import { diffLines, type TextLines } from "./diff";

export interface HunkLine {
  /** " " context, "-" removed, "+" added. */
  op: " " | "-" | "+";
  text: string;
  /** 1-based line numbers on each side (0 where the line is absent). */
  oldNo: number;
  newNo: number;
  /** This is the side's last line and it has no newline. */
  noEol: boolean;
}

export interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** The nearest line above the hunk that looks like a definition (git's default funcname). */
  func: string;
  lines: HunkLine[];
}

const range = (start: number, len: number) => (len === 1 ? `${start}` : `${len === 0 ? start - 1 : start},${len}`);

function hunkHeader(h: Hunk): string {
  return `@@ -${range(h.oldStart, h.oldLines)} +${range(h.newStart, h.newLines)} @@${h.func ? ` ${h.func}` : ""}`;
}

/** Groups a diff into hunks with `context` lines around changes, merging hunks that touch. */
export function makeHunks(a: TextLines, b: TextLines, context = 3): Hunk[] {
  const chunks = diffLines(a.lines, b.lines, a.eol, b.eol);
  const changes = chunks.filter((c) => !c.equal);
  const hunks: Hunk[] = [];
  let i = 0;
  while (i < changes.length) {
    // Extend the group while the gap to the next change is at most 2 * context lines.
    let j = i;
    while (j + 1 < changes.length && changes[j + 1]!.aStart - (changes[j]!.aStart + changes[j]!.aLen) <= 2 * context) j++;
    const first = changes[i]!;
    const last = changes[j]!;
    const aFrom = Math.max(0, first.aStart - context);
    const aTo = Math.min(a.lines.length, last.aStart + last.aLen + context);
    const bFrom = Math.max(0, first.bStart - context);
    const bTo = Math.min(b.lines.length, last.bStart + last.bLen + context);
    const lines: HunkLine[] = [];
    let x = aFrom;
    let y = bFrom;
    const noEolA = (k: number) => !a.eol && k === a.lines.length - 1;
    const noEolB = (k: number) => !b.eol && k === b.lines.length - 1;
    for (let c = i; c <= j; c++) {
      const ch = changes[c]!;
      while (x < ch.aStart) {
        lines.push({ op: " ", text: a.lines[x]!, oldNo: x + 1, newNo: y + 1, noEol: noEolA(x) && noEolB(y) });
        x++;
        y++;
      }
      for (let k = 0; k < ch.aLen; k++, x++) lines.push({ op: "-", text: a.lines[x]!, oldNo: x + 1, newNo: 0, noEol: noEolA(x) });
      for (let k = 0; k < ch.bLen; k++, y++) lines.push({ op: "+", text: b.lines[y]!, oldNo: 0, newNo: y + 1, noEol: noEolB(y) });
    }
    while (x < aTo && y < bTo) {
      lines.push({ op: " ", text: a.lines[x]!, oldNo: x + 1, newNo: y + 1, noEol: noEolA(x) && noEolB(y) });
      x++;
      y++;
    }
    hunks.push({
      oldStart: aFrom + 1,
      oldLines: aTo - aFrom,
      newStart: bFrom + 1,
      newLines: bTo - bFrom,
      func: funcName(a.lines, aFrom),
      lines,
    });
    i = j + 1;
  }
  return hunks;
}

function funcName(lines: string[], before: number): string {
  for (let k = before - 1; k >= 0; k--) {
    const l = lines[k]!;
    if (/^[A-Za-z_$]/.test(l)) return l.replace(/\s+$/, "").slice(0, 80);
  }
  return "";
}

/** Hunks as unified diff text (the body after the ---/+++ lines). */
export function hunksText(hunks: Hunk[]): string {
  let s = "";
  for (const h of hunks) {
    s += `${hunkHeader(h)}\n`;
    for (const l of h.lines) {
      s += `${l.op + l.text}\n`;
      if (l.noEol) s += "\\ No newline at end of file\n";
    }
  }
  return s;
}

export function countChanges(hunks: Hunk[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const h of hunks) for (const l of h.lines) l.op === "+" ? added++ : l.op === "-" && removed++;
  return { added, removed };
}
