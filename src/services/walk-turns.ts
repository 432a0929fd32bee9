// Background walks of one isolate and the requests that wait for them: one whole-tree walk per
// repository at a time, and waits on other requests' work bounded by a timer of the waiting
// request's own (utils/request-scope.ts says why).
import type { RepoRef } from "./repositories";

/**
 * How long a request waits for work another request started (a walk it joins, the repository's
 * previous walk) before going on without it: workerd cancels a request that waits only on another
 * request's I/O, and a cancelled request's work never settles, so the wait is on a timer of the
 * request's own. A run spends at
 * most BACKGROUND_BUDGET.ms (services/last-commits.ts), 20 s.
 */
export const JOIN_WAIT_MS = 25_000;

/** `p`, or undefined once `ms` have passed (on this request's own timer). */
export async function waitAtMost<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Per repository, the whole-tree walk running now: the next one starts when it ends (one at a time). */
const turns = new Map<string, Promise<void>>();

/** Waits for the repository's previous walk (at most JOIN_WAIT_MS); returns the release of this one's turn. */
export async function takeTurn(repo: RepoRef): Promise<() => void> {
  const key = `${repo.tenantId}/${repo.repoId}`;
  const previous = turns.get(key);
  let release = () => {};
  const mine = new Promise<void>((r) => (release = r));
  turns.set(key, mine);
  if (previous) await waitAtMost(previous, JOIN_WAIT_MS);
  return () => {
    release();
    if (turns.get(key) === mine) turns.delete(key);
  };
}
