// The local forge's HTTP front: a node:http server that passes every request, as a stream, to the
// edge worker's own socket in workerd, behind the reload gate (a reload restarts workerd and
// would cut requests in flight; the gate holds new ones meanwhile).
import { Agent, createServer, request, type ClientRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Gate } from "./gate";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "upgrade", "proxy-connection", "te", "trailer"]);

/**
 * How long an idle connection to workerd is kept for reuse. workerd closes a connection 5 s after
 * it has written its last response; that clock starts when workerd hands the bytes to the kernel,
 * which can be seconds before the front has passed them on to a slow client (a clone's pack), so
 * no idle limit on this side can rule the race out. A short one makes it rare; retryable()
 * handles the rest.
 */
export const IDLE_UPSTREAM_MS = 1_000;

function rawHeaders(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** GET and HEAD without a body: safe to send twice, and nothing to replay. */
function hasNoBody(req: IncomingMessage): boolean {
  return (
    (req.method === "GET" || req.method === "HEAD") &&
    req.headers["transfer-encoding"] === undefined &&
    (req.headers["content-length"] ?? "0") === "0"
  );
}

/**
 * A request that failed because workerd had already closed the reused connection it was written
 * to: no byte of an answer came back, so workerd never read the request.
 */
function retryable(upstream: ClientRequest, err: NodeJS.ErrnoException): boolean {
  return upstream.reusedSocket && ["ECONNRESET", "EPIPE"].includes(err.code ?? "");
}

/**
 * Sends one request to workerd and streams the answer back. GET and HEAD go over kept-alive
 * connections and are sent again, once, on a new connection when the reused one turns out to be
 * closed. Everything else (a POST's body is streamed and cannot be sent twice, and the request
 * may not be idempotent) always gets a new connection, which workerd cannot have closed.
 */
function forward(agent: Agent, target: URL, req: IncomingMessage, res: ServerResponse, reuse: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: rawHeaders(req.rawHeaders) as unknown as Record<string, string>,
        agent: reuse ? agent : false,
      },
      (up) => {
        answered = true;
        res.writeHead(up.statusCode ?? 502, up.statusMessage, rawHeaders(up.rawHeaders) as unknown as Record<string, string>);
        up.pipe(res);
        up.on("end", resolve);
        up.on("error", reject);
      },
    );
    upstream.on("error", (err: NodeJS.ErrnoException) => {
      if (!answered && reuse && retryable(upstream, err)) {
        forward(agent, target, req, res, false).then(resolve, reject);
      } else {
        reject(err);
      }
    });
    // The client went away mid-answer: stop workerd's side too instead of leaving it paused.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (hasNoBody(req)) upstream.end();
    else req.pipe(upstream);
  });
}

export function createFront(target: () => URL, gate: Gate): Server {
  const agent = new Agent({ keepAlive: true, timeout: IDLE_UPSTREAM_MS });
  const server = createServer(async (req, res) => {
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
      await forward(agent, target(), req, res, hasNoBody(req));
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
  server.on("close", () => agent.destroy());
  return server;
}
