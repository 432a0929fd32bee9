// Spill runs with budgets small enough that they really spill: the merged stream is the sorted,
// de-duplicated records, the bytes held stay within the budget, and every part written is deleted.
import { describe, expect, it } from "vitest";
import { compareRecords, SpillRuns } from "./spill";
import { MemorySpillStore as MemoryStore } from "./spill-memory";

/** Deterministic pseudo-random records (xorshift). */
function records(n: number, width: number, seed: number): Uint8Array {
  const out = new Uint8Array(n * width);
  let x = (seed * 2654435761) | 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

const hex = (b: Uint8Array) => Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");

/** The records' keys as hex, sorted (and unique when asked): what the runs must give back. */
function expected(all: Uint8Array, width: number, unique = true): string[] {
  const list: string[] = [];
  for (let i = 0; i < all.length; i += width) list.push(hex(all.subarray(i, i + width)));
  list.sort();
  return unique ? [...new Set(list)] : list;
}

async function drain(runs: SpillRuns): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of runs.sorted()) {
    expect(batch.length % runs.width).toBe(0);
    for (let i = 0; i < batch.length; i += runs.width) out.push(hex(batch.subarray(i, i + runs.width)));
  }
  return out;
}

describe("spill runs", () => {
  it("sorts and de-duplicates in memory, writing nothing, when the records fit the first buffer", async () => {
    const store = new MemoryStore();
    const runs = new SpillRuns({ width: 20, budget: 1 << 20, store });
    const all = records(500, 20, 1);
    for (let i = 0; i < all.length; i += 20) runs.add(all, i);
    for (let i = 0; i < 100 * 20; i += 20) runs.add(all, i);
    expect(await drain(runs)).toEqual(expected(all, 20));
    await runs.dispose();
    expect(store.puts + store.reads + store.deleted.length).toBe(0);
    expect(runs.peakHeld).toBeLessThanOrEqual(1 << 20);
  });

  it("spills sorted runs under a tiny budget, merges them by bounded reads, stays within the budget and deletes every part", async () => {
    const store = new MemoryStore();
    const budget = 4096;
    const runs = new SpillRuns({ width: 20, budget, store });
    const all = records(5000, 20, 2);
    // Every record twice, the second time from another run: the merge drops the repeats.
    for (let i = 0; i < all.length; i += 20) await runs.add(all, i);
    for (let i = 0; i < all.length; i += 20 * 3) await runs.add(all, i);
    expect(await drain(runs)).toEqual(expected(all, 20));
    expect(runs.parts).toBeGreaterThan(50);
    // Too many runs for one merge within the budget: merged in groups first, those parts deleted.
    expect(store.parts.size).toBeLessThan(runs.parts);
    expect(store.largestRead).toBeLessThanOrEqual(budget);
    expect(runs.peakHeld).toBeLessThanOrEqual(budget);
    expect(runs.held).toBe(0);
    await runs.dispose();
    expect(store.parts.size).toBe(0);
    expect(new Set(store.deleted)).toEqual(new Set(Array.from({ length: runs.parts }, (_, i) => i)));
    const deletes = store.deleted.length;
    await runs.dispose();
    expect(store.deleted.length).toBe(deletes);
  });

  it("orders keys that tie in their first bytes by the whole key", async () => {
    const store = new MemoryStore();
    const runs = new SpillRuns({ width: 20, budget: 200 * 52, store });
    const all = records(3000, 20, 3);
    // Ten distinct 6-byte prefixes only: the first 32 bits tie everywhere within a group.
    for (let i = 0; i < all.length; i += 20) all.set([1, 2, 3, 4, 5, (i / 20) % 10], i);
    for (let i = 0; i < all.length; i += 20) await runs.add(all, i);
    expect(await drain(runs)).toEqual(expected(all, 20));
    await runs.dispose();
  });

  it("sorts id+payload records by their key, keeping the first of equal keys, or all of them", async () => {
    for (const distinct of [true, false]) {
      const store = new MemoryStore();
      const runs = new SpillRuns({ width: 24, keyWidth: 20, budget: 80 * 60, store, distinct });
      const keys = records(400, 20, 4);
      const rec = new Uint8Array(24);
      // Each key three times, payload 0, 1, 2 in the order added.
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 400; i++) {
          rec.set(keys.subarray(i * 20, i * 20 + 20));
          new DataView(rec.buffer).setUint32(20, round);
          await runs.add(rec);
        }
      }
      const out: { key: string; payload: number }[] = [];
      for await (const batch of runs.sorted()) {
        const view = new DataView(batch.buffer, batch.byteOffset, batch.length);
        for (let i = 0; i < batch.length; i += 24)
          out.push({ key: hex(batch.subarray(i, i + 20)), payload: view.getUint32(i + 20) });
      }
      expect(runs.parts).toBeGreaterThan(3);
      const sortedKeys = expected(keys, 20);
      if (distinct) {
        expect(out.map((o) => o.key)).toEqual(sortedKeys);
        expect(out.every((o) => o.payload === 0)).toBe(true);
      } else {
        expect(out.map((o) => o.key)).toEqual(sortedKeys.flatMap((k) => [k, k, k]));
        for (let i = 1; i < out.length; i++) expect(out[i]!.key >= out[i - 1]!.key).toBe(true);
      }
      await runs.dispose();
      expect(store.parts.size).toBe(0);
    }
  });

  it("fails on a part that could not be written, and dispose still deletes every part", async () => {
    const store = new MemoryStore();
    store.failPut = 2;
    const runs = new SpillRuns({ width: 20, budget: 4096, store });
    const all = records(2000, 20, 5);
    await expect(
      (async () => {
        for (let i = 0; i < all.length; i += 20) await runs.add(all, i);
        await drain(runs);
      })(),
    ).rejects.toThrow("put failed");
    await runs.dispose();
    expect(store.parts.size).toBe(0);
    expect(store.deleted).toContain(2);
  });

  it("fails on a part that cannot be read back, leaving nothing after dispose", async () => {
    const store = new MemoryStore();
    const runs = new SpillRuns({ width: 20, budget: 4096, store });
    const all = records(1000, 20, 6);
    for (let i = 0; i < all.length; i += 20) await runs.add(all, i);
    store.failRead = true;
    await expect(drain(runs)).rejects.toThrow("read failed");
    expect(runs.held).toBe(0);
    await runs.dispose();
    expect(store.parts.size).toBe(0);
  });

  it("refuses records after the runs were read, and a budget too small to sort in", async () => {
    const runs = new SpillRuns({ width: 20, budget: 1 << 16, store: new MemoryStore() });
    await drain(runs);
    expect(() => runs.add(new Uint8Array(20))).toThrow("after sorted()");
    expect(() => new SpillRuns({ width: 20, budget: 1000, store: new MemoryStore() })).toThrow("too small");
    expect(compareRecords(new Uint8Array([1, 2]), 0, new Uint8Array([1, 3]), 0, 2)).toBeLessThan(0);
  });

  it("merges what was added so far, takes more records after, merges again, keeps repeats when not distinct, and reports held bytes to the hook", async () => {
    const store = new MemoryStore();
    const budget = 8192;
    let told = 0;
    const runs = new SpillRuns({ width: 24, keyWidth: 20, distinct: false, budget, store, held: { add: (b) => (told += b) } });
    const all = records(3000, 24, 7);
    const read = async () => {
      const out: string[] = [];
      for await (const batch of runs.merged()) {
        for (let i = 0; i < batch.length; i += 24) out.push(hex(batch.subarray(i, i + 24)));
      }
      return out;
    };
    for (let i = 0; i < 2000 * 24; i += 24) await runs.add(all, i);
    expect(runs.runsSpilled).toBeGreaterThan(1);
    expect(await read()).toEqual(expected(all.subarray(0, 2000 * 24), 24, false));
    // The rest, and the first hundred again: repeats come out side by side.
    for (let i = 2000 * 24; i < all.length; i += 24) await runs.add(all, i);
    for (let i = 0; i < 100 * 24; i += 24) await runs.add(all, i);
    const both = new Uint8Array(all.length + 100 * 24);
    both.set(all);
    both.set(all.subarray(0, 100 * 24), all.length);
    const want = expected(both, 24, false);
    expect(await read()).toEqual(want);
    expect(await read()).toEqual(want);
    expect(runs.peakHeld).toBeLessThanOrEqual(budget);
    expect(told).toBe(runs.held);
    await runs.dispose();
    expect(store.parts.size).toBe(0);
  });

  it("reads runs back into one window buffer per run when the store reads into buffers", async () => {
    // A store like R2's: a read into the caller's buffer, not a new array buffer per window.
    class IntoStore extends MemoryStore {
      readonly buffers = new Set<ArrayBufferLike>();
      intoReads = 0;
      async readInto(part: number, start: number, into: Uint8Array): Promise<Uint8Array> {
        this.intoReads++;
        this.buffers.add(into.buffer);
        into.set(this.parts.get(part)!.subarray(start, start + into.length));
        return into;
      }
    }
    const store = new IntoStore();
    const runs = new SpillRuns({ width: 20, budget: 16 * 1024, store });
    const all = records(5000, 20, 7);
    for (let i = 0; i < all.length; i += 20) await runs.add(all, i);
    expect(await drain(runs)).toEqual(expected(all, 20));
    await runs.dispose();
    expect(store.reads).toBe(0);
    expect(store.intoReads).toBeGreaterThan(runs.parts);
    // One buffer per run a merge reads (runs merged into longer ones first have their own).
    expect(store.buffers.size).toBeLessThanOrEqual(runs.parts);
  });
});
