// A per-phase watchdog for long benchmarks: each phase is named on stderr as it starts, and a phase
// that runs past its limit is reported (its name, the CPU profile of every forge isolate, written
// to files for DevTools) before the benchmark fails, so that a hang says where it was.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { printSlices, profileCpu } from "./cpu-slices";

export interface Watchdog {
  /** Names the phase that starts now (stderr) and restarts the timer for it. */
  step(what: string): void;
  /** Disarms the timer (the benchmark finished). */
  stop(): void;
}

/**
 * `limitS` seconds per phase. When a phase overruns: profile the isolates for `profileS` seconds
 * (a spinning isolate shows its loop; an isolate in one synchronous slice cannot answer the
 * inspector at all, which the report says instead), keep the profiles under `dir`, then `fail`.
 */
export function watchdog(opts: {
  inspectorPort: number;
  limitS: number;
  dir: string;
  profileS?: number;
  /** Frees the inspector first (workerd takes one session per isolate: a heap sampler's). */
  release?: () => Promise<void>;
  fail: (message: string) => void;
}): Watchdog {
  const began = performance.now();
  const since = () => `${((performance.now() - began) / 1000).toFixed(1)} s`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let phase = "";
  const overran = async (what: string) => {
    console.error(`[${since()}] the phase "${what}" passed ${opts.limitS} s: profiling every isolate`);
    mkdirSync(opts.dir, { recursive: true });
    process.env.SLICES_DIR = opts.dir;
    const profileS = opts.profileS ?? 10;
    // The inspector answers on the isolate's thread: if a call does not come back, the isolate is
    // inside one synchronous slice (a loop that never awaits).
    const answered = await Promise.race([
      (async () => {
        await opts.release?.();
        const profiler = await profileCpu(opts.inspectorPort);
        await new Promise((resolve) => setTimeout(resolve, profileS * 1000));
        const report = await profiler.stop();
        printSlices(`the phase "${what}" after ${opts.limitS} s`, report);
        if (Object.values(report).every((r) => r.busyMs < 1))
          console.error("every isolate was idle: a request waits for something that never comes (not a busy loop)");
        return true;
      })().catch((err: Error) => {
        console.error(`could not profile: ${err.message}`);
        return true;
      }),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), (profileS + 30) * 1000).unref()),
    ]);
    if (!answered) {
      // What the one workerd thread is doing, from outside: JavaScript in one endless slice, or
      // an event loop that never gets back to the network (both keep the inspector silent).
      console.error("the inspector did not answer: workerd's main thread does not get back to it");
      printNativeStacks(process.pid);
    } else console.error(`CPU profiles (open in DevTools): ${opts.dir}`);
    opts.fail(`the phase "${what}" did not finish within ${opts.limitS} s`);
  };
  return {
    step(what) {
      phase = what;
      console.error(`[${since()}] ${what}`);
      clearTimeout(timer);
      timer = setTimeout(() => void overran(phase), opts.limitS * 1000);
      timer.unref();
    },
    stop() {
      clearTimeout(timer);
    },
  };
}

/**
 * Kills the workerd processes started below `root`: a main thread that never gets back to its
 * event loop cannot shut down when asked, and would spin on after the benchmark.
 */
export function killWorkerdBelow(root: number): void {
  for (const pid of workerdBelow(root)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/** workerd processes started below `root` (the benchmark's own forge, not other users'). */
export function workerdBelow(root: number): number[] {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid=,comm="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .map(([pid, ppid, comm]) => ({ pid: Number(pid), ppid: Number(ppid), comm: comm ?? "" }));
  const mine = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows)
      if (mine.has(r.ppid) && !mine.has(r.pid)) {
        mine.add(r.pid);
        grew = true;
      }
  }
  return rows.filter((r) => mine.has(r.pid) && r.comm === "workerd").map((r) => r.pid);
}

/**
 * A few native stacks of each workerd's main thread (gdb attaches for a moment each time): the
 * innermost frames, one line per sample. Prints why not when gdb is not installed.
 */
export function printNativeStacks(root: number, samples = 5): void {
  for (const pid of workerdBelow(root)) {
    console.error(`workerd ${pid}, main thread, ${samples} samples (innermost frames first):`);
    for (let i = 0; i < samples; i++) {
      try {
        const out = execFileSync("gdb", ["-p", String(pid), "-batch", "-ex", "thread 1", "-ex", "bt 14"], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
          timeout: 60_000,
        });
        const frames = out
          .split("\n")
          .filter((l) => l.startsWith("#"))
          .map((l) => l.replace(/^#\d+\s+(0x[0-9a-f]+ in )?/, "").replace(/\(.*$/, ""));
        console.error(`  ${[...new Set(frames)].join(" < ")}`);
      } catch (err) {
        console.error(`  no stack: ${(err as Error).message.split("\n")[0]} (is gdb installed?)`);
        return;
      }
    }
  }
}
