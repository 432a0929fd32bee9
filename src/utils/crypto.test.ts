// Secret comparisons: correct, and in time that does not depend on where the first difference is.
import { describe, expect, it } from "vitest";
import { bytesEqual, constantTimeEqual } from "./crypto";

/** A byte array that counts how many of its elements are read. */
function counted(bytes: Uint8Array): { view: Uint8Array; reads: () => number } {
  let reads = 0;
  const view = new Proxy(bytes, {
    get(target, prop) {
      if (typeof prop === "string" && /^\d+$/.test(prop)) reads++;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { view, reads: () => reads };
}

describe("bytesEqual", () => {
  it("is right on equal, different and different-length input", () => {
    expect(bytesEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(bytesEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(bytesEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false);
    expect(bytesEqual(new Uint8Array([]), new Uint8Array([]))).toBe(true);
    expect(bytesEqual(new Uint8Array([0]), new Uint8Array([]))).toBe(false);
  });

  it("reads every byte whatever the position of the first difference (no early exit)", () => {
    const n = 32;
    const reference = new Uint8Array(n).fill(7);
    const readsFor = (position: number | null) => {
      const other = reference.slice();
      if (position !== null) other[position] = 8;
      const a = counted(reference.slice());
      const b = counted(other);
      const result = bytesEqual(a.view, b.view);
      expect(result).toBe(position === null);
      return a.reads() + b.reads();
    };
    const expected = readsFor(null);
    expect(expected).toBe(2 * n);
    for (const position of [0, 1, n / 2, n - 1]) expect(readsFor(position), `difference at ${position}`).toBe(expected);
  });
});

describe("constantTimeEqual", () => {
  it("compares strings of any length through their hashes", async () => {
    expect(await constantTimeEqual("efp_secret", "efp_secret")).toBe(true);
    expect(await constantTimeEqual("efp_secret", "efp_secreT")).toBe(false);
    expect(await constantTimeEqual("efp_secret", "efp_secret-longer")).toBe(false);
    expect(await constantTimeEqual("", "")).toBe(true);
  });
});
