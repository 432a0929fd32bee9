// The meter's count of sequential round trips: calls that overlap share one, a call started after
// another finished starts the next; decided by the order of starts and ends, never by durations.
import { describe, expect, it } from "vitest";
import { newMeter, serverTiming, startRoundTrip } from "./meter";
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
