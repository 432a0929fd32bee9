// The edge isolate's memory budget (utils/edge-budget.ts): every per-isolate cache of the edge is
// in its table with the bound it really has, and the bounds together leave room under 128 MB.
import { describe, expect, it } from "vitest";
import "../../src/edge/index";
import { setKeptTablesBudget } from "../../src/git/pack-id-table";
import { setRangedPageBudget } from "../../src/git/pack-index-unit-cache";
import {
  EDGE_CACHE_BOUNDS,
  EDGE_CACHE_BUDGET,
  EDGE_LIVE_LIMIT,
  EDGE_PAGE_WORKING_BYTES,
  EDGE_RESTING_BYTES,
  edgeCaches,
} from "../../src/utils/edge-budget";

const MiB = 1024 * 1024;

describe("the edge's memory budget", () => {
  it("lists every cache the edge's modules make, each with the bound it has", () => {
    const caches = edgeCaches();
    expect(Object.keys(caches).sort()).toEqual(Object.keys(EDGE_CACHE_BOUNDS).sort());
    for (const [name, bound] of Object.entries(EDGE_CACHE_BOUNDS)) {
      expect({ name, maxBytes: caches[name]!.maxBytes }).toEqual({ name, maxBytes: bound });
      expect(caches[name]!.bytes).toBeLessThanOrEqual(bound);
    }
  });

  it("keeps the caches' bounds, the resting heap and a cold page's own work 16 MiB under 128 MB", () => {
    const sum = Object.values(EDGE_CACHE_BOUNDS).reduce((n, b) => n + b, 0);
    expect(sum).toBeLessThanOrEqual(EDGE_CACHE_BUDGET);
    expect(EDGE_CACHE_BUDGET + EDGE_RESTING_BYTES + EDGE_PAGE_WORKING_BYTES).toBeLessThanOrEqual(EDGE_LIVE_LIMIT);
    // The limit itself leaves 16 MiB or more of the isolate's 128 MB (122 MiB) to garbage not yet collected.
    expect(EDGE_LIVE_LIMIT).toBeLessThanOrEqual(128e6 - 16 * MiB);
  });

  it("reads a cache a test replaced anew", () => {
    const before = setRangedPageBudget(2 * MiB);
    const tables = setKeptTablesBudget(3 * MiB);
    try {
      expect(edgeCaches()["git.index-units"]!.maxBytes).toBe(2 * MiB);
      expect(edgeCaches()["git.pack-id-tables"]!.maxBytes).toBe(3 * MiB);
    } finally {
      setRangedPageBudget(before);
      setKeptTablesBudget(tables);
    }
  });
});
