// What the OS did to workerd's threads over a phase: CPU time, and time spent runnable but waiting
// for a core (/proc/<pid>/task/<tid>/schedstat: on-CPU ns, run-queue wait ns, slices). On this
// shared 2-core machine, a busy workerd loses its core to other processes: a request that arrives
// meanwhile waits for the OS, whatever the forge's code does.
import { readdirSync, readFileSync } from "node:fs";
import { setPriority } from "node:os";
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

/** The thread ids of a process (none when it has ended). */
function threadsOf(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/** Sums schedstat over every thread of these processes. */
export function schedOf(pids: number[]): SchedTotals {
  const out = { cpuMs: 0, waitMs: 0, slices: 0 };
  for (const pid of pids) {
    for (const tid of threadsOf(pid)) {
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

/**
 * The nice value benchmarks give the storage workerd (FORGE_STORAGE_PROCESS=1) unless STORAGE_NICE
 * says otherwise (0: as the forge). On Cloudflare, R2, KV and D1 run on other machines and never
 * take the forge's core; on this 2-core machine the storage simulators' CPU (about as much as the
 * forge's own on a cold page) competed with the forge's thread, its front and the clients, and that
 * wait was most of what the warm page's p50 gained during cold pages (bench/scale-results.md,
 * session 17). At 19 the storage process gets a core only when the forge's processes leave one.
 */
export const storageNice = (): number => Number(process.env.STORAGE_NICE ?? 19);

/**
 * Sets the nice value of every thread of `pid` (Linux's nice is per thread; threads made later
 * inherit their creator's). Returns how many threads took it.
 */
export function renice(pid: number, nice: number): number {
  let done = 0;
  for (const tid of threadsOf(pid)) {
    try {
      setPriority(Number(tid), nice);
      done++;
    } catch {
      // The thread ended.
    }
  }
  return done;
}
