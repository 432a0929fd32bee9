// The push isolate's memory budget (utils/edge-budget.ts): the caches the push worker's modules make
// are the ones declared for it, with its own bounds where it has them, and the bounds, its resting
// heap and its largest operation (a pack's indexing) stay within the same live limit as the edge's.
import { describe, expect, it } from "vitest";
import "../../src/push/index";
import {
  EDGE_CACHE_BOUNDS,
  EDGE_LIVE_LIMIT,
  edgeCaches,
  PUSH_CACHE_BOUNDS,
  PUSH_CACHES,
  PUSH_RESTING_BYTES,
  PUSH_WORK_BYTES,
} from "../../src/utils/edge-budget";

const bound = (name: (typeof PUSH_CACHES)[number]) => PUSH_CACHE_BOUNDS[name] ?? EDGE_CACHE_BOUNDS[name];

describe("the push isolate's memory budget", () => {
  it("lists every cache the push worker's modules make, each with the push isolate's bound", () => {
    const caches = edgeCaches();
    expect(Object.keys(caches).sort()).toEqual([...PUSH_CACHES].sort());
    for (const name of PUSH_CACHES) {
      expect({ name, maxBytes: caches[name]!.maxBytes }).toEqual({ name, maxBytes: bound(name) });
      expect(caches[name]!.bytes).toBeLessThanOrEqual(bound(name));
    }
  });

  it("keeps the caches' bounds, the resting heap and a pack's indexing within the live limit", () => {
    const sum = PUSH_CACHES.reduce((n, name) => n + bound(name), 0);
    expect(sum + PUSH_RESTING_BYTES + PUSH_WORK_BYTES).toBeLessThanOrEqual(EDGE_LIVE_LIMIT);
  });
});
