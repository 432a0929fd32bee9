// The profile readers of bench/lib (warm-probe's and bench:scale's slices, the thread report) on
// small synthetic profiles. Each isolate's profiler samples only while that isolate runs: the time
// to its next sample may be a second in which the thread ran others or nothing, and counting it
// as busy made a simulator entered briefly once a second look like a third of the thread (s16).
import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { longestSlices } from "../../bench/lib/cpu-slices";
import { threadReport } from "../../bench/lib/thread-slices";

const nodes = [
  { id: 1, callFrame: { functionName: "(root)", url: "", lineNumber: 0 } },
  { id: 2, callFrame: { functionName: "work", url: "file:///x/src/a.ts", lineNumber: 9 } },
  { id: 3, callFrame: { functionName: "(idle)", url: "", lineNumber: 0 } },
];

/** A profile (1 ms interval) with a busy sample at each of `atMs`, and nothing recorded between them. */
function profile(atMs: number[], startTime = 0) {
  const timeDeltas = atMs.map((t, i) => Math.round((t - (i === 0 ? 0 : atMs[i - 1]!)) * 1000));
  return { nodes, startTime, samples: atMs.map(() => 2), timeDeltas };
}

describe("a sample stands for at most about one sampling interval", () => {
  it("longestSlices: a second without samples is neither busy nor part of a slice", () => {
    // Busy 0 to 4 ms, not entered for a second, busy again 2 ms.
    const r = longestSlices(profile([0, 1, 2, 3, 1003, 1004]), 5, 1);
    expect(r.busyMs).toBeLessThan(10);
    expect(r.slices.length).toBe(2);
    expect(r.slices[0]!.ms).toBeLessThanOrEqual(5);
  });

  it("longestSlices: samples a little late under load still make one slice", () => {
    const r = longestSlices(profile([0, 1.5, 3, 4.5, 6]), 5, 1);
    expect(r.slices.length).toBe(1);
    expect(r.busyMs).toBe(6);
  });

  it("threadReport: an isolate entered once a second gets its samples, not the seconds between", () => {
    const dir = mkdtempSync(join(tmpdir(), "thread-slices-"));
    try {
      // The edge busy 10 ms twice, a second apart; the queue simulator entered once in each.
      const edge = [...Array.from({ length: 11 }, (_, i) => i), ...Array.from({ length: 11 }, (_, i) => 1000 + i)];
      writeFileSync(join(dir, "core-user-edge-1.cpuprofile"), JSON.stringify(profile(edge)));
      writeFileSync(join(dir, "queues-queue-1.cpuprofile"), JSON.stringify(profile([20, 1020])));
      const r = threadReport(dir);
      expect(r.byGroup.get("queues (simulator)")!).toBeLessThanOrEqual(2);
      expect(r.byGroup.get("edge")!).toBeGreaterThanOrEqual(20);
      expect(r.stretches[0]!).toBeLessThan(15);
      expect(r.busyMs).toBeLessThan(40);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
