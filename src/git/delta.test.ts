// Delta application without a new view per short copy: a history walk resolves thousands of tree
// deltas, each a run of copies and inserts of a few dozen bytes.
import { afterEach, describe, expect, it, vi } from "vitest";
import { applyDelta } from "./delta";
import { createDelta } from "./delta-encode";

afterEach(() => {
  vi.restoreAllMocks();
});

/** A tree-like object: entries of a mode, a name and a 20-byte id. */
function treeLike(n: number, seed: number): Uint8Array {
  const parts: number[] = [];
  for (let i = 0; i < n; i++) {
    for (const c of new TextEncoder().encode(`100644 file-${i}.ts\0`)) parts.push(c);
    for (let k = 0; k < 20; k++) parts.push((i * 31 + k * 7 + (i % 2 === 0 ? seed : 0)) & 255);
  }
  return Uint8Array.from(parts);
}

describe("applyDelta", () => {
  it("rebuilds the target with short copies and inserts done in place (no subarray each)", () => {
    const base = treeLike(200, 1);
    const target = treeLike(200, 2); // every other entry's id differs: many short runs
    const delta = createDelta(base, target);
    expect(delta).not.toBeNull();
    const subarray = vi.spyOn(Uint8Array.prototype, "subarray");
    const out = applyDelta(base, delta!);
    const views = subarray.mock.calls.length;
    subarray.mockRestore();
    expect(out).toEqual(target);
    // Before: one subarray per copy and per insert (282 here).
    expect(views).toBeLessThan(10);
  });

  it("still copies long runs and rejects copies outside the base", () => {
    const base = new Uint8Array(100_000).map((_, i) => (i * 13) & 255);
    const target = new Uint8Array(100_050);
    target.set(base.subarray(0, 50_000));
    target.set([1, 2, 3], 50_000);
    target.set(base.subarray(50_000), 50_050);
    const delta = createDelta(base, target)!;
    expect(applyDelta(base, delta)).toEqual(target);
    expect(() => applyDelta(base.subarray(0, 10), delta)).toThrow();
  });
});
