import { afterEach, describe, expect, it, vi } from "vitest";
import { ByteLru, TtlCache } from "./lru";

describe("TtlCache", () => {
  afterEach(() => vi.useRealTimers());

  it("loads once per lifetime, caches absent results, and reloads after expiry or delete", async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const cache = new TtlCache<string, string | null>(5_000, 10);
    let loads = 0;
    const load = (v: string | null) => async () => {
      loads++;
      return v;
    };
    expect(await cache.get("a", load("one"))).toBe("one");
    expect(await cache.get("a", load("two"))).toBe("one");
    expect(await cache.get("missing", load(null))).toBeNull();
    expect(await cache.get("missing", load("late"))).toBeNull();
    expect(loads).toBe(2);
    vi.setSystemTime(1_005_001);
    expect(await cache.get("a", load("three"))).toBe("three");
    cache.delete("a");
    expect(await cache.get("a", load("four"))).toBe("four");
    expect(loads).toBe(4);
  });

  it("drops the oldest entry beyond its bound", async () => {
    const cache = new TtlCache<number, number>(60_000, 3);
    for (let i = 0; i < 4; i++) await cache.get(i, async () => i);
    let reloaded = false;
    expect(
      await cache.get(0, async () => {
        reloaded = true;
        return 100;
      }),
    ).toBe(100);
    expect(reloaded).toBe(true);
    expect(await cache.get(3, async () => -1)).toBe(3);
  });
});

describe("ByteLru", () => {
  it("evicts down to a smaller bound it is given, least recently used first, and keeps values up to a quarter of it", () => {
    const cache = new ByteLru<string, number>(100, (v) => v);
    for (const k of ["a", "b", "c", "d"]) cache.set(k, 20);
    cache.get("a");
    cache.resize(40);
    expect(cache.maxBytes).toBe(40);
    expect([cache.get("b"), cache.get("c"), cache.get("d"), cache.get("a")]).toEqual([undefined, undefined, 20, 20]);
    cache.set("e", 11); // over a quarter of 40: not kept
    expect(cache.get("e")).toBeUndefined();
  });

  it("evicts the least recently used values past its byte budget, and never keeps one value over a quarter of it", () => {
    const lru = new ByteLru<string, string>(40, (s) => s.length);
    const v = (c: string) => c.repeat(9);
    for (const k of ["a", "b", "c", "d"]) lru.set(k, v(k));
    lru.get("a");
    lru.set("e", v("e")); // 45 bytes: "b", the least recently used, goes
    expect(lru.get("b")).toBeUndefined();
    expect(lru.get("a")).toBe(v("a"));
    expect(lru.bytes).toBe(36);
    lru.set("big", "x".repeat(11));
    expect(lru.get("big")).toBeUndefined();
  });

  it("marks a hit instead of moving it (no Map write per get), and eviction still spares what was used since", () => {
    const lru = new ByteLru<string, number>(50, (v) => v);
    for (const k of ["a", "b", "c", "d", "e"]) lru.set(k, 10);
    const set = vi.spyOn(Map.prototype, "set");
    const del = vi.spyOn(Map.prototype, "delete");
    try {
      for (let i = 0; i < 100; i++) for (const k of ["a", "c", "e"]) lru.get(k);
      expect([set.mock.calls.length, del.mock.calls.length]).toEqual([0, 0]);
    } finally {
      set.mockRestore();
      del.mockRestore();
    }
    // Room for two more: "b" and "d", not used since they were set, go first; "a", "c", "e" stay.
    lru.set("f", 10);
    lru.set("g", 10);
    expect(["a", "b", "c", "d", "e"].map((k) => lru.get(k))).toEqual([10, undefined, 10, undefined, 10]);
    expect(lru.bytes).toBe(50);
    // "a", "c" and "e" were just used: a second chance each; "f", the oldest not used since it was set, goes.
    lru.set("h", 10);
    expect(["f", "g", "a", "c", "e", "h"].map((k) => lru.get(k) !== undefined)).toEqual([false, true, true, true, true, true]);
    expect(lru.bytes).toBe(50);
  });
});
