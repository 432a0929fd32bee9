// A per-phase watchdog for long benchmarks: each phase is named on stderr as it starts, and a phase
// that runs past its limit is reported (its name, the CPU profile of every forge isolate, written
// to files for DevTools) before the benchmark fails, so that a hang says where it was.
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
        printSlices(`the phase "${what}" after ${opts.limitS} s`, await profiler.stop());
        return true;
      })().catch((err: Error) => {
        console.error(`could not profile: ${err.message}`);
        return true;
      }),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), (profileS + 30) * 1000).unref()),
    ]);
    if (!answered) console.error("the inspector did not answer: an isolate is stuck in one synchronous slice");
    else console.error(`CPU profiles (open in DevTools): ${opts.dir}`);
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
