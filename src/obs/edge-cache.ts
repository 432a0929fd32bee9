// The data centre's Cache API (`caches.default`), with each call counted on the current request's
// meter: a match or put is a hop like an R2 read (locally, a call to Miniflare's simulator).
import { currentMeter } from "./request-meter";

const counted = (cache: Cache): Cache => ({
  async match(request, options) {
    const meter = currentMeter();
    if (meter) meter.cache.match++;
    const res = await cache.match(request, options);
    if (meter && res) meter.cache.hit++;
    return res;
  },
  put(request, response) {
    const meter = currentMeter();
    if (meter) meter.cache.put++;
    return cache.put(request, response);
  },
  delete(request, options) {
    const meter = currentMeter();
    if (meter) meter.cache.delete++;
    return cache.delete(request, options);
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
