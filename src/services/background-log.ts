// One log line per piece of background work in the push worker (a push's derive step, a checkpoint
// drive's run, a last-commit walk, a commit-graph build, each checkpoint step): which repository,
// when it started, how long it took and its storage calls, so that the work after an import can be
// laid on a timeline (bench/after-import.ts) and work done twice is seen.
import { newMeter, meteredEnv, type RequestMeter } from "../obs/meter";
import type { Env } from "../env";
import { logInfo } from "../utils/info-line";

/** Writes one `job {...}` info line; `at` is when the job started (ms since the epoch). */
export function logJob(job: string, at: number, fields: Record<string, unknown>): void {
  logInfo("job", { job, at, ms: Date.now() - at, ...fields });
}

/** The storage calls a job's meter counted, as its log line carries them. */
export const callsOf = (m: RequestMeter) => ({
  r2: m.calls.r2,
  r2Reads: m.r2.ranged + m.r2.whole,
  r2Writes: m.r2.write,
  do: m.calls.do,
});

/** The R2 GETs counted so far on `env`'s meter by what they read (none when it is not a job's env). */
export function r2KindsSoFar(env: Env): Record<"idx" | "pack" | "graph" | "other", number> {
  const r2 = meters.get(env)?.r2;
  return { idx: r2?.idx ?? 0, pack: r2?.pack ?? 0, graph: r2?.graph ?? 0, other: r2?.other ?? 0 };
}

/** Meters of the envs meteredJob made: a job started under one logs its calls (callsSoFar). */
const meters = new WeakMap<Env, RequestMeter>();

/** `env` with its bindings counted by a fresh meter, for a job's log line. */
export function meteredJob(env: Env, job: string): Env {
  const meter = newMeter(job, job);
  const metered = meteredEnv(env, meter);
  meters.set(metered, meter);
  return metered;
}

/** The storage calls counted so far on `env`'s meter (none when it is not a job's env). */
export function callsSoFar(env: Env): ReturnType<typeof callsOf> | Record<string, never> {
  const m = meters.get(env);
  return m ? callsOf(m) : {};
}

/** One line a checkpoint step: what a step costs decides how long a large import's build takes. */
export const logStep = (repo: { repoId: string }, by: string, step: object) =>
  logInfo("checkpoint", { repo: repo.repoId, by, ...step });
