// A small HTTP load client: keep-alive connections, fixed concurrency, per-request latency.
//
// Why not wrk: the "cold" benchmark requests a list of distinct URLs once each (wrk needs a Lua
// script for that), we want the same client and the same latency measure for both cold and warm
// and for every server, and nothing to install. The client's CPU matters on a 2-core machine, but
// it is small next to a fork+exec per request (cgit) or a workerd hop (Edgeforge), and it is the
// same for every server; keep the concurrency modest (default 4) so the server has the cores.
import http from "node:http";
import { callsOf, type PageCalls } from "./calls";
import { percentile } from "./report";

export interface Endpoint {
  /** Where to connect (always 127.0.0.1: Node does not resolve *.localhost). */
  port: number;
  /** Host header, e.g. "bench.localhost:8787" (virtual hosting), or undefined for 127.0.0.1. */
  host?: string;
}

export interface Response {
  status: number;
  /** The response's Cache-Control (to tell a final page from a partial one). */
  cacheControl?: string;
  /** R2 requests the page made, from the forge's Server-Timing header (absent elsewhere). */
  r2Calls?: number;
  /** Every count the forge's Server-Timing gives (absent elsewhere). */
  calls?: PageCalls;
  bytes: number;
  ms: number;
}

export class LoadClient {
  private readonly agent: http.Agent;
  constructor(
    private readonly endpoint: Endpoint,
    concurrency: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  }

  get(path: string): Promise<Response> {
    const start = performance.now();
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: this.endpoint.port,
          path,
          agent: this.agent,
          // identity: every server sends the bytes it renders (the local forge decodes gzip anyway).
          headers: {
            ...(this.endpoint.host ? { host: this.endpoint.host } : {}),
            "accept-encoding": "identity",
            accept: "text/html",
          },
        },
        (res) => {
          let bytes = 0;
          res.on("data", (c: Buffer) => (bytes += c.length));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              cacheControl: res.headers["cache-control"],
              r2Calls: r2CallsOf(res.headers["server-timing"]),
              calls: callsOf(res.headers["server-timing"]),
              bytes,
              ms: performance.now() - start,
            }),
          );
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** The count in Server-Timing's `r2;desc="N calls"` part (0 when the page made none). */
function r2CallsOf(header: string | string[] | undefined): number | undefined {
  if (typeof header !== "string") return undefined;
  return Number(/(?:^|, )r2;desc="(\d+) calls"/.exec(header)?.[1] ?? 0);
}

export interface Summary {
  requests: number;
  errors: number;
  /** Requests per second over the wall time of the whole run. */
  rps: number;
  p50: number;
  p99: number;
  /** Median response body size. */
  bytes: number;
  /** Median and largest R2 requests per page, when the server reports them. */
  r2Calls?: { p50: number; max: number };
  /** First non-200 status seen, for the report. */
  firstError?: string;
}

function r2Summary(responses: Response[]): Summary["r2Calls"] {
  const calls = responses.flatMap((r) => (r.r2Calls === undefined ? [] : [r.r2Calls]));
  return calls.length ? { p50: percentile(calls, 50), max: Math.max(...calls) } : undefined;
}

function summarize(responses: Response[], wallMs: number): Summary {
  const bad = responses.filter((r) => r.status !== 200);
  return {
    requests: responses.length,
    errors: bad.length,
    rps: (responses.length / wallMs) * 1000,
    p50: percentile(
      responses.map((r) => r.ms),
      50,
    ),
    p99: percentile(
      responses.map((r) => r.ms),
      99,
    ),
    bytes: percentile(
      responses.map((r) => r.bytes),
      50,
    ),
    firstError: bad[0] ? `HTTP ${bad[0].status}` : undefined,
    r2Calls: r2Summary(responses),
  };
}

/**
 * Requests each path once, one at a time (latency of a first render, no queueing). Returns the
 * first response instead when it is not a 200 (the server does not have this page).
 */
export async function coldRun(client: LoadClient, paths: string[]): Promise<Summary | Response> {
  const responses: Response[] = [];
  const start = performance.now();
  for (const p of paths) {
    const r = await client.get(p);
    if (responses.length === 0 && r.status !== 200) return r;
    responses.push(r);
  }
  return summarize(responses, performance.now() - start);
}

/** Requests the same path from `concurrency` loops for `seconds` (after one unmeasured request). */
export async function warmRun(client: LoadClient, path: string, concurrency: number, seconds: number): Promise<Summary> {
  await client.get(path);
  const responses: Response[] = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) responses.push(await client.get(path));
    }),
  );
  return summarize(responses, performance.now() - start);
}
