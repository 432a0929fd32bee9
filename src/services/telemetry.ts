// Request telemetry, written: each request's Analytics Engine data point and log line (to the
// TELEMETRY_LOGS queue), the queue's consumer that batches lines into R2 objects by component and
// minute, and the retention step that deletes whole days of them.
import type { Env } from "../env";
import { dataPoint, safeComponent, type RequestLog } from "../obs/telemetry";
import { logKeys } from "../storage/keys";
import { sha256Hex } from "../utils/crypto";

/** Queue name of the log lines (wrangler.toml, scripts/local/config.ts): the edge's queue handler dispatches by it. */
export const TELEMETRY_QUEUE = "edgeforge-telemetry-logs";

const logError = (message: string) => console.error(JSON.stringify({ level: "error", message }));

/**
 * Writes one request's telemetry. Called in waitUntil after the response is sent: it never throws
 * (a lost data point or line must not turn into a failed request) and never delays the response.
 */
export async function recordTelemetry(env: Env, log: RequestLog): Promise<void> {
  try {
    env.TELEMETRY?.writeDataPoint(dataPoint(log));
  } catch (err) {
    logError(`telemetry: data point lost: ${String(err)}`);
  }
  try {
    await env.TELEMETRY_LOGS?.send(log, { contentType: "json" });
  } catch (err) {
    logError(`telemetry: log line ${log.id} lost: ${String(err)}`);
  }
}

const isRequestLog = (v: unknown): v is RequestLog => {
  const o = v as Partial<RequestLog> | null;
  return (
    !!o &&
    typeof o.t === "string" &&
    typeof o.id === "string" &&
    typeof o.component === "string" &&
    !Number.isNaN(Date.parse(o.t))
  );
};

const minuteOf = (t: string) => new Date(Math.floor(Date.parse(t) / 60_000) * 60_000);

/**
 * The consumer of TELEMETRY_LOGS: one R2 object per component and minute of the batch, named by a
 * hash of its messages' ids, so a batch delivered again overwrites the same objects instead of
 * doubling lines. A failed write retries the messages of that object only.
 */
export async function handleTelemetryBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const groups = new Map<string, { component: string; minute: Date; messages: Message<unknown>[]; lines: string[] }>();
  for (const message of batch.messages) {
    if (!isRequestLog(message.body)) {
      // Nothing else is ever sent here: a malformed line can only be dropped.
      logError(`telemetry: dropped a malformed log message ${message.id}`);
      message.ack();
      continue;
    }
    const log = { ...message.body, component: safeComponent(message.body.component) };
    const minute = minuteOf(log.t);
    const key = `${log.component} ${minute.getTime()}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { component: log.component, minute, messages: [], lines: [] }));
    group.messages.push(message);
    group.lines.push(JSON.stringify(log));
  }
  for (const group of groups.values()) {
    const batchId = (await sha256Hex(group.messages.map((m) => m.id).join("\n"))).slice(0, 24);
    try {
      await env.OBJECTS.put(logKeys.batch(group.component, group.minute, batchId), `${group.lines.join("\n")}\n`, {
        httpMetadata: { contentType: "application/x-ndjson" },
      });
      for (const m of group.messages) m.ack();
    } catch (err) {
      logError(`telemetry: writing ${group.lines.length} log lines of ${group.component} failed, retrying: ${String(err)}`);
      for (const m of group.messages) m.retry();
    }
  }
}

/** Every prefix directly under `prefix` (R2 list with a delimiter, all pages). */
export async function childPrefixes(bucket: R2Bucket, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, delimiter: "/", cursor });
    found.push(...page.delimitedPrefixes);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return found;
}

/**
 * Retention: deletes the log objects of every day before `before`'s day (whole days, so the step
 * lists days, not objects it keeps). Returns how many objects went. Run by `forge logs prune`; the
 * bucket's lifecycle rule (docs/deploy.md) does the same on its own.
 */
export async function pruneLogs(bucket: R2Bucket, before: Date): Promise<{ deleted: number; days: number }> {
  const cutoff = before.toISOString().slice(0, 10);
  let deleted = 0;
  let days = 0;
  for (const componentPrefix of await childPrefixes(bucket, logKeys.root)) {
    for (const dayPrefix of await childPrefixes(bucket, componentPrefix)) {
      const day = dayPrefix.slice(componentPrefix.length, -1);
      if (!(day < cutoff)) continue;
      days++;
      // Each page listed is deleted, so the next list starts over instead of following a cursor.
      for (;;) {
        const page = await bucket.list({ prefix: dayPrefix });
        if (page.objects.length === 0) break;
        await bucket.delete(page.objects.map((o) => o.key));
        deleted += page.objects.length;
      }
    }
  }
  return { deleted, days };
}
