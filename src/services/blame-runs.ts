// Blame runs shared by the requests of an isolate: a page that cannot wait for a whole blame shows
// where the run has got to, and the reload (and the background render that caches the final page)
// joins the same run instead of starting it over. Before, every request of a partial page ran
// blame again from the start within its own budget, beside the background run, on the same thread.
import type { BlameResult, BlameWatch } from "../git/blame";

export interface SharedBlame {
  /** The run's answer (complete unless its budget ran out). */
  done: Promise<BlameResult>;
  /** Where the run is now: its answer once done. */
  now(): BlameResult | null;
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
export function sharedBlame(key: string, givenUpAt: number, start: (watch: BlameWatch) => Promise<BlameResult>): SharedBlame {
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
  const watch: BlameWatch = {};
  const entry: Entry = { done: start(watch), now: () => watch.snapshot?.() ?? null, finished: false, givenUpAt };
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
 * The run's answer if it comes before `wait` settles, else where it has got to then (null when it
 * has not read the file yet). `wait`: the page's patience, a timer in production.
 */
export async function blameWithin(run: SharedBlame, wait: Promise<void>): Promise<BlameResult | null> {
  const done = await Promise.race([run.done.then(() => true), wait.then(() => false)]);
  return done ? run.done : run.now();
}

/** Forgets every run (tests). */
export function forgetBlameRuns(): void {
  runs.clear();
}
