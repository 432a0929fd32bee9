// Every call a page makes into storage (a ranged R2 read of a pack, an index or a commit-graph
// layer; a whole GET; a Cache API match, put or delete) spends STORAGE_READ_UNITS from the
// isolate's turn budget: locally each is a chain of calls into Miniflare's simulator on the one
// workerd thread, during which no timer runs and no new request is read. Before, only reads
// through the pack windows counted, so a cold tree page on big.git ran 15 R2 calls and 4 cache
// calls with turns from none but the window reads (issue 19; bench/scale-results.md, s11-warm).
import { env as workerEnv } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WindowedSource } from "../../src/git/range-source";
import { edgeCache } from "../../src/obs/edge-cache";
import { meteredEnv, newMeter } from "../../src/obs/meter";
import { R2Source } from "../../src/storage/r2-source";
import type { Env } from "../../src/env";
import { STORAGE_READ_UNITS, TURN_UNITS } from "../../src/utils/pace";
import { turnsDuring } from "./turns";

const env = workerEnv as unknown as Env;

/** Calls of each kind per test: enough for two turns at STORAGE_READ_UNITS each. */
const CALLS = Math.ceil((2 * TURN_UNITS) / STORAGE_READ_UNITS);
/** The turns those calls give at least (the budget may have been part spent before). */
const TURNS = Math.floor((CALLS * STORAGE_READ_UNITS) / TURN_UNITS) - 1;

describe("storage calls count in the isolate's turn budget", () => {
  it("ranged reads from R2 straight (index units, graph pages), not only through the pack windows", async () => {
    const key = `t/turns/${crypto.randomUUID()}/pack.idx`;
    const data = Uint8Array.from({ length: CALLS * 4096 }, (_, i) => (i * 7) & 0xff);
    await env.OBJECTS.put(key, data);
    const straight = new R2Source(env.OBJECTS, key, data.length);
    const { turns } = await turnsDuring(async () => {
      for (let i = 0; i < CALLS; i++) expect((await straight.read(i * 4096, i * 4096 + 4))[0]).toBe(data[i * 4096]);
    });
    // Before, a straight read counted nothing: no turn.
    expect(turns).toBeGreaterThanOrEqual(TURNS);
  });

  it("ranged reads through the pack windows, once each (a window read from the cache spends a unit only)", async () => {
    const key = `t/turns/${crypto.randomUUID()}/pack.pack`;
    const data = Uint8Array.from({ length: CALLS * 4096 }, (_, i) => (i * 5) & 0xff);
    await env.OBJECTS.put(key, data);
    const windowed = new WindowedSource(new R2Source(env.OBJECTS, key, data.length), 4096);
    const { turns } = await turnsDuring(async () => {
      for (let i = 0; i < CALLS; i++) expect((await windowed.read(i * 4096, i * 4096 + 4))[0]).toBe(data[i * 4096]);
    });
    expect(turns).toBeGreaterThanOrEqual(TURNS);
  });

  it("a request's whole GETs (a small pack index, a stored answer, a checkpoint)", async () => {
    const key = `t/turns/${crypto.randomUUID()}/answer.json`;
    await env.OBJECTS.put(key, JSON.stringify({ a: 1 }));
    const metered = meteredEnv(env, newMeter("turns"));
    const { turns } = await turnsDuring(async () => {
      for (let i = 0; i < CALLS; i++) expect(await (await metered.OBJECTS.get(key))!.json()).toEqual({ a: 1 });
    });
    // Before, none.
    expect(turns).toBeGreaterThanOrEqual(TURNS);
  });

  it("Cache API calls", async () => {
    const cache = edgeCache()!;
    const url = `https://derived.edgeforge.invalid/turns/${crypto.randomUUID()}`;
    const { turns } = await turnsDuring(async () => {
      for (let i = 0; i < CALLS; i++) expect(await cache.match(`${url}/${i}`)).toBeUndefined();
    });
    // Before, none.
    expect(turns).toBeGreaterThanOrEqual(TURNS);
  });
});
