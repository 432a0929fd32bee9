// The local forge's HTTP front: a node:http server that hands every request to Miniflare through
// dispatchFetch (which waits out runtime reloads) behind the reload gate.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { once } from "node:events";
import { Readable } from "node:stream";
import type { Miniflare } from "miniflare";
import type { Gate } from "./gate";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"]);

function requestHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (!HOP_BY_HOP.has(name.toLowerCase())) headers.append(name, req.rawHeaders[i + 1]!);
  }
  return headers;
}

async function forward(mf: Miniflare, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = `http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`;
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const response = await mf.dispatchFetch(url, {
    method: req.method,
    headers: requestHeaders(req) as never,
    body: hasBody ? (Readable.toWeb(req) as never) : undefined,
    duplex: hasBody ? "half" : undefined,
    redirect: "manual",
  } as never);
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    // dispatchFetch hands us a decoded body: its encoding and length no longer apply.
    if (name === "content-encoding" || name === "content-length" || name === "set-cookie") return;
    if (name.startsWith("mf-")) return;
    if (!HOP_BY_HOP.has(name)) headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers["set-cookie"] = cookies;
  res.writeHead(response.status, headers);
  if (response.body && req.method !== "HEAD") {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (!res.write(chunk)) await once(res, "drain");
    }
  }
  res.end();
}

export function createFront(getMiniflare: () => Miniflare, gate: Gate): Server {
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
      await forward(getMiniflare(), req, res);
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
