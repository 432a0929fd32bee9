// The meter's count of sequential round trips: calls that overlap share one, a call started after
// another finished starts the next; decided by the order of starts and ends, never by durations.
import { describe, expect, it } from "vitest";
import type { Env } from "../env";
import { edgeCache } from "./edge-cache";
import { meteredEnv, newMeter, serverTiming, startRoundTrip } from "./meter";
import { withMeter } from "./request-meter";
import { wanDelayMs, withWan } from "./wan";

describe("sequential round trips", () => {
  it("counts a chain, not the calls", () => {
    const m = newMeter("t");
    // Three calls side by side (Promise.all): one round trip.
    const side = [startRoundTrip(m), startRoundTrip(m), startRoundTrip(m)];
    for (const end of side) end();
    expect(m.roundTrips).toBe(1);
    // One after them: the second.
    startRoundTrip(m)();
    expect(m.roundTrips).toBe(2);
    expect(serverTiming(m)).toContain('rt;desc="2 sequential regional round trips');
  });

  it("a call started while another is out shares its trip; one started after it ended does not", () => {
    const m = newMeter("t");
    const a = startRoundTrip(m);
    const b = startRoundTrip(m); // a still out: same trip
    a();
    const c = startRoundTrip(m); // after a ended: the next trip, though b is still out
    b();
    c();
    expect(m.roundTrips).toBe(2);
  });

  it("a request without calls makes none", () => {
    expect(newMeter("t").roundTrips).toBe(0);
  });
});

describe("injected distance", () => {
  it("is off unless FORGE_WAN_MS is a positive number, and then leaves env as it is", () => {
    const env = { FORGE_WAN_MS: "", OTHER: "x" };
    expect(wanDelayMs(env)).toBe(0);
    expect(withWan(env)).toBe(env);
    expect(wanDelayMs({ FORGE_WAN_MS: "80" })).toBe(80);
    expect(wanDelayMs({ FORGE_WAN_MS: "-5" })).toBe(0);
  });

  it("wraps storage bindings only; plain values pass through", async () => {
    const kv = { get: async (k: string) => `v:${k}`, getWithMetadata: async () => null, put: async () => {} };
    const env = withWan({ FORGE_WAN_MS: "1", DIRECTORY: kv, NAME: "forge" });
    expect(env.NAME).toBe("forge");
    expect(env.DIRECTORY).not.toBe(kv);
    expect(await env.DIRECTORY.get("a")).toBe("v:a");
  });
});

describe("what the meter counts", () => {
  it("splits R2 calls into ranged and whole GETs, heads and lists, with the bytes read", async () => {
    const body = (size: number, range?: { offset: number; length: number }) => ({ body: new ReadableStream(), size, range });
    const bucket = {
      createMultipartUpload: () => {},
      get: async (_key: string, opts?: { range?: { offset: number; length: number } }) =>
        opts?.range ? body(1000, opts.range) : body(1000),
      head: async () => ({ size: 1000 }),
      list: async () => ({ objects: [] }),
    };
    const m = newMeter("t");
    const env = meteredEnv({ OBJECTS: bucket } as unknown as Env, m);
    await env.OBJECTS.get("a", { range: { offset: 10, length: 100 } });
    await env.OBJECTS.get("a");
    await env.OBJECTS.head("a");
    await env.OBJECTS.list();
    expect(m.calls.r2).toBe(4);
    expect(m.r2).toEqual({
      ranged: 1,
      whole: 1,
      head: 1,
      list: 1,
      write: 0,
      bytes: 1100,
      idx: 0,
      pack: 0,
      graph: 0,
      other: 2,
    });
    expect(serverTiming(m)).toContain('r2-get;desc="1 ranged, 1 whole, 1100 bytes"');
  });

  it("counts Cache API calls on the meter of the request that makes them", async () => {
    const m = newMeter("t");
    const url = `https://meter.test/${Math.random()}`;
    await withMeter(m, async () => {
      const cache = edgeCache()!;
      expect(await cache.match(url)).toBeUndefined();
      await cache.put(url, new Response("x", { headers: { "cache-control": "max-age=60" } }));
      expect(await (await cache.match(url))?.text()).toBe("x");
      await cache.delete(url);
    });
    await edgeCache()!.match(url); // outside any request: counted nowhere
    expect(m.cache).toEqual({ match: 2, hit: 1, put: 1, delete: 1 });
    expect(serverTiming(m)).toContain('cache;desc="2 match, 1 hit, 1 put, 1 delete"');
  });
});
