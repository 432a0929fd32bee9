// The local forge's HTTP front: a node:http server that passes every request, as a stream, to the
// edge worker's own socket in workerd, behind the reload gate (a reload restarts workerd and
// would cut requests in flight; the gate holds new ones meanwhile).
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Gate } from "./gate";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "upgrade", "proxy-connection", "te", "trailer"]);

function rawHeaders(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

function withoutHost(headers: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() !== "host") out.push(headers[i]!, headers[i + 1]!);
  return out;
}

/**
 * An absolute-form request line (`GET http://host/path`, RFC 9112 section 3.2.2) names the host
 * in its authority, which replaces Host; workerd accepts only origin-form, so it is rewritten.
 * Null when the target cannot be served (not http, or not a URL).
 */
function originForm(req: IncomingMessage): { path: string; headers: string[] } | null {
  const headers = rawHeaders(req.rawHeaders);
  const target = req.url ?? "/";
  if (target.startsWith("/")) return { path: target, headers };
  const url = URL.canParse(target) ? new URL(target) : null;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || !url.host) return null;
  return { path: url.pathname + url.search, headers: ["Host", url.host, ...withoutHost(headers)] };
}

function forward(target: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const form = originForm(req);
    if (!form) {
      req.resume();
      res.writeHead(400, { "content-type": "text/plain" });
      res.end("bad request target: use a path (/...) or an absolute http URL\n", () => resolve());
      return;
    }
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: form.path,
        headers: form.headers as unknown as Record<string, string>,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.statusMessage, rawHeaders(up.rawHeaders) as unknown as Record<string, string>);
        up.pipe(res);
        up.on("end", resolve);
        up.on("error", reject);
      },
    );
    upstream.on("error", reject);
    req.pipe(upstream);
  });
}

export function createFront(target: () => URL, gate: Gate): Server {
  return createServer(async (req, res) => {
    await gate.enter();
    let left = false;
    const leave = () => {
      if (!left) {
        left = true;
        gate.leave();
      }
    };
    res.on("close", leave);
    try {
      await forward(target(), req, res);
    } catch (err) {
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`local forge: the request failed: ${(err as Error).message}\n`);
      } else {
        res.destroy(err as Error);
      }
    } finally {
      leave();
    }
  });
}
