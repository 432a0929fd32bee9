// Uploads under way in this isolate (a push's receive-pack until its refs are updated, an import's
// part or its indexing): derived work that can wait (a checkpoint drive's next run) yields to them.
// It would share the isolate's one thread and its 128 MB with the upload: beside big.git's push
// --mirror, its import's graph build and checkpoint runs made the push 5.25x git-http-backend's
// time (bench/scale-results.md, session 12, s12-mirror).

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
