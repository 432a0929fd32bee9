// The shape of one request's log line: what the edge writes (obs/telemetry.ts) and what the
// forge CLI reads back through the admin API (bin/cli/logs.ts). Imports nothing, so both can use it.

/** The bindings a request's meter counts calls to (obs/meter.ts). */
export type BindingKind = "kv" | "d1" | "r2" | "do" | "svc";

/** One request's log line, as stored in R2 (logs/...) and printed to the worker's log. */
export interface RequestLog {
  /** When the request started (ISO time): the minute of its log object. */
  t: string;
  /** Request id: the X-Request-Id header the client saw. */
  id: string;
  /** Tenant id, or null on the platform host and before the host resolved. */
  tenant: string | null;
  component: string;
  method: string;
  host: string;
  /** The path only: a query may carry secrets (tokens in links) and is never logged. */
  path: string;
  status: number;
  /** Until the response's last byte was sent. */
  ms: number;
  /** Until its headers. */
  first_ms: number;
  bytes: number;
  aborted?: boolean;
  /** Calls per binding, and the ms spent waiting on each (sub-timings). */
  calls: Record<BindingKind, number>;
  wait: Record<BindingKind, number>;
  /** Sequential regional round trips on the critical path (obs/meter.ts); absent in older lines. */
  rt?: number;
  /** Named timings a handler reported. */
  marks?: Record<string, number>;
}
