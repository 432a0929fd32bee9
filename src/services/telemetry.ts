// Request telemetry, written: each request's Analytics Engine data point and log line (gathered per
// isolate and sent to the TELEMETRY_LOGS queue in batches), the queue's consumer that batches lines
// into R2 objects by component and minute, and the retention step that deletes whole days of them.
import type { Env } from "../env";
import { dataPoint, safeComponent, type RequestLog } from "../obs/telemetry";
import { logKeys } from "../storage/keys";
import { sha256Hex } from "../utils/crypto";

/** Queue name of the log lines (wrangler.toml, scripts/local/config.ts): the edge's queue handler dispatches by it. */
export const TELEMETRY_QUEUE = "edgeforge-telemetry-logs";

const logError = (message: string) => console.error(JSON.stringify({ level: "error", message }));

/** How long an isolate gathers log lines before it queues them: one queue call a second, not one a request. */
export const LOG_BATCH_MS = 1_000;
/**
 * One queue message at most: a queue message may hold 128 KB; lines are about 0.5 KB, so a busy
 * isolate's second of lines is one message, or a few.
 */
export const LOG_MESSAGE_BYTES = 112 * 1024;

const afterBatchWindow = () => new Promise<void>((resolve) => setTimeout(resolve, LOG_BATCH_MS));

/** What the isolate sends: the lines of the requests of one window, in one queue message. */
export interface LogBatchMessage {
  lines: RequestLog[];
}

/**
 * The log lines of an isolate's requests on their way to the queue. A request's line waits at
 * most one window (LOG_BATCH_MS) in memory, then goes with the lines of the requests beside it in
 * one queue message (LogBatchMessage): a busy page makes no queue call per request, and the queue
 * carries one message a window instead of one a line. Every message costs the queue (and locally
 * Miniflare's broker, on the same thread as every page: issue 19) the same to parse and deliver,
 * whatever it holds. Memory stays within one message: a line that fills one sends it at once. An
 * isolate that dies mid-window loses that window's lines, as a failed send always lost its line.
 */
export class LogBatcher {
  private lines: RequestLog[] = [];
  private bytes = 0;
  private gathering = false;
  /** Queue messages sent (for tests). */
  sends = 0;

  /** `window`: what the first line of a batch waits for before the batch goes (tests pass their own). */
  constructor(private readonly window: () => Promise<void> = afterBatchWindow) {}

  /**
   * Adds a request's line. Returns the work that request must keep alive (its waitUntil): the
   * window and the send when its line opened a batch or filled one, else nothing.
   */
  add(queue: Queue | undefined, log: RequestLog): Promise<void> {
    if (!queue) return Promise.resolve();
    const size = JSON.stringify(log).length + 1;
    // A line that does not fit sends the lines before it at once; it waits for the next message.
    const sent = this.bytes + size > LOG_MESSAGE_BYTES ? this.send(queue) : undefined;
    this.lines.push(log);
    this.bytes += size;
    if (this.gathering) return sent ?? Promise.resolve();
    this.gathering = true;
    const windowed = this.window()
      .catch(() => undefined)
      .then(() => {
        this.gathering = false;
        return this.send(queue);
      });
    return sent ? Promise.all([sent, windowed]).then(() => undefined) : windowed;
  }

  private async send(queue: Queue): Promise<void> {
    const lines = this.lines;
    this.lines = [];
    this.bytes = 0;
    if (lines.length === 0) return;
    this.sends++;
    try {
      await queue.send({ lines } satisfies LogBatchMessage, { contentType: "json" });
    } catch (err) {
      logError(`telemetry: ${lines.length} log lines lost (${lines[0]!.id}...): ${String(err)}`);
    }
  }
}

/** The isolate's batcher: every request of the edge worker's isolate adds its line to it. */
export const isolateLogs = new LogBatcher();

/**
 * Writes one request's telemetry. Called in waitUntil after the response is sent: it never throws
 * (a lost data point or line must not turn into a failed request) and never delays the response.
 */
export async function recordTelemetry(env: Env, log: RequestLog, logs: LogBatcher = isolateLogs): Promise<void> {
  try {
    env.TELEMETRY?.writeDataPoint(dataPoint(log));
  } catch (err) {
    logError(`telemetry: data point lost: ${String(err)}`);
  }
  await logs.add(env.TELEMETRY_LOGS as Queue | undefined, log);
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
 * The lines a message carries: a LogBatchMessage's, or the one line of a message sent before lines
 * were batched into messages (still in the queue during a deploy); null when it is neither.
 */
function linesOf(body: unknown): unknown[] | null {
  if (isRequestLog(body)) return [body];
  const lines = (body as Partial<LogBatchMessage> | null)?.lines;
  return Array.isArray(lines) ? lines : null;
}

/**
 * The consumer of TELEMETRY_LOGS: one R2 object per component and minute of the batch, named by a
 * hash of the ids of the messages with lines in it, so a batch delivered again overwrites the same
 * objects instead of doubling lines. A message is acknowledged once every object that has its
 * lines is written, else retried (its lines already written are then written again, to the same
 * objects when it comes back in the same batch).
 */
export async function handleTelemetryBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const groups = new Map<string, { component: string; minute: Date; messages: Set<Message<unknown>>; lines: string[] }>();
  for (const message of batch.messages) {
    const lines = linesOf(message.body);
    if (!lines) {
      // Nothing else is ever sent here: a malformed message can only be dropped.
      logError(`telemetry: dropped a malformed log message ${message.id}`);
      message.ack();
      continue;
    }
    let dropped = 0;
    for (const line of lines) {
      if (!isRequestLog(line)) {
        dropped++;
        continue;
      }
      const log = { ...line, component: safeComponent(line.component) };
      const minute = minuteOf(log.t);
      const key = `${log.component} ${minute.getTime()}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { component: log.component, minute, messages: new Set(), lines: [] }));
      group.messages.add(message);
      group.lines.push(JSON.stringify(log));
    }
    if (dropped) logError(`telemetry: dropped ${dropped} malformed log lines of message ${message.id}`);
    if (dropped === lines.length) message.ack();
  }
  const failed = new Set<Message<unknown>>();
  const written = new Set<Message<unknown>>();
  for (const group of groups.values()) {
    const batchId = (await sha256Hex([...group.messages].map((m) => m.id).join("\n"))).slice(0, 24);
    try {
      await env.OBJECTS.put(logKeys.batch(group.component, group.minute, batchId), `${group.lines.join("\n")}\n`, {
        httpMetadata: { contentType: "application/x-ndjson" },
      });
      for (const m of group.messages) written.add(m);
    } catch (err) {
      logError(`telemetry: writing ${group.lines.length} log lines of ${group.component} failed, retrying: ${String(err)}`);
      for (const m of group.messages) failed.add(m);
    }
  }
  for (const m of failed) m.retry();
  for (const m of written) if (!failed.has(m)) m.ack();
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
