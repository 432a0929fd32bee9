// A small HTTP client for the CLI and the tests: JSON in and out, and names under .localhost
// resolved to loopback as browsers and git do (Node's resolver does not).
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import dns from "node:dns";

// LookupFunction's callback is typed for one address; with `all` it takes a list.
type AnyLookupCallback = (err: null, address: string | dns.LookupAddress[], family?: number) => void;

export const lookup: LookupFunction = (hostname, options, callback) => {
  if (hostname === "localhost" || hostname.endsWith(".localhost")) {
    if ((options as dns.LookupOptions).all) return (callback as AnyLookupCallback)(null, [{ address: "127.0.0.1", family: 4 }]);
    return (callback as AnyLookupCallback)(null, "127.0.0.1", 4);
  }
  return dns.lookup(hostname, options, callback as never);
};

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text(): string;
  json<T = unknown>(): T;
}

export function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpResponse> {
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(target, { method: opts.method ?? "GET", headers: opts.headers, lookup, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text: () => body.toString("utf8"),
          json: <T>() => JSON.parse(body.toString("utf8")) as T,
        });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
