// `forge stats` and `forge logs`: the local forge's request log (one JSON line per request, in
// the state folder) summed up per component and time slice, and the lines behind a figure.
import { createReadStream, existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { CliError, stateDir } from "./client";

export interface LogLine {
  t: string;
  id: string;
  component: string;
  method: string;
  host: string;
  path: string;
  status: number;
  /** Until the last byte of the response; first_ms until its headers. */
  ms: number;
  first_ms?: number;
  bytes?: number;
  aborted?: boolean;
  calls?: Record<string, number>;
}

export interface LogFilter {
  since?: number;
  until?: number;
  component?: string;
  status?: number;
}

/** "15m", "2h", "1d", or an ISO date, as a time in milliseconds. */
export function parseWhen(value: string, now = Date.now()): number {
  const m = /^(\d+)([smhd])$/.exec(value);
  if (m) return now - Number(m[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[m[2] as "s" | "m" | "h" | "d"];
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new CliError(`"${value}" is neither a duration like 15m nor a date`);
  return t;
}

export async function* readLog(filter: LogFilter): AsyncGenerator<LogLine> {
  const file = join(stateDir(), "logs", "requests.jsonl");
  if (!existsSync(file)) throw new CliError(`no request log at ${file} (is this the local forge's state folder?)`);
  for await (const raw of createInterface({ input: createReadStream(file) })) {
    let line: LogLine;
    try {
      line = JSON.parse(raw) as LogLine;
    } catch {
      continue;
    }
    if (!line.component || !line.t) continue; // error lines and the like
    const t = Date.parse(line.t);
    if (filter.since !== undefined && t < filter.since) continue;
    if (filter.until !== undefined && t > filter.until) continue;
    if (filter.component && line.component !== filter.component && !line.component.startsWith(`${filter.component}.`)) continue;
    if (filter.status !== undefined && Math.floor(line.status / 100) !== Math.floor(filter.status / 100)) continue;
    yield line;
  }
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

export interface ComponentStats {
  component: string;
  slice: string;
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  max: number;
}

/** Latency per component, per time slice of `sliceMs` (0: the whole range). */
export async function componentStats(filter: LogFilter, sliceMs: number): Promise<ComponentStats[]> {
  const groups = new Map<string, { component: string; slice: string; ms: number[]; errors: number }>();
  for await (const line of readLog(filter)) {
    const t = Date.parse(line.t);
    const slice = sliceMs > 0 ? new Date(Math.floor(t / sliceMs) * sliceMs).toISOString().slice(0, 16) : "all";
    const key = `${slice} ${line.component}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { component: line.component, slice, ms: [], errors: 0 }));
    g.ms.push(line.ms);
    if (line.status >= 500) g.errors++;
  }
  return [...groups.values()]
    .map((g) => {
      const sorted = g.ms.sort((a, b) => a - b);
      return {
        component: g.component,
        slice: g.slice,
        requests: sorted.length,
        errors: g.errors,
        p50: quantile(sorted, 0.5),
        p95: quantile(sorted, 0.95),
        max: sorted[sorted.length - 1] ?? 0,
      };
    })
    .sort((a, b) => a.slice.localeCompare(b.slice) || a.component.localeCompare(b.component));
}
