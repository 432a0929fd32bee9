// Blame: which commit brought each line of a file, found the way git blame does it: lines are
// passed from a commit to the parents they came from (by line diff) until a commit that made
// them. Renames are followed when the content moved unchanged (git also finds similar files).
// Bounded by a budget: lines still unassigned when it is spent are reported against the commit
// the search stopped at. Each version of the file is read once and turned into line ids from its
// bytes, never decoded (line-ids.ts: only the lines near its differences from the child's version
// are split and hashed; the rest take the child's ids), and the diffs compare ids.
import { BlameLookups } from "./blame-ahead";
import { type BloomKey, bloomKeysOf } from "./bloom";
import type { Budget } from "./budget";
import { type CommitGraph, CommitQueue, type CommitInfo } from "./commit-graph";
import { type DiffStats, equalRuns } from "./diff";
import { DiffBuffers } from "./diff-buffers";
import { LineTable, type Version } from "./line-ids";
import { idTableLocator } from "./pack-id-table";
import { diffTrees } from "./tree-diff";
import type { Oid } from "./oid";

export interface BlameLine {
  commit: Oid;
  /** 1-based line number in that commit's version of the file. */
  line: number;
  /** False when the search stopped before finding where the line came from. */
  final: boolean;
}

export interface BlameResult {
  lines: BlameLine[];
  complete: boolean;
  /** Commits whose version was compared. */
  steps: number;
  /** Work done (for tests and Server-Timing). */
  work: BlameWork;
  /**
   * Of the start commit's history (by generation number), the part still below where the walk is,
   * 0 to 1: how far a run in progress has to go at most (a page waits a little longer for a run near
   * its end). Undefined without the commit-graph.
   */
  left?: number;
}

export interface BlameWork {
  /** Versions of the file read from the store. */
  blobReads: number;
  diffs: number;
  /** Lines of those versions split and looked up (each version once). */
  linesHashed: number;
  /** Line comparisons the diffs made. */
  compared: number;
  /** Buffers the diffs allocated (they are reused: a few per run, not a few per diff). */
  diffBuffers: number;
  /** Whether ids were looked up in the packs' id tables (a long walk on ranged indexes). */
  idTables?: boolean;
  /** Path lookups started ahead of the walk (blame-ahead.ts). */
  readAhead?: number;
}

/** Lets a caller look at a run in progress: a page shows it while the run goes on (services/blame-runs.ts). */
export interface BlameWatch {
  /** The lines as found so far; those still searched for are reported where the search is (not final). */
  snapshot?: () => BlameResult;
  /**
   * Called when the walk gives a commit lines for good, as it goes: the page reads the commits its
   * margin names while the walk runs (their reads wait on storage, the walk on the CPU).
   */
  found?: (commit: Oid) => void;
}

/** Lines [fStart, fStart+len) of the final file are lines [sStart, sStart+len) of a suspect's version. */
interface Span {
  fStart: number;
  sStart: number;
  len: number;
}

/**
 * Versions kept for the next diffs (a version is diffed as a parent, then as the child: a straight
 * history needs two; merges a few more). Kept small so that versions die young: 4 MiB held about
 * 30 versions of the long file, which the collector then copied and promoted.
 */
const VERSIONS_CACHE_BYTES = 1024 * 1024;
/** Commits passed by their Bloom filter alone for one step of the budget. */
const PASS_PER_STEP = 16;
/**
 * Steps after which a walk reads its packs' id tables (when they are small enough) and looks ids
 * up there: a walk this long reads a few trees and a version per step, ids spread over the whole
 * index, and by ranges nearly each of those lookups was a storage read (80 on a 100,000-object
 * repository, in a row, for one cold blame), where the tables are a few large reads. Early,
 * because a page waits for those reads (with 32, the first request of a cold blame got through
 * 80 to 140 steps and 50 storage reads; with 8, 166 steps and 35 reads: bench/scale-results.md).
 */
const ID_TABLES_AFTER_STEPS = 8;
/**
 * Packs of at least this many objects (ranged indexes) have their id tables read before the first
 * step: there the first steps' lookups, each a storage read in a row, were 35 of the 64 index
 * reads of a cold blame on long70k (903,585 objects), whose table it read anyway.
 * (A short walk there reads a table it could have done without; the isolate keeps it for the
 * pages and walks after.)
 */
export const ID_TABLES_FIRST_OBJECTS = 250_000;
/**
 * Batches of the id tables (65,536 ids, 1.5 MiB) read side by side ahead of the one being filled
 * in: long70k's table was 14 rounds of two reads each, one after the other, most of a cold
 * blame's first request; with 3 ahead, 4 rounds (6 MiB held at once while it is read).
 */
export const ID_TABLE_READ_AHEAD = 3;

export async function blame(
  graph: CommitGraph,
  start: Oid,
  path: string[],
  /**
   * `lines`: the table of line ids (tests pass a small one, to see it start over); `readAhead`: commits read ahead
   * (blame-ahead.ts, 0: none); `versionBytes`: bytes of versions kept for the next diffs (tests pass a small one).
   */
  opts: { budget?: Budget; lines?: LineTable; watch?: BlameWatch; readAhead?: number; versionBytes?: number } = {},
): Promise<BlameResult> {
  const store = graph.store;
  const lookups = new BlameLookups(graph, opts.readAhead);
  const blobAt = (commit: Oid, file: string) => lookups.blobAt(commit, file);
  const stats: DiffStats = { compared: 0 };
  const work: BlameWork = { blobReads: 0, diffs: 0, linesHashed: 0, compared: 0, diffBuffers: 0, idTables: false };
  const table = opts.lines ?? new LineTable();
  const hashedBefore = table.linesHashed;
  const versions = new Map<Oid, { version: Version; generation: number }>();
  /**
   * Versions dropped at the last clearing of `versions`: given back to the table at the next one.
   * Not at once: the suspect's version of the diff under way may be among those dropped.
   */
  let dropped: Version[] = [];
  let versionBytes = 0;
  /** A version of the file; `child`: the version it is diffed with, whose shared lines it reuses. */
  const versionOf = async (blob: Oid, child?: Version): Promise<Version> => {
    const hit = versions.get(blob);
    if (hit && hit.generation === table.generation) return hit.version;
    work.blobReads++;
    const version = table.idsOf(await store.readTyped(blob, "blob"), child);
    // Its bytes, ids and line starts.
    const size = version.bytes.byteLength + version.ids.byteLength + version.starts.byteLength;
    if (versionBytes + size > (opts.versionBytes ?? VERSIONS_CACHE_BYTES)) {
      table.release(dropped);
      dropped = [...versions.values()].map((v) => v.version);
      versions.clear();
      versionBytes = 0;
    }
    versions.set(blob, { version, generation: table.generation });
    versionBytes += size;
    return version;
  };
  const buffers = new DiffBuffers();
  /**
   * The equal runs of a diff from the parent's version to the suspect's: (parent line, suspect
   * line, length) triples in `buffers.runs`, valid until the next diff; returns how many.
   */
  const equalRunsOf = async (parentBlob: Oid, blob: Oid): Promise<{ runs: Int32Array; n: number }> => {
    table.startOverIfFull();
    const mine = await versionOf(blob);
    const theirs = await versionOf(parentBlob, mine);
    work.diffs++;
    const n = equalRuns(theirs.ids, mine.ids, stats, buffers);
    return { runs: buffers.ints("runs", 0), n };
  };

  const keysOf = new Map<string, BloomKey[]>();
  const keysFor = (file: string) => {
    let k = keysOf.get(file);
    if (!k) keysOf.set(file, (k = bloomKeysOf(file)));
    return k;
  };

  const useIdTables = async () => {
    // Within the isolate's budget for kept tables (12 bytes an object: about a million objects).
    const locator = await idTableLocator(store, { ahead: ID_TABLE_READ_AHEAD });
    if (locator) {
      store.useLocator(locator);
      work.idTables = true;
    }
  };
  const objects = store.packs.reduce((n, p) => n + p.index.count, 0);
  if (objects >= ID_TABLES_FIRST_OBJECTS) await useIdTables();

  const startPath = path.join("/");
  const startBlob = await blobAt(start, startPath);
  if (!startBlob) throw new Error("no such file");
  const total = (await versionOf(startBlob)).ids.length;
  const out: BlameLine[] = new Array(total);

  const pending = new Map<Oid, { commit: CommitInfo; blob: Oid; file: string; spans: Span[] }>();
  const queue = new CommitQueue();
  const give = async (commit: Oid, blob: Oid, file: string, spans: Span[]) => {
    if (spans.length === 0) return;
    const hit = pending.get(commit);
    if (hit) {
      hit.spans.push(...spans);
      return;
    }
    const info = await graph.commit(commit);
    pending.set(commit, { commit: info, blob, file, spans });
    queue.push(info);
  };
  const assign = (commit: Oid, spans: Span[], final: boolean, to = out) => {
    for (const s of spans) for (let i = 0; i < s.len; i++) to[s.fStart + i] = { commit, line: s.sStart + i + 1, final };
  };
  /** The commit being compared now, with the lines it holds (neither in `out` nor in `pending`). */
  let current: { oid: Oid; spans: Span[] } | null = null;
  let steps = 0;
  // Generation numbers: the start's, and the walk's now (it takes commits highest first).
  const top = (await graph.commit(start)).generation;
  let reached = top;
  const left = () => (top === undefined || reached === undefined ? undefined : top > 1 ? (reached - 1) / (top - 1) : 0);
  const workNow = (): BlameWork => ({
    ...work,
    compared: stats.compared,
    linesHashed: table.linesHashed - hashedBefore,
    diffBuffers: buffers.allocations,
    readAhead: lookups.started,
  });
  if (opts.watch) {
    opts.watch.snapshot = () => {
      const lines = out.slice();
      // Older suspects last: a line passed on to a parent mid-step is reported at the parent.
      if (current) assign(current.oid, current.spans, false, lines);
      for (const [oid, s] of pending) assign(oid, s.spans, false, lines);
      return { lines, complete: false, steps, work: workNow(), left: left() };
    };
  }

  if (total > 0) await give(start, startBlob, startPath, [{ fStart: 0, sStart: 0, len: total }]);
  let complete = true;
  while (queue.size > 0) {
    current = null;
    const c = queue.pop()!;
    const suspect = pending.get(c.oid);
    if (!suspect) continue; // queued twice
    if (opts.budget && (await opts.budget.step())) {
      complete = false;
      // Every line still in flight is reported where the search stopped.
      for (const [oid, s] of pending) assign(oid, s.spans, false);
      break;
    }
    pending.delete(c.oid);
    steps++;
    reached = c.generation;
    if (steps === ID_TABLES_AFTER_STEPS && !work.idTables) await useIdTables();
    let spans = suspect.spans.sort((a, b) => a.sStart - b.sStart);
    current = { oid: c.oid, spans };
    const parents = await graph.presentParents(c);
    // The Bloom filter says the file is as in the first parent: every line passes on unread to it
    // (a merge too: git gives a line to the first parent that has the same file).
    if (parents.length > 0 && c.parents.length === parents.length && !(await graph.mayChange(c.oid, keysFor(suspect.file)))) {
      // And on down the first parents while their filters rule the file out: by graph position,
      // each commit passed a sixteenth of a step (no tree, no id decoded).
      const left = opts.budget ? (opts.budget.maxSteps - opts.budget.used) * PASS_PER_STEP : Infinity;
      const to = await lookups.passFrom(c, suspect.file, keysFor(suspect.file), Math.max(0, left));
      for (let i = 0; i < to.passed; i += PASS_PER_STEP) opts.budget?.spend();
      await give(to.oid, suspect.blob, suspect.file, spans);
      continue;
    }
    // Once lookups are cheap: before the id tables, each lookup ahead would be a ranged index read.
    if (work.idTables || steps >= ID_TABLES_AFTER_STEPS) await lookups.at(c.oid, suspect.file, keysFor(suspect.file));
    const parentBlobs = await Promise.all(parents.map((p) => blobAt(p, suspect.file)));
    const same = parentBlobs.indexOf(suspect.blob);
    if (same >= 0) {
      await give(parents[same]!, suspect.blob, suspect.file, spans);
      continue;
    }
    if (parents.length > 0 && parentBlobs.every((b) => b === null)) {
      // The file appears here: if it was moved unchanged, its lines come from the old path.
      const { changes } = await diffTrees(store, (await graph.commit(parents[0]!)).tree, c.tree);
      const moved = changes.find((ch) => ch.status === "R" && ch.path === suspect.file);
      if (moved) {
        await give(parents[0]!, suspect.blob, moved.oldPath!, spans);
        continue;
      }
    }
    for (let i = 0; i < parents.length && spans.length; i++) {
      const pb = parentBlobs[i];
      if (!pb) continue;
      const { runs, n } = await equalRunsOf(pb, suspect.blob);
      const passed: Span[] = [];
      const kept: Span[] = [];
      let k = 0;
      for (const s of spans) {
        let from = s.sStart;
        const end = s.sStart + s.len;
        while (from < end) {
          // Run k: parent lines from runs[3k], suspect lines from runs[3k+1], runs[3k+2] of them.
          while (k < n && runs[3 * k + 1]! + runs[3 * k + 2]! <= from) k++;
          const bStart = k < n ? runs[3 * k + 1]! : end;
          if (bStart >= end) {
            kept.push({ fStart: s.fStart + (from - s.sStart), sStart: from, len: end - from });
            break;
          }
          if (bStart > from) {
            kept.push({ fStart: s.fStart + (from - s.sStart), sStart: from, len: bStart - from });
            from = bStart;
          }
          const upto = Math.min(end, bStart + runs[3 * k + 2]!);
          passed.push({ fStart: s.fStart + (from - s.sStart), sStart: runs[3 * k]! + (from - bStart), len: upto - from });
          from = upto;
        }
      }
      await give(parents[i]!, pb, suspect.file, passed);
      spans = kept;
    }
    if (spans.length > 0) {
      assign(c.oid, spans, true);
      opts.watch?.found?.(c.oid);
    }
  }
  const result = { lines: out, complete, steps, work: workNow() };
  if (opts.watch) opts.watch.snapshot = () => result;
  return result;
}
