// The shared inflate state is reset for each entry without allocating: a cold blame of a long file
// inflates about 7,900 pack entries, and pako's own reset made two new code tables for each.
import { afterEach, describe, expect, it } from "vitest";
import { deflate, InflateError, inflateAt, PieceInflater } from "./zlib";
import { concatBytes } from "../utils/bytes";

/** pako's dynamic code tables have these lengths (ENOUGH_LENS, ENOUGH_DISTS). */
const TABLE_LENGTHS = new Set([852, 592]);
const realInt32Array = globalThis.Int32Array;

/** Counts the code tables made while `fn` runs (pako looks Int32Array up on the global at each call). */
function countTables(fn: () => void): number {
  let made = 0;
  const Counting = new Proxy(realInt32Array, {
    construct(target, args) {
      if (typeof args[0] === "number" && TABLE_LENGTHS.has(args[0])) made++;
      return Reflect.construct(target, args);
    },
  });
  globalThis.Int32Array = Counting;
  try {
    fn();
  } finally {
    globalThis.Int32Array = realInt32Array;
  }
  return made;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

afterEach(() => {
  globalThis.Int32Array = realInt32Array;
});

/** Entries like a pack's: short ones (fixed Huffman blocks) and longer text (dynamic blocks). */
function entries(): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 200; i++) {
    const lines = i % 3 === 0 ? 1 : 20 + Math.floor(rand() * 200);
    let body = "";
    for (let l = 0; l < lines; l++)
      body += `line ${Math.floor(rand() * 1000)} of entry ${i}: ${"x".repeat(Math.floor(rand() * 40))}\n`;
    out.push(new TextEncoder().encode(body));
  }
  return out;
}

describe("inflating pack entries with the shared state", () => {
  it("makes no new code tables per entry, and every entry comes out whole", () => {
    const datas = entries();
    const packed = datas.map((d) => deflate(d));
    // The first entry may set the state up (its tables included).
    inflateAt(packed[0]!, 0, datas[0]!.length);
    const got: Uint8Array[] = [];
    const made = countTables(() => {
      for (const [i, z] of packed.entries()) got.push(inflateAt(z, 0, datas[i]!.length).data.slice());
    });
    // pako's inflateReset made two per entry: 400 here.
    expect(made).toBe(0);
    // As text: toEqual walks typed arrays element by element, slowly.
    expect(got.map(text)).toEqual(datas.map(text));
  });

  it("gives the same bytes after a corrupt entry, and between whole and piecewise inflates", () => {
    const datas = entries();
    const bad = deflate(datas[5]!).slice();
    bad[bad.length - 10]! ^= 0xff;
    expect(() => inflateAt(bad, 0, datas[5]!.length)).toThrow(InflateError);
    const inflater = new PieceInflater();
    for (const d of datas.filter((_, i) => i % 10 < 2)) {
      const z = deflate(d);
      const pieces: Uint8Array[] = [];
      inflater.start(d.length, (p) => pieces.push(p.slice()));
      // Fed in two halves, as a read buffer hands a large entry over.
      const half = z.length >> 1;
      const first = inflater.feed(z.subarray(0, half));
      expect(first).toEqual({ consumed: half, ended: false });
      expect(inflater.feed(z.subarray(half))).toEqual({ consumed: z.length - half, ended: true });
      expect(text(concatBytes(pieces))).toBe(text(d));
      const { data, consumed } = inflateAt(z, 0, d.length);
      expect(consumed).toBe(z.length);
      expect(text(data)).toBe(text(d));
    }
  });
});
