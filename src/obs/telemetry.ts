// The shape of request telemetry: one log record per request (from its meter, once the response's
// body is sent) and the Analytics Engine data point made from it. Pure: the writer and the readers live in services/telemetry*.ts.
import type { BindingKind, RequestLog } from "./log-line";
import type { RequestMeter } from "./meter";

export type { RequestLog };

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Component names become R2 key segments: anything else than [a-z0-9._-] is replaced. */
export const safeComponent = (name: string): string => name.replace(/[^a-z0-9._-]/gi, "_").slice(0, 80) || "unknown";

export function requestLog(
  meter: RequestMeter,
  request: Request,
  status: number,
  body: { firstMs: number; bytes: number; aborted?: boolean },
  now = Date.now(),
): RequestLog {
  const url = new URL(request.url);
  const wait = Object.fromEntries(Object.entries(meter.waitMs).map(([k, v]) => [k, round1(v)])) as Record<BindingKind, number>;
  const marks = Object.keys(meter.marks).length
    ? Object.fromEntries(Object.entries(meter.marks).map(([k, v]) => [k, round1(v)]))
    : undefined;
  return {
    t: new Date(meter.startedAt).toISOString(),
    id: meter.id,
    tenant: meter.tenant,
    component: safeComponent(meter.component),
    method: request.method,
    host: url.hostname,
    path: url.pathname,
    status,
    ms: now - meter.startedAt,
    first_ms: body.firstMs,
    bytes: body.bytes,
    ...(body.aborted ? { aborted: true } : {}),
    calls: { ...meter.calls },
    wait,
    rt: meter.roundTrips,
    ...(marks ? { marks } : {}),
  };
}

/** "2xx", "4xx", "5xx"... */
export const statusClass = (status: number): string => `${Math.floor(status / 100)}xx`;

/**
 * The Analytics Engine data point of a request. Blobs: component, tenant id, status class, method;
 * doubles: duration, first byte, status, bytes, then calls to KV, D1, R2, DO and services; index:
 * the component (AE samples per index, so each component keeps its own sample).
 */
export function dataPoint(log: RequestLog): AnalyticsEngineDataPoint {
  return {
    indexes: [log.component],
    blobs: [log.component, log.tenant ?? "", statusClass(log.status), log.method],
    doubles: [log.ms, log.first_ms, log.status, log.bytes, log.calls.kv, log.calls.d1, log.calls.r2, log.calls.do, log.calls.svc],
  };
}

const WHOLE_BODY_MAX = 1024 * 1024;

/**
 * The same response, and a promise of the request's log record once its body has been sent (or
 * abandoned): `ms` until the last byte (a clone's stream included), `firstMs` until the headers. A
 * body of known length up to 1 MiB (a page from the cache) is counted as it is handed over.
 */
export function loggedResponse(
  response: Response,
  meter: RequestMeter,
  request: Request,
): { response: Response; done: Promise<RequestLog> } {
  const firstMs = Date.now() - meter.startedAt;
  const finish = (bytes: number, aborted = false) => {
    const record = requestLog(meter, request, response.status, { firstMs, bytes, aborted });
    // The runner's request log (and `wrangler tail`) read this line; telemetry gets the record.
    console.log(JSON.stringify(record));
    return record;
  };
  if (!response.body) return { response, done: Promise.resolve(finish(0)) };
  // A body of known, small size is handed over whole: log now, without a stream to count it.
  const length = Number(response.headers.get("content-length") ?? NaN);
  if (length >= 0 && length <= WHOLE_BODY_MAX) return { response, done: Promise.resolve(finish(length)) };
  let bytes = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      bytes += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  const done = response.body.pipeTo(counter.writable).then(
    () => finish(bytes),
    () => finish(bytes, true),
  );
  return { response: new Response(counter.readable, response), done };
}
