// Blame runs shared by the requests of an isolate: a page that cannot wait for a whole blame shows
// where the run has got to, and the reload (and the background render that caches the final page)
// joins the same run instead of starting it over. Before, every request of a partial page ran
// blame again from the start within its own budget, beside the background run, on the same thread.
import type { BlameResult, BlameWatch } from "../git/blame";
import type { Oid } from "../git/oid";
import { readCommit, type SourceRepo } from "./source";

export interface SharedBlame {
  /** The run's answer (complete unless its budget ran out). */
  done: Promise<BlameResult>;
  /** Where the run is now: its answer once done. */
  now(): BlameResult | null;
  /** The commits of the margin, read while the run went on. */
  margin: MarginReads;
  /** When the run started (ms since the epoch). */
  startedAt: number;
}

/** What the margin shows of a commit. */
export interface MarginCommit {
  subject: string;
  author: string;
  time: number;
}

/**
 * How a page reads a commit of its margin: alone, without learning the commits after it (they
 * are scattered over the history: the long file's 520 among 70,000, and learning the 128 after
 * each was a third of a cold blame's CPU on long70k, bench/scale-results.md).
 */
export async function readMarginCommit(src: SourceRepo, oid: Oid): Promise<MarginCommit> {
  const c = await readCommit(src, oid, { learn: false });
  return { subject: c.subject, author: c.author.name, time: c.author.time };
}

/** Commits of the margin read at once, side by side (each may be a storage read). */
export const MARGIN_BATCH = 32;

/**
 * The margin's commits, read a batch at a time as the walk names them, so that their storage reads
 * overlap the walk (which waits on the CPU) instead of following it: 368 commits read after the
 * walk of the long file were a quarter of its page. A page takes the ones read (`ready`) and reads
 * the rest itself: it never waits on reads another request started (a cancelled request's reads
 * never settle: utils/request-scope.ts).
 */
export class MarginReads {
  private readonly read = new Map<Oid, MarginCommit>();
  private readonly asked = new Set<Oid>();
  private queue: Oid[] = [];
  private draining: Promise<void> | null = null;
  /** Commits read ahead (for tests and Server-Timing). */
  count = 0;

  constructor(private readonly readOne?: (oid: Oid) => Promise<MarginCommit>) {}

  /** Reads `oid` soon (the walk gave it lines). */
  want(oid: Oid): void {
    if (!this.readOne || this.asked.has(oid)) return;
    this.asked.add(oid);
    this.queue.push(oid);
    this.draining ??= this.drain();
  }

  /** When the reads asked so far are done (tests). */
  async settled(): Promise<void> {
    await this.draining;
  }

  /** The commit, if it has been read. */
  ready(oid: Oid): MarginCommit | undefined {
    return this.read.get(oid);
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MARGIN_BATCH);
        const got = await Promise.all(batch.map((oid) => this.readOne!(oid)));
        for (const [i, oid] of batch.entries()) this.read.set(oid, got[i]!);
        this.count += batch.length;
      }
    } catch {
      // The page reads what is missing itself (and meets the error there, if it is one).
      this.queue = [];
    } finally {
      this.draining = null;
    }
  }
}

/** Runs kept at once: in progress, or finished and complete (their answer is immutable). */
const MAX_RUNS = 8;

interface Entry extends SharedBlame {
  finished: boolean;
  /** After this (ms since the epoch) a run still in progress is taken for dead and not joined. */
  givenUpAt: number;
}

const runs = new Map<string, Entry>();

/** Runs started and joined in this isolate (for tests and Server-Timing). */
export const blameRunCounts = { started: 0, joined: 0 };

/**
 * The run of `key` (a repository, a commit and a path: what makes the answer), joined if one is
 * in progress or finished complete, else started with `start`. A run that ends incomplete or
 * fails is forgotten, so that the next request starts a new one. `givenUpAt`: when a run still in
 * progress is no longer joined (past its budget's deadline: workerd may have cancelled the request
 * that ran it, and a cancelled request's reads never settle: utils/request-scope.ts).
 */
export function sharedBlame(
  key: string,
  givenUpAt: number,
  start: (watch: BlameWatch) => Promise<BlameResult>,
  /** How a margin commit is read (none: the page reads them all after the run). */
  readMargin?: (oid: Oid) => Promise<MarginCommit>,
): SharedBlame {
  const known = runs.get(key);
  if (known && !known.finished && Date.now() > known.givenUpAt) runs.delete(key);
  else if (known) {
    blameRunCounts.joined++;
    // Most recently used last: the oldest finished run is the one let go when the map is full.
    runs.delete(key);
    runs.set(key, known);
    return known;
  }
  blameRunCounts.started++;
  const margin = new MarginReads(readMargin);
  const watch: BlameWatch = { found: (oid) => margin.want(oid) };
  const entry: Entry = {
    done: start(watch),
    now: () => watch.snapshot?.() ?? null,
    margin,
    startedAt: Date.now(),
    finished: false,
    givenUpAt,
  };
  if (makeRoom()) {
    runs.set(key, entry);
    entry.done.then(
      (r) => {
        entry.finished = true;
        if (!r.complete && runs.get(key) === entry) runs.delete(key);
      },
      () => {
        if (runs.get(key) === entry) runs.delete(key);
      },
    );
  }
  return entry;
}

/** Frees a place for a new run (the oldest finished one); false when every place is in progress. */
function makeRoom(): boolean {
  if (runs.size < MAX_RUNS) return true;
  for (const [key, run] of runs) {
    if (run.finished) {
      runs.delete(key);
      return true;
    }
  }
  return false;
}

/**
 * How much longer a page waits for a run that looks this close to its end. On long70k the long
 * file's walk ended 0.2 to 0.5 s after the page's 1.5 s, and the complete page came with the reload
 * a second later (bench/scale-results.md).
 */
export const NEAR_END_MS = 500;

/**
 * The run's answer if it comes before `wait` settles, else where it has got to then (null when it
 * has not read the file yet). `wait`: the page's patience, a timer in production. `more(ms)`: a
 * wait of `ms` more, taken when the run looks to end within it (its pace so far over the history
 * left below it: never sooner than it may, since the file may begin above the root).
 */
export async function blameWithin(
  run: SharedBlame,
  wait: Promise<void>,
  more?: (ms: number) => Promise<void>,
): Promise<BlameResult | null> {
  const done = await Promise.race([run.done.then(() => true), wait.then(() => false)]);
  if (done) return run.done;
  const now = run.now();
  if (more && now?.left !== undefined && now.left < 1) {
    const ms = ((Date.now() - run.startedAt) * now.left) / (1 - now.left);
    if (ms <= NEAR_END_MS && (await Promise.race([run.done.then(() => true), more(NEAR_END_MS).then(() => false)])))
      return run.done;
  }
  return run.now();
}

/** Forgets every run (tests). */
export function forgetBlameRuns(): void {
  runs.clear();
}
