// In-flight reads are joined within one request and never across requests: workerd cancels a
// request that waits only on another request's read, and a canceled request's reads never
// settle, so a read shared across requests could hang every later request for its key.
import { describe, expect, it } from "vitest";
import { MemorySource, type RangeSource, WindowedSource } from "../../src/git/range-source";
import { inRequestScope } from "../../src/utils/request-scope";

/** A source of 256 KiB that counts the reads it answers. */
function counted(): { source: RangeSource; reads: () => number } {
  const inner = new MemorySource(`scope-${Math.random()}`, new Uint8Array(256 * 1024));
  let reads = 0;
  return {
    source: {
      id: inner.id,
      size: inner.size,
      read: (start, end) => {
        reads++;
        return inner.read(start, end);
      },
    },
    reads: () => reads,
  };
}

describe("reads in flight", () => {
  it("are joined by concurrent reads of the same request", async () => {
    const { source, reads } = counted();
    const windowed = new WindowedSource(source);
    await inRequestScope(() => Promise.all([windowed.read(0, 10), windowed.read(100, 200), windowed.read(5, 50)]));
    expect(reads()).toBe(1);
  });

  it("are not joined by another request", async () => {
    const { source, reads } = counted();
    const windowed = new WindowedSource(source);
    await Promise.all([inRequestScope(() => windowed.read(0, 10)), inRequestScope(() => windowed.read(100, 200))]);
    expect(reads()).toBe(2);
  });
});
