// Every call a page makes into storage (a ranged R2 read of a pack, an index or a commit-graph
// layer; a whole GET; a Cache API match, put or delete) is a turn for the isolate's other requests: locally
// each is a chain of calls into Miniflare's simulator on the one workerd thread, during which no
// timer runs and no new request is read, so the warm page waited for the whole stretch of storage
// calls between two turns of a cold page (issue 19; bench/scale-results.md, s11-warm).
import { env as workerEnv } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { WindowedSource } from "../../src/git/range-source";
import { edgeCache } from "../../src/obs/edge-cache";
import { meteredEnv, newMeter } from "../../src/obs/meter";
import { R2Source } from "../../src/storage/r2-source";
import type { Env } from "../../src/env";
import { turnsDuring } from "./turns";

const env = workerEnv as unknown as Env;

describe("storage calls give way", () => {
  it("each ranged read from R2, through the pack windows or straight (index units, graph pages)", async () => {
    const key = `t/turns/${crypto.randomUUID()}/pack.bin`;
    const data = Uint8Array.from({ length: 16 * 4096 }, (_, i) => (i * 7) & 0xff);
    await env.OBJECTS.put(key, data);
    const straight = new R2Source(env.OBJECTS, key, data.length);
    const windowed = new WindowedSource(new R2Source(env.OBJECTS, key, data.length), 4096);
    const { turns } = await turnsDuring(async () => {
      for (let i = 0; i < 8; i++) expect((await straight.read(i * 4096, i * 4096 + 4))[0]).toBe(data[i * 4096]);
      // Each window read once from storage (then cached: reads of it spend a unit only).
      for (let i = 8; i < 16; i++) expect((await windowed.read(i * 4096, i * 4096 + 4))[0]).toBe(data[i * 4096]);
    });
    // One turn per read from storage (16); before, 8 units a window read and none for a straight one: 2.
    expect(turns).toBeGreaterThanOrEqual(15);
  });

  it("each whole GET a request makes (a small pack index, a stored answer, a checkpoint)", async () => {
    const key = `t/turns/${crypto.randomUUID()}/answer.json`;
    await env.OBJECTS.put(key, JSON.stringify({ a: 1 }));
    const metered = meteredEnv(env, newMeter("turns"));
    const { turns } = await turnsDuring(async () => {
      for (let i = 0; i < 8; i++) expect(await (await metered.OBJECTS.get(key))!.json()).toEqual({ a: 1 });
    });
    // Eight GETs, a turn each; before, none.
    expect(turns).toBeGreaterThanOrEqual(7);
  });

  it("each Cache API call", async () => {
    const cache = edgeCache()!;
    const url = `https://derived.edgeforge.invalid/turns/${crypto.randomUUID()}`;
    const { turns } = await turnsDuring(async () => {
      for (let i = 0; i < 4; i++) {
        expect(await cache.match(`${url}/${i}`)).toBeUndefined();
        await cache.put(`${url}/${i}`, new Response("x", { headers: { "cache-control": "max-age=60" } }));
        await cache.delete(`${url}/${i}`);
      }
    });
    // Twelve calls, a turn each; before, none.
    expect(turns).toBeGreaterThanOrEqual(11);
  });
});
