// Reads in flight, shared only within the request (or queue batch) that started them.
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
