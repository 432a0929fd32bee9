// The data centre's Cache API (`caches.default`), with each call counted on the current request's
// meter: a match or put is a hop like an R2 read (locally, a call to Miniflare's simulator).
import { currentMeter } from "./request-meter";
import { isolateTurns, STORAGE_READ_UNITS } from "../utils/pace";

/**
 * Locally each call is a chain of calls into Miniflare's cache simulator on the page's own thread
 * (a put parses the response and writes SQLite and a file), during which no timer runs and no
 * other request gets in: it spends from the isolate's budget like a read from R2.
 */
async function spent<T>(call: Promise<T>): Promise<T> {
  const out = await call;
  const turn = isolateTurns.spend(STORAGE_READ_UNITS);
  if (turn) await turn;
  return out;
}

const counted = (cache: Cache): Cache => ({
  async match(request, options) {
    const meter = currentMeter();
    if (meter) meter.cache.match++;
    const res = await spent(cache.match(request, options));
    if (meter && res) meter.cache.hit++;
    return res;
  },
  put(request, response) {
    const meter = currentMeter();
    if (meter) meter.cache.put++;
    return spent(cache.put(request, response));
  },
  delete(request, options) {
    const meter = currentMeter();
    if (meter) meter.cache.delete++;
    return spent(cache.delete(request, options));
  },
});

let wrapped: { of: Cache; cache: Cache } | null = null;

/** `caches.default`, counted; null where there is no Cache API (Node tests). */
export function edgeCache(): Cache | null {
  if (typeof caches === "undefined") return null;
  const cache = (caches as unknown as { default: Cache }).default;
  if (wrapped?.of !== cache) wrapped = { of: cache, cache: counted(cache) };
  return wrapped.cache;
}
