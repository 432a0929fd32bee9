// Work in flight, shared only within the request (or queue batch) that started it.
// workerd cancels a request that waits on nothing of its own ("the code had hung") even while
// the promise it waits on is another request's read still under way, and a canceled request's
// reads never settle: a module-wide map of in-flight reads then hands that never-settling
// promise to every later request for the same key, which hang in turn (seen on big.git's pages:
// after ~7 minutes every page of the repository answered 500).
import { AsyncLocalStorage } from "node:async_hooks";

const storage = new AsyncLocalStorage<Map<string, Promise<unknown>>>();
/** Work outside any request scope (a Durable Object's own calls, tests) shares one map, as before. */
const outside = new Map<string, Promise<unknown>>();

/** Runs `fn` as one request: reads it starts are joined only by its own work. */
export function inRequestScope<T>(fn: () => T): T {
  return storage.run(new Map(), fn);
}

/** The current request's reads in flight by key (a key's entry is deleted once it settles). */
export function inflightReads<T>(): Map<string, Promise<T>> {
  return (storage.getStore() ?? outside) as Map<string, Promise<T>>;
}

/** The current request (its map of reads stands for it), or the scope shared outside requests. */
const currentScope = (): object => storage.getStore() ?? outside;

/**
 * Joins the current request's run of `key`, or starts one. Another request never joins it: it
 * runs its own (the result is for the caller to cache once settled).
 */
export function joinWithinRequest<T>(key: string, start: () => Promise<T>): Promise<T> {
  const inflight = inflightReads<T>();
  const running = inflight.get(key);
  if (running) return running;
  const run = start().finally(() => inflight.delete(key));
  inflight.set(key, run);
  return run;
}

interface Run<T> {
  scope: object;
  started: number;
  promise: Promise<T>;
}

/**
 * Work of the isolate by key (a migration, a build) that one run at a time should do, without
 * any request waiting on another request's run: that run may be canceled with its request and
 * then never settle. A caller joins a run of its own request; a run of another request is left
 * alone, and the caller does the work itself or goes without it, as the work allows.
 */
export class IsolateRuns<T> {
  private readonly runs = new Map<string, Run<T>>();

  /** Another request's run of `key`, if one was started and has not settled. */
  private foreign(key: string): Run<T> | undefined {
    const run = this.runs.get(key);
    return run && run.scope !== currentScope() ? run : undefined;
  }

  private start(key: string, work: () => Promise<T>): Promise<T> {
    const run: Run<T> = { scope: currentScope(), started: Date.now(), promise: Promise.resolve() as Promise<T> };
    // Only this run's own entry is removed: a later run of another request may have replaced it.
    run.promise = work().finally(() => {
      if (this.runs.get(key) === run) this.runs.delete(key);
    });
    this.runs.set(key, run);
    return run.promise;
  }

  /**
   * The request's own run of `key`, else a new one. For idempotent work: a request that finds
   * another request's run starts its own, which later callers of its request join.
   */
  run(key: string, work: () => Promise<T>): Promise<T> {
    const own = this.runs.get(key);
    if (own && !this.foreign(key)) return own.promise;
    return this.start(key, work);
  }

  /**
   * The request's own run of `key`, else a new one, except while another request's run started
   * less than `staleMs` ago: then `skipped` (for work that can be left out, such as derived data,
   * and too big to run twice at once). A run that old is taken as lost with its request.
   */
  runUnlessBusy(key: string, work: () => Promise<T>, skipped: T, staleMs: number): Promise<T> {
    const other = this.foreign(key);
    if (other && Date.now() - other.started < staleMs) return Promise.resolve(skipped);
    return this.run(key, work);
  }
}
