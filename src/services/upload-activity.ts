// Uploads under way in this isolate (a push's receive-pack until its refs are updated, an import's
// part or its indexing): derived work that can wait (a checkpoint drive's next run) yields to them.
// It would share the isolate's one thread and its 128 MB with the upload: beside big.git's push
// --mirror, its import's graph build and checkpoint runs made the push 5.25x git-http-backend's
// time (bench/scale-results.md, session 12, s12-mirror).

import { yieldToOthers } from "../git/budget";

let underWay = 0;
/** Wakes what waits for the last upload under way to end (set while something waits). */
let allEnded: { promise: Promise<void>; resolve: () => void } | null = null;

/** Marks an upload as under way until the returned function is called (the first call counts). */
export function uploadStarted(): () => void {
  underWay++;
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    underWay--;
    if (underWay === 0 && allEnded) {
      allEnded.resolve();
      allEnded = null;
    }
  };
}

/** Resolves once no upload is under way in this isolate (at once when none is). */
function noUploads(): Promise<void> {
  if (underWay === 0) return Promise.resolve();
  if (!allEnded) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    allEnded = { promise, resolve };
  }
  return allEnded.promise;
}

/** Runs `work` as an upload under way. */
export async function asUpload<T>(work: () => Promise<T>): Promise<T> {
  const end = uploadStarted();
  try {
    return await work();
  } finally {
    end();
  }
}

/** Whether an upload is under way in this isolate now. */
export const uploadUnderWay = (): boolean => underWay > 0;

/** How long one piece of derived work waits for uploads in all before it goes on beside them. */
export const UPLOAD_WAIT_MAX_MS = 5 * 60_000;

/**
 * A pause for long derived work that cannot stop and resume cheaply (a commit-graph build):
 * while an upload is under way it waits, until the last upload ends (it goes on at once then, not
 * at its next poll) or UPLOAD_WAIT_MAX_MS have passed in all, then gives one turn to other work as
 * any long walk does. It holds its memory meanwhile, as it did running beside.
 */
export function waitingForUploads(maxMs = UPLOAD_WAIT_MAX_MS): () => Promise<void> {
  let left = maxMs;
  return async () => {
    while (underWay > 0 && left > 0) {
      const since = Date.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        noUploads().then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), left))),
      ]);
      clearTimeout(timer);
      // Workers' clock moves across timers and I/O: the time waited is what it shows.
      left = timedOut ? 0 : left - (Date.now() - since);
    }
    await yieldToOthers();
  };
}
