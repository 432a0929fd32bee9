// Request telemetry, read: the log lines of a component and time range from the R2 log objects,
// and the figures the operations page, the admin API and `forge stats` show (rate, 5xx, p50/p95/p99
// per component and time slice). One summarising code path for all three.
import type { RequestLog } from "../obs/telemetry";
import { logKeys } from "../storage/keys";
import { childPrefixes } from "./telemetry";
import { badRequest } from "../utils/errors";

export interface LogQuery {
  /** Inclusive range, ms since the epoch, of the requests' start times. */
  since: number;
  until: number;
  /** A component name, or a family of them (`web.source.*`); all components when absent. */
  component?: string;
  tenant?: string;
  /** "5xx" (a class) or "404" (one status). */
  status?: string;
}

/** Bounds of one query, so a wide range costs a known number of reads and bytes of memory. */
export interface QueryLimits {
  maxObjects: number;
  maxLines: number;
}

export const DEFAULT_LIMITS: QueryLimits = { maxObjects: 3_000, maxLines: 300_000 };
/** Objects read at once. */
const READ_CONCURRENCY = 6;
const HOUR = 3_600_000;
const MINUTE = 60_000;

export const STATUS_FILTER = /^[1-5](xx|\d\d)$/;

export function matchesStatus(status: number, filter: string | undefined): boolean {
  if (!filter) return true;
  return filter.endsWith("xx") ? Math.floor(status / 100) === Number(filter[0]) : status === Number(filter);
}

/** The components that have logs (one list call per 1,000). */
export async function logComponents(bucket: R2Bucket): Promise<string[]> {
  return (await childPrefixes(bucket, logKeys.root)).map((p) => p.slice(logKeys.root.length, -1)).sort();
}

/** A component filter: a name or `family.*`, as in `web.source.*`. */
export const COMPONENT_FILTER = /^[a-z0-9._-]{1,80}(\.\*)?$/;

/** The components a filter means: a name as is (no listing), a family by listing them all. */
async function componentsOf(bucket: R2Bucket, filter: string | undefined): Promise<string[]> {
  if (filter && !filter.endsWith(".*")) return [filter];
  const all = await logComponents(bucket);
  if (!filter) return all;
  const family = filter.slice(0, -1);
  return all.filter((c) => c.startsWith(family));
}

/** Minute of a log object from its key: logs/<component>/<yyyy-mm-dd>/<hh-mm>/<batch>.jsonl */
function minuteOfKey(key: string): number {
  const m = /\/(\d{4}-\d{2}-\d{2})\/(\d{2})-(\d{2})\/[^/]+$/.exec(key);
  return m ? Date.parse(`${m[1]}T${m[2]}:${m[3]}:00Z`) : Number.NaN;
}

/** The keys of one component's log objects whose minute overlaps the range: one listing per hour. */
async function objectKeys(
  bucket: R2Bucket,
  component: string,
  q: LogQuery,
  limit: number,
): Promise<{ keys: string[]; truncated: boolean }> {
  const keys: string[] = [];
  const first = Math.floor(q.since / MINUTE) * MINUTE;
  for (let hour = Math.floor(q.since / HOUR) * HOUR; hour <= q.until; hour += HOUR) {
    let cursor: string | undefined;
    do {
      const page = await bucket.list({ prefix: logKeys.hour(component, new Date(hour)), cursor });
      for (const o of page.objects) {
        const minute = minuteOfKey(o.key);
        if (minute >= first && minute <= q.until) keys.push(o.key);
        if (keys.length >= limit) return { keys, truncated: true };
      }
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  }
  return { keys, truncated: false };
}

/**
 * Calls `each` with every log line in range that passes the filters, reading the objects a few at
 * a time. Returns whether the query's bounds cut it short.
 */
export async function scanLogs(
  bucket: R2Bucket,
  q: LogQuery,
  each: (line: RequestLog) => void,
  limits: QueryLimits = DEFAULT_LIMITS,
): Promise<{ truncated: boolean }> {
  const components = await componentsOf(bucket, q.component);
  let truncated = false;
  let budget = limits.maxObjects;
  let lines = 0;
  for (const component of components) {
    if (budget <= 0) return { truncated: true };
    const found = await objectKeys(bucket, component, q, budget);
    budget -= found.keys.length;
    truncated ||= found.truncated;
    for (let i = 0; i < found.keys.length; i += READ_CONCURRENCY) {
      const texts = await Promise.all(
        found.keys.slice(i, i + READ_CONCURRENCY).map(async (key) => (await bucket.get(key))?.text() ?? ""),
      );
      for (const text of texts) {
        for (const raw of text.split("\n")) {
          if (!raw) continue;
          let line: RequestLog;
          try {
            line = JSON.parse(raw) as RequestLog;
          } catch {
            continue;
          }
          const t = Date.parse(line.t);
          if (t < q.since || t > q.until) continue;
          if (q.tenant && line.tenant !== q.tenant) continue;
          if (!matchesStatus(line.status, q.status)) continue;
          if (++lines > limits.maxLines) return { truncated: true };
          each(line);
        }
      }
    }
  }
  return { truncated };
}

/** The newest `limit` lines in range, newest first. */
export async function queryLogs(
  bucket: R2Bucket,
  q: LogQuery,
  limit: number,
  limits?: QueryLimits,
): Promise<{ lines: RequestLog[]; total: number; truncated: boolean }> {
  const all: RequestLog[] = [];
  let total = 0;
  const { truncated } = await scanLogs(
    bucket,
    q,
    (line) => {
      total++;
      all.push(line);
      // Keep memory to about twice the answer: sort and cut whenever the list doubles.
      if (all.length >= limit * 2) {
        all.sort(newestFirst);
        all.length = limit;
      }
    },
    limits,
  );
  all.sort(newestFirst);
  return { lines: all.slice(0, limit), total, truncated };
}

const newestFirst = (a: RequestLog, b: RequestLog) => b.t.localeCompare(a.t) || a.id.localeCompare(b.id);

export interface Figures {
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface ComponentSeries extends Figures {
  component: string;
  /** One entry per slice of the range, empty slices included (charts need the gaps). */
  series: ({ t: number } & Figures)[];
}

export interface Stats {
  since: number;
  until: number;
  sliceMs: number;
  truncated: boolean;
  components: ComponentSeries[];
}

/** Nearest-rank quantile of sorted values. */
export const quantile = (sorted: ArrayLike<number>, q: number): number =>
  sorted.length ? sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]! : 0;

function figures(ms: number[], errors: number): Figures {
  const sorted = Float64Array.from(ms).sort();
  return {
    requests: sorted.length,
    errors,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : 0,
  };
}

const NICE_SLICES = [10_000, 30_000, 60_000, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 24 * HOUR];

/** The smallest round slice that cuts the range into at most `bars` slices. */
export function sliceFor(rangeMs: number, bars = 60): number {
  return NICE_SLICES.find((s) => rangeMs / s <= bars) ?? NICE_SLICES[NICE_SLICES.length - 1]!;
}

/** Requests, 5xx and latency quantiles per component, over the range and per slice of it. */
export async function queryStats(
  bucket: R2Bucket,
  q: LogQuery,
  sliceMs = sliceFor(q.until - q.since),
  limits?: QueryLimits,
): Promise<Stats> {
  const start = Math.floor(q.since / sliceMs) * sliceMs;
  const slices = Math.max(1, Math.ceil((q.until + 1 - start) / sliceMs));
  const byComponent = new Map<string, { ms: number[][]; errors: number[] }>();
  const { truncated } = await scanLogs(
    bucket,
    q,
    (line) => {
      let c = byComponent.get(line.component);
      if (!c) {
        c = { ms: Array.from({ length: slices }, () => []), errors: new Array<number>(slices).fill(0) };
        byComponent.set(line.component, c);
      }
      const i = Math.min(slices - 1, Math.floor((Date.parse(line.t) - start) / sliceMs));
      c.ms[i]!.push(line.ms);
      if (line.status >= 500) c.errors[i]!++;
    },
    limits,
  );
  const components = [...byComponent.entries()]
    .map(([component, c]) => ({
      component,
      ...figures(
        c.ms.flat(),
        c.errors.reduce((a, b) => a + b, 0),
      ),
      series: c.ms.map((ms, i) => ({ t: start + i * sliceMs, ...figures(ms, c.errors[i]!) })),
    }))
    .sort((a, b) => a.component.localeCompare(b.component));
  return { since: q.since, until: q.until, sliceMs, truncated, components };
}

const UNIT_MS = { s: 1_000, m: MINUTE, h: HOUR, d: 24 * HOUR } as const;

/** A duration such as "15m", "6h", "1d" in ms, or null. */
export function parseDuration(value: string): number | null {
  const m = /^(\d{1,6})([smhd])$/.exec(value.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : null;
}

/** "15m" (that long before now) or an ISO date, in ms; a precise error otherwise. */
export function parseTime(value: string, now: number, name: string): number {
  const ago = parseDuration(value);
  if (ago !== null) return now - ago;
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(t))
    throw badRequest(`${name} "${value}" is neither a duration like 15m nor an ISO date like 2026-01-31T14:05:00Z`);
  return t;
}

/** The longest range one query may cover (logs are kept for days, not months: docs/deploy.md). */
export const MAX_RANGE_MS = 31 * 24 * HOUR;

/** The range of a query from its `since` (default `defaultSince` ago) and `until` (default now). */
export function parseRange(
  since: string | undefined,
  until: string | undefined,
  now: number,
  defaultSince = "1h",
): { since: number; until: number } {
  const from = parseTime(since || defaultSince, now, "since");
  const to = until ? parseTime(until, now, "until") : now;
  if (from > to) throw badRequest("since is after until: give the earlier time as since");
  if (to - from > MAX_RANGE_MS) throw badRequest("the range is longer than 31 days: ask for a shorter one");
  return { since: from, until: to };
}
