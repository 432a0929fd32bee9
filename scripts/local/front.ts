// The local forge's HTTP front: a node:http server that passes every request, as a stream, to the
// edge worker's own socket in workerd.
import {
  Agent,
  createServer,
  request,
  type ClientRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { Transform, type TransformCallback } from "node:stream";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "upgrade", "proxy-connection", "te", "trailer"]);

/**
 * How long an idle connection to workerd is kept for reuse. workerd closes a connection 5 s after
 * it has written its last response; that clock starts when workerd hands the bytes to the kernel,
 * which can be seconds before the front has passed them on to a slow client (a clone's pack), so
 * no idle limit on this side can rule the race out. A short one makes it rare; retryable()
 * handles the rest.
 */
export const IDLE_UPSTREAM_MS = 1_000;

/**
 * Large request bodies go to workerd in slices of this size. workerd (one thread for every worker
 * locally) does not look at its other connections while a body keeps arriving faster than it
 * consumes it: a 64 MiB import part held up every other request for the 2-3 s it took to store.
 */
export const BODY_SLICE = 1024 * 1024;
/** The longest a slice waits for the other requests (the bound when they make no progress). */
const HOLD_MAX_MS = 1_000;

/** Requests in flight through the front, and a signal when one of them makes progress. */
class Traffic {
  inFlight = 0;
  private waiters: (() => void)[] = [];

  /** An answer's head or a piece of its body came back from workerd. */
  progress(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves when another request makes progress (workerd has turned to it), or after HOLD_MAX_MS. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(wake, HOLD_MAX_MS);
      function wake() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(wake);
    });
  }
}

/**
 * Passes a request body on, but after each slice, while other requests are in flight, waits for
 * one of them to move: workerd then drains what it has, looks at its other connections, and the
 * other requests are not held up for the whole upload.
 */
class SlicedBody extends Transform {
  private sinceHold = 0;
  constructor(private readonly traffic: Traffic) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.sinceHold += chunk.length;
    if (this.sinceHold < BODY_SLICE || this.traffic.inFlight <= 1) {
      done(null, chunk);
      return;
    }
    this.sinceHold = 0;
    this.traffic.next().then(() => done(null, chunk));
  }
}

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
function forward(
  agent: Agent,
  traffic: Traffic,
  target: URL,
  form: { path: string; headers: string[] },
  req: IncomingMessage,
  res: ServerResponse,
  reuse: boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let connected = false;
    let answered = false;
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: form.path,
        headers: form.headers as unknown as Record<string, string>,
        agent: reuse ? agent : false,
      },
      (up) => {
        answered = true;
        traffic.progress();
        up.on("data", () => traffic.progress());
        res.writeHead(up.statusCode ?? 502, up.statusMessage, rawHeaders(up.rawHeaders) as unknown as Record<string, string>);
        up.pipe(res);
        up.on("end", resolve);
        up.on("error", reject);
      },
    );
    upstream.on("error", (err: NodeJS.ErrnoException) => {
      if (!answered && reuse && retryable(upstream, err)) {
        forward(agent, traffic, target, form, req, res, false).then(resolve, reject);
      } else if (!answered && !connected && err.code === "ECONNREFUSED") {
        reject(new UpstreamDown(err));
      } else if (!answered && hasNoBody(req) && ["ECONNRESET", "EPIPE"].includes(err.code ?? "")) {
        // A crashing workerd's socket still takes connections for a moment, then resets them: a
        // GET or HEAD changes nothing, so it waits for the restart like a refused one.
        reject(new UpstreamDown(err));
      } else {
        reject(err);
      }
    });
    // The client went away mid-answer: stop workerd's side too instead of leaving it paused.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    // The body is read only once workerd has taken the connection: a refused one (workerd is
    // restarting) leaves it unread, so the request can be sent again whole.
    const send = () => {
      connected = true;
      if (hasNoBody(req)) upstream.end();
      else req.pipe(new SlicedBody(traffic)).pipe(upstream);
    };
    upstream.once("socket", (socket) => {
      if (socket.connecting) socket.once("connect", send);
      else send();
    });
  });
}

/** workerd refused the connection (it is not listening: it crashed and Miniflare restarts it). */
class UpstreamDown extends Error {
  constructor(readonly cause: Error) {
    super(cause.message);
  }
}

export interface FrontOptions {
  /**
   * Resolves when workerd listens again after a crash (Miniflare restarts it: an isolate over
   * its heap limit aborts the whole process locally), rejects when it will not. Without it, a
   * refused request fails at once.
   */
  upstreamBack?: () => Promise<void>;
}

/** How many times one request waits for workerd to come back before the front gives up. */
const RESTARTS_WAITED = 3;

export function createFront(target: () => URL, opts: FrontOptions = {}): Server {
  const agent = new Agent({ keepAlive: true, timeout: IDLE_UPSTREAM_MS });
  const traffic = new Traffic();
  const server = createServer(async (req, res) => {
    const form = originForm(req);
    if (!form) {
      req.resume();
      res.writeHead(400, { "content-type": "text/plain" });
      res.end("bad request target: use a path (/...) or an absolute http URL\n");
      return;
    }
    traffic.inFlight++;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await forward(agent, traffic, target(), form, req, res, hasNoBody(req));
          break;
        } catch (err) {
          // Nothing reached workerd, so sending the request again cannot apply it twice.
          if (!(err instanceof UpstreamDown) || !opts.upstreamBack || attempt >= RESTARTS_WAITED) throw err;
          await opts.upstreamBack().catch((why: Error) => {
            throw new UpstreamDown(why);
          });
        }
      }
    } catch (err) {
      if (!res.headersSent) {
        // workerd went away (503) rather than the front failing (502): say so and what to do.
        const down = err instanceof UpstreamDown || ["ECONNRESET", "EPIPE"].includes((err as NodeJS.ErrnoException).code ?? "");
        res.writeHead(down ? 503 : 502, { "content-type": "text/plain" });
        res.end(
          err instanceof UpstreamDown
            ? `local forge: workerd is not answering (${err.message}); it may have crashed: see the forge's output, then try again\n`
            : down
              ? `local forge: workerd stopped while it handled this request (${(err as Error).message}); it may have crashed ("Reached heap limit" in the forge's output): try again\n`
              : `local forge: the request failed: ${(err as Error).message}\n`,
        );
      } else {
        res.destroy(err as Error);
      }
    } finally {
      traffic.inFlight--;
      traffic.progress();
    }
  });
  server.on("close", () => agent.destroy());
  return server;
}
