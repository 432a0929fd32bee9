// What the OS did to workerd's threads over a phase: CPU time, and time spent runnable but waiting
// for a core (/proc/<pid>/task/<tid>/schedstat: on-CPU ns, run-queue wait ns, slices). On this
// shared 2-core machine, a busy workerd loses its core to other processes: a request that arrives
// meanwhile waits for the OS, whatever the forge's code does.
import { readdirSync, readFileSync } from "node:fs";
import { treePids } from "./rss";

export interface SchedTotals {
  cpuMs: number;
  waitMs: number;
  slices: number;
}

/** Sums schedstat over every thread of the processes below `rootPid` whose name matches (all: none given). */
export function schedTotals(rootPid: number, match?: RegExp): SchedTotals {
  return schedOf(treePids(rootPid, match));
}

/** Sums schedstat over every thread of these processes. */
export function schedOf(pids: number[]): SchedTotals {
  const out = { cpuMs: 0, waitMs: 0, slices: 0 };
  for (const pid of pids) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const [cpu, wait, slices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").trim().split(/\s+/).map(Number);
        out.cpuMs += cpu! / 1e6;
        out.waitMs += wait! / 1e6;
        out.slices += slices!;
      } catch {
        // The thread ended.
      }
    }
  }
  return out;
}

/** The difference of two readings. */
export const schedSince = (a: SchedTotals, b: SchedTotals): SchedTotals => ({
  cpuMs: b.cpuMs - a.cpuMs,
  waitMs: b.waitMs - a.waitMs,
  slices: b.slices - a.slices,
});

/** "cpu 123 ms, waited 45 ms for a core (n slices)", per request when `per` is given. */
export function schedLine(s: SchedTotals, per?: number): string {
  const p = per ? ` (per warm request: cpu ${(s.cpuMs / per).toFixed(2)} ms, waited ${(s.waitMs / per).toFixed(2)} ms)` : "";
  return `cpu ${s.cpuMs.toFixed(0)} ms, waited ${s.waitMs.toFixed(0)} ms for a core in ${s.slices} slices${p}`;
}

/**
 * The on-CPU time of one thread so far, in ms (its schedstat): read around each warm request, the
 * difference is the work that thread did while the request was in flight, its own and whatever it
 * waited behind, without the time the OS kept the thread off a core (bench/README.md,
 * "How the warm page is measured").
 */
export function threadCpuMs(pid: number, tid = pid): number {
  return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ", 1)[0]) / 1e6;
}
