// Uploads under way in this isolate (a push's receive-pack until its refs are updated, an import's
// part or its indexing): derived work that can wait (a checkpoint drive's next run) yields to them.
// It would share the isolate's one thread and its 128 MB with the upload: beside big.git's push
// --mirror, its import's graph build and checkpoint runs made the push 5.25x git-http-backend's
// time (bench/scale-results.md, session 12, s12-mirror).

import { yieldToOthers } from "../git/budget";

let underWay = 0;

/** Marks an upload as under way until the returned function is called (the first call counts). */
export function uploadStarted(): () => void {
  underWay++;
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    underWay--;
  };
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
const WAIT_STEP_MS = 250;

/**
 * A pause for long derived work that cannot stop and resume cheaply (a commit-graph build):
 * while an upload is under way it waits, up to UPLOAD_WAIT_MAX_MS in all, then gives one turn to
 * other work as any long walk does. It holds its memory meanwhile, as it did running beside.
 */
export function waitingForUploads(maxMs = UPLOAD_WAIT_MAX_MS): () => Promise<void> {
  let waited = 0;
  return async () => {
    while (underWay > 0 && waited < maxMs) {
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
      waited += WAIT_STEP_MS;
    }
    await yieldToOthers();
  };
}
