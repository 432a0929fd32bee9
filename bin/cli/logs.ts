// `forge stats` and `forge logs`: the platform's request telemetry through the admin API
// (GET /admin/api/v1/stats and /logs), from a deployed forge (FORGE_URL) or the local one. The
// summing up happens on the forge (services/telemetry-query.ts), the same code as its operations page.
import type { BindingKind, RequestLog } from "../../src/obs/log-line";
import { api } from "./client";

/** One request's log line, as the forge stores and serves it. */
export type LogLine = RequestLog;

export interface LogFilter {
  since?: string;
  until?: string;
  component?: string;
  tenant?: string;
  status?: string;
}

interface Figures {
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface ComponentStats extends Figures {
  component: string;
  /** Start of the slice (ISO), or "all" for the whole range. */
  slice: string;
}

interface StatsAnswer {
  since: string;
  until: string;
  slice_ms: number;
  truncated: boolean;
  components: ({ component: string; series: ({ t: string } & Figures)[] } & Figures)[];
}

const query = (params: Record<string, string | number | undefined>) =>
  new URLSearchParams(
    Object.entries(params).flatMap(([k, v]) => (v === undefined || v === "" ? [] : [[k, String(v)]])),
  ).toString();

/** Figures per component over the range; per slice too when `slice` (e.g. 5m) is given. */
export async function componentStats(filter: LogFilter, slice?: string): Promise<{ rows: ComponentStats[]; truncated: boolean }> {
  const { data } = await api<StatsAnswer>("GET", `/admin/api/v1/stats?${query({ ...filter, slice })}`);
  const rows = data.components.flatMap(({ series, ...c }) =>
    slice
      ? series.filter((s) => s.requests > 0).map(({ t, ...f }) => ({ ...f, component: c.component, slice: t.slice(0, 16) }))
      : [{ ...c, slice: "all" }],
  );
  rows.sort((a, b) => a.slice.localeCompare(b.slice) || a.component.localeCompare(b.component));
  return { rows, truncated: data.truncated };
}

/** The newest `limit` lines of the range, oldest first (as a log reads). */
export async function readLogs(
  filter: LogFilter,
  limit: number,
): Promise<{ lines: LogLine[]; total: number; truncated: boolean }> {
  const { data } = await api<{ lines: LogLine[]; total: number; truncated: boolean }>(
    "GET",
    `/admin/api/v1/logs?${query({ ...filter, limit })}`,
  );
  return { ...data, lines: data.lines.reverse() };
}

/** Retention: deletes the log objects of the days before `before` (7d, or a date). */
export async function pruneLogs(before: string): Promise<{ deleted: number; days: number }> {
  return (await api<{ deleted: number; days: number }>("DELETE", `/admin/api/v1/logs?${query({ before })}`)).data;
}

/** Sub-timings of a line: "d1 2× 3.1 ms · pack 12 ms". */
export function timings(l: LogLine): string {
  const out: string[] = [];
  for (const [kind, n] of Object.entries(l.calls ?? {}))
    if (n > 0) out.push(`${kind} ${n}× ${l.wait?.[kind as BindingKind] ?? 0} ms`);
  for (const [name, ms] of Object.entries(l.marks ?? {})) out.push(`${name} ${ms} ms`);
  return out.join(" · ");
}
