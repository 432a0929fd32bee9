// The second pass's window reader: the bytes exactly as in the source whatever the range (within a
// window, across two, across many, at the end), windows reused in place, least recently used first.
import { describe, expect, it } from "vitest";
import { PackWindows } from "./pack-windows";
import { MemorySource, type RangeSource } from "./range-source";

function pattern(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 7919 + (i >> 8)) & 255;
  return out;
}

/** A source that only reads into the caller's buffer, counting those reads (`read` fails the test). */
function intoOnly(bytes: Uint8Array): { source: RangeSource; reads: number[] } {
  const inner = new MemorySource("m", bytes);
  const reads: number[] = [];
  return {
    reads,
    source: {
      id: "m",
      size: bytes.length,
      read: () => Promise.reject(new Error("read: a new buffer per read")),
      readInto: (start, into) => {
        reads.push(start);
        return inner.readInto(start, into);
      },
    },
  };
}

describe("pack windows", () => {
  const W = 1024;
  const bytes = pattern(20 * W + 333);

  it("returns the bytes of any range, within a window, across windows and at the end", async () => {
    const { source } = intoOnly(bytes);
    const reader = new PackWindows(source, { buffer: new Uint8Array(4 * W), window: W });
    const ranges: [number, number][] = [
      [0, 10],
      [W - 5, W + 5],
      [3 * W + 7, 5 * W + 1],
      [2 * W, 9 * W + 100],
      [20 * W, 20 * W + 333],
      [20 * W + 300, 21 * W],
      [5, 6],
    ];
    for (const [start, end] of ranges) {
      const got = await reader.read(start, end);
      expect(got).toEqual(bytes.subarray(start, Math.min(end, bytes.length)));
    }
  });

  it("fills windows in the buffer it was given and keeps the most recently used", async () => {
    const { source, reads } = intoOnly(bytes);
    const buffer = new Uint8Array(3 * W);
    const reader = new PackWindows(source, { buffer: buffer, window: W });
    await reader.read(10, 20);
    await reader.read(W + 10, W + 20);
    await reader.read(2 * W + 10, 2 * W + 20);
    await reader.read(30, 40);
    expect(reads).toEqual([0, W, 2 * W]);
    // A fourth window evicts the least recently used (window 1, since window 0 was read again).
    await reader.read(3 * W, 3 * W + 1);
    await reader.read(50, 60);
    await reader.read(W, W + 1);
    expect(reads).toEqual([0, W, 2 * W, 3 * W, W]);
    expect(reader.reads).toBe(5);
    // No buffer of its own beyond the one given (no entry spanned windows).
    expect(reader.bytes).toBe(buffer.length);
  });

  it("reads an entry spanning many windows on its own, into one reused buffer", async () => {
    const { source, reads } = intoOnly(bytes);
    const reader = new PackWindows(source, { buffer: new Uint8Array(4 * W), window: W });
    expect(await reader.read(100, 10 * W)).toEqual(bytes.subarray(100, 10 * W));
    expect(reads).toEqual([100]);
    const before = reader.bytes;
    expect(await reader.read(200, 8 * W)).toEqual(bytes.subarray(200, 8 * W));
    expect(reader.bytes).toBe(before);
  });

  it("answers a view without an await once fill has read what it lacked (the build's way)", async () => {
    const { source, reads } = intoOnly(bytes);
    const windows = new PackWindows(source, { bytes: 4 * W, window: W, spanWindows: (slots) => Math.floor(slots / 2) });
    expect(windows.bytes).toBe(4 * W);
    // Across two windows: one fill a window, then the view answers.
    expect(windows.view(W - 5, W + 5)).toBeNull();
    await windows.fill();
    expect(windows.view(W - 5, W + 5)).toBeNull();
    await windows.fill();
    expect(windows.view(W - 5, W + 5)).toEqual(bytes.subarray(W - 5, W + 5));
    // Over more than half the slots: read on its own, and the windows are left as they were.
    expect(windows.view(5 * W, 8 * W)).toBeNull();
    await windows.fill();
    expect(windows.view(5 * W, 8 * W)).toEqual(bytes.subarray(5 * W, 8 * W));
    expect(windows.view(10, 20)).toEqual(bytes.subarray(10, 20));
    expect(reads).toEqual([0, W, 5 * W]);
  });
});
