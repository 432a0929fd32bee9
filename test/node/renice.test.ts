// The benchmarks' storage workerd runs at a lower priority (bench/lib/sched.ts): Linux keeps a
// nice value per thread, so `renice` must reach every thread of the process, not only its first.
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { renice, storageNice } from "../../bench/lib/sched";

/** The nice value of each thread of `pid` (/proc/<pid>/task/<tid>/stat, field 19). */
function niceOfThreads(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    // Fields after the command's closing parenthesis start at field 3 (state).
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  });
}

describe("renice", () => {
  it("sets the nice value of every thread of a process", async () => {
    // A Node process has several threads (its platform workers) besides the main one.
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    try {
      await new Promise((resolve) => child.once("spawn", resolve));
      const pid = child.pid!;
      // Wait until the runtime's threads exist (the count holds for 100 ms; at most 5 s).
      const threads = () => readdirSync(`/proc/${pid}/task`).length;
      for (let i = 0, last = -1; i < 50 && (threads() < 2 || threads() !== last); i++) {
        last = threads();
        await new Promise((r) => setTimeout(r, 100));
      }
      const before = niceOfThreads(pid);
      expect(before.length).toBeGreaterThan(1);
      expect(before.every((n) => n === before[0])).toBe(true);
      const target = Math.min(19, before[0]! + 7);
      expect(renice(pid, target)).toBeGreaterThan(1);
      // Every thread, including any made since (a thread takes its creator's value).
      const after = niceOfThreads(pid);
      expect(after.length).toBeGreaterThan(1);
      expect(after.every((n) => n === target)).toBe(true);
    } finally {
      child.kill();
    }
  });

  it("answers 0 threads for a process that is gone", () => {
    expect(renice(2 ** 22 + 12345, 19)).toBe(0);
  });

  it("defaults to 19 and takes STORAGE_NICE", () => {
    const old = process.env.STORAGE_NICE;
    try {
      delete process.env.STORAGE_NICE;
      expect(storageNice()).toBe(19);
      process.env.STORAGE_NICE = "0";
      expect(storageNice()).toBe(0);
    } finally {
      if (old === undefined) delete process.env.STORAGE_NICE;
      else process.env.STORAGE_NICE = old;
    }
  });
});
