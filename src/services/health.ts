// The platform's health: one cheap check per dependency (KV read, CONTROL D1 `select 1`, R2 head,
// a Durable Object call, the queue binding), each with its outcome and time, for a status page
// that polls every 30 s. Reads only: nothing here writes, and no message goes to a queue.
import type { Env } from "../env";
import { doNames, kvKeys } from "../storage/keys";

export interface CheckResult {
  ok: boolean;
  ms: number;
  /** What went wrong, in words that carry no secret (no token, no stack). */
  error?: string;
}

export interface Health {
  ok: boolean;
  checks: Record<string, CheckResult>;
}

/** A check that takes longer than this counts as failed (the status page needs an answer, not a hang). */
export const CHECK_TIMEOUT_MS = 5_000;

const HEALTH_KEY = "_health/probe";

type Check = () => Promise<unknown>;

function checks(env: Env): Record<string, Check> {
  return {
    kv: () => env.DIRECTORY.get(kvKeys.host("_health.invalid")),
    d1: async () => {
      const row = await env.CONTROL.prepare("select 1 as one").first<{ one: number }>();
      if (row?.one !== 1) throw new Error("select 1 returned no row");
    },
    r2: () => env.OBJECTS.head(HEALTH_KEY),
    // A known version (0) makes the object answer null: a round trip with an empty answer. Its
    // first call ever creates the object's empty tables, once.
    do: () => env.REPO.get(env.REPO.idFromName(doNames.healthPing)).snapshotUnless(0),
    // Sending a message would write one per poll: the check is that the edge's producer binding
    // exists (POST_PUSH is the push worker's; the edge only consumes it).
    queue: async () => {
      if (typeof env.TELEMETRY_LOGS?.send !== "function") throw new Error("queue binding TELEMETRY_LOGS missing");
    },
  };
}

/** Only the error's first line, cut short: enough to act on, never a stack. */
const describe = (err: unknown) => (String((err as Error)?.message ?? err).split("\n")[0] ?? "failed").slice(0, 200);

async function run(check: Check, timeoutMs: number, now: () => number): Promise<CheckResult> {
  const started = now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, ms: Math.round(now() - started) };
  } catch (err) {
    return { ok: false, ms: Math.round(now() - started), error: describe(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every check at once; ok only if all are. */
export async function checkHealth(env: Env, opts: { timeoutMs?: number; now?: () => number } = {}): Promise<Health> {
  const now = opts.now ?? (() => performance.now());
  const entries = await Promise.all(
    Object.entries(checks(env)).map(
      async ([name, check]) => [name, await run(check, opts.timeoutMs ?? CHECK_TIMEOUT_MS, now)] as const,
    ),
  );
  return { ok: entries.every(([, r]) => r.ok), checks: Object.fromEntries(entries) };
}
