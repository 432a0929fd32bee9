// The long-lived file bench:gen-large adds with --long-file (issue 19's blame target: a 2,000-line
// file with 500 revisions), and the path bench:scale looks for to time blame of it.
//
// Its edits come from their own random sequence, so the rest of the generated history (and every
// other file's content) is the same with or without it.
import { rng } from "./rng";

/** Where the file lives in the generated repository. */
export const LONG_FILE = "src/core/dispatch-table.ts";
/** About this many lines: the file stays between 1,900 and 2,100. */
const TARGET_LINES = 2000;
/** Revisions aimed at (the first commit, then edits); enough above 500 to meet it at any --commits. */
const REVISIONS = 560;

/**
 * The file's content over time. `due()` says whether that commit edits it (spread
 * evenly at random over the history, about `REVISIONS` of `totalCommits`); `edit()` changes a few
 * lines in a few places (replaced, inserted, deleted) and, one edit in five, moves a block of
 * lines elsewhere, as refactorings of git/git's long files do. Lines are numbered so that most are
 * unique, as in real code (blame then has one right answer to compare with git's).
 */
export class LongFile {
  private readonly R = rng(19_2000_500);
  private serial = 0;
  readonly lines: string[];
  revisions = 0;

  constructor(private readonly totalCommits: number) {
    this.lines = Array.from({ length: TARGET_LINES }, () => this.line());
  }

  private line(): string {
    const n = this.serial++;
    const indent = "  ".repeat(this.R.int(0, 3));
    switch (this.R.int(0, 5)) {
      case 0:
        return `${indent}const entry${n} = table.lookup(${this.R.int(0, 4096)}, "key-${n}");`;
      case 1:
        return `${indent}if (entry${n} > ${this.R.int(1, 100)}) dispatch(entry${n});`;
      case 2:
        return `${indent}// Step ${n}: the handler runs before the next one is read.`;
      case 3:
        return `${indent}register("handler-${n}", (ctx) => ctx.next(${this.R.int(0, 9)}));`;
      case 4:
        return `${indent}}`;
      default:
        return "";
    }
  }

  /** Whether the next commit edits the file (asked once per commit but merges). */
  due(): boolean {
    return this.R.next() < (REVISIONS - 1) / Math.max(1, this.totalCommits - 1);
  }

  /** Text of the current version. */
  text(): string {
    return `${this.lines.join("\n")}\n`;
  }

  /** Edits a few lines in two or three places; sometimes moves a block; keeps the length near the target. */
  edit(): void {
    const L = this.lines;
    for (let places = this.R.int(2, 3); places > 0; places--) {
      const at = this.R.int(0, L.length - 1);
      const op = this.R.int(0, 9);
      if (op < 5) for (let i = this.R.int(1, 3); i > 0 && at + i - 1 < L.length; i--) L[at + i - 1] = this.line();
      else if (op < 8 && L.length < TARGET_LINES + 100)
        L.splice(at, 0, ...Array.from({ length: this.R.int(1, 5) }, () => this.line()));
      else if (L.length > TARGET_LINES - 100) L.splice(at, this.R.int(1, 5));
      else L[at] = this.line();
    }
    if (this.R.next() < 0.2) {
      // A block of 5 to 30 lines cut and pasted elsewhere.
      const len = this.R.int(5, 30);
      const from = this.R.int(0, L.length - len);
      const block = L.splice(from, len);
      L.splice(this.R.int(0, L.length), 0, ...block);
    }
    this.revisions++;
  }
}
