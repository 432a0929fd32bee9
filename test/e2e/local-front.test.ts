// The local forge's front against an upstream that, like workerd after its idle timeout, has
// closed every connection it already answered on: no request may fail, none may be sent twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { request as httpRequest, type Server } from "node:http";
import { createFront } from "../../scripts/local/front";

/**
 * Answers the first request on each connection, keeping the connection open as HTTP/1.1 allows,
 * then resets the connection as soon as anything more arrives on it: what a client sees when it
 * reuses a connection the server closed a moment earlier, every time instead of by bad luck.
 */
function oneShotUpstream() {
  const seen = { connections: 0, posts: [] as string[], resets: 0 };
  const server: TcpServer = createTcpServer((socket: Socket) => {
    seen.connections++;
    let buf = Buffer.alloc(0);
    let answered = false;
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      if (answered) {
        seen.resets++;
        socket.resetAndDestroy();
        return;
      }
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      answered = true;
      const [method, path] = head.split(" ");
      if (method === "POST") seen.posts.push(buf.subarray(end + 4, end + 4 + length).toString());
      const body = `${method} ${path}`;
      const head200 = `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n`;
      socket.write(method === "HEAD" ? head200 : head200 + body);
    });
  });
  return { server, seen };
}

function send(port: number, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    // A new connection per request on the client side: the reuse under test is the front's own.
    const req = httpRequest({ host: "127.0.0.1", port, method, path, agent: false }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

let upstream: ReturnType<typeof oneShotUpstream>;
let front: Server;
let port: number;

beforeAll(async () => {
  upstream = oneShotUpstream();
  await new Promise<void>((resolve) => upstream.server.listen(0, "127.0.0.1", resolve));
  const target = new URL(`http://127.0.0.1:${(upstream.server.address() as { port: number }).port}`);
  front = createFront(() => target);
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  port = (front.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => front?.close(resolve));
  front?.closeAllConnections();
  await new Promise((resolve) => upstream?.server.close(resolve));
});

describe("local forge front", () => {
  it("answers every request when the upstream has closed the connections it could reuse", async () => {
    const results: { status: number; text: string }[] = [];
    let posted = 0;
    // Rounds of concurrent requests: each round finds the connections of the one before, all
    // closed by the upstream.
    for (let round = 0; round < 4; round++) {
      const batch = await Promise.all([
        ...Array.from({ length: 12 }, (_, i) => send(port, "GET", `/page/${round}/${i}`)),
        ...Array.from({ length: 4 }, (_, i) => send(port, "HEAD", `/head/${round}/${i}`)),
        ...Array.from({ length: 4 }, (_, i) => send(port, "POST", `/issues/${round}/${i}`, `issue ${round}-${i} #${++posted}`)),
      ]);
      results.push(...batch);
    }
    expect(results.filter((r) => r.status !== 200).map((r) => r.text)).toEqual([]);
    expect(results.filter((r) => r.text.startsWith("GET "))).toHaveLength(48);
    // Each POST reached the upstream exactly once: a body is never sent on a connection that may
    // be closed, so it never needs sending again.
    expect(upstream.seen.posts).toHaveLength(16);
    expect(new Set(upstream.seen.posts).size).toBe(16);
    // The reuse did happen (the scenario is real), and each reset GET or HEAD was sent once more.
    expect(upstream.seen.resets).toBeGreaterThan(0);
  });
});

describe("local forge front while workerd restarts", () => {
  // Issue 19: an isolate over its heap limit aborts workerd locally and Miniflare restarts it; a
  // git push sent in that window got the front's bare 502 (git: "unable to access ... 502").
  it("waits for the upstream to listen again, then sends refused requests whole, once", async () => {
    // A port that nothing listens on (yet): connections to it are refused.
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const downPort = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const restarted = oneShotUpstream();
    let waits = 0;
    let listening: Promise<void> | null = null;
    // The restart is the test's own step: it happens when the front asks for it, not on a timer.
    const upstreamBack = () => {
      waits++;
      listening ??= new Promise<void>((resolve) => restarted.server.listen(downPort, "127.0.0.1", resolve));
      return listening;
    };
    const down = createFront(() => new URL(`http://127.0.0.1:${downPort}`), { upstreamBack });
    await new Promise<void>((resolve) => down.listen(0, "127.0.0.1", resolve));
    const frontPort = (down.address() as { port: number }).port;
    try {
      const [get, post] = await Promise.all([
        send(frontPort, "GET", "/repo.git/info/refs?service=git-receive-pack"),
        send(frontPort, "POST", "/repo.git/git-receive-pack", "0000 one new commit"),
      ]);
      expect(get).toEqual({ status: 200, text: "GET /repo.git/info/refs?service=git-receive-pack" });
      expect(post).toEqual({ status: 200, text: "POST /repo.git/git-receive-pack" });
      expect(restarted.seen.posts).toEqual(["0000 one new commit"]);
      expect(waits).toBeGreaterThan(0);
    } finally {
      await new Promise((resolve) => down.close(resolve));
      down.closeAllConnections();
      await new Promise((resolve) => restarted.server.close(resolve));
    }
  });

  it("answers 503 with the reason when the upstream does not come back", async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const downPort = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const down = createFront(() => new URL(`http://127.0.0.1:${downPort}`), {
      upstreamBack: () => Promise.reject(new Error("workerd did not come back")),
    });
    await new Promise<void>((resolve) => down.listen(0, "127.0.0.1", resolve));
    try {
      const r = await send((down.address() as { port: number }).port, "POST", "/repo.git/git-receive-pack", "0000");
      expect(r.status).toBe(503);
      expect(r.text).toContain("workerd did not come back");
    } finally {
      await new Promise((resolve) => down.close(resolve));
      down.closeAllConnections();
    }
  });
});

describe("local forge front when workerd dies mid-request", () => {
  it("sends a GET again after the restart when its connection was reset before any answer", async () => {
    let connections = 0;
    // The first connection is taken and then reset, as by a workerd that is aborting; after the
    // "restart" the same upstream answers.
    const restarted = oneShotUpstream();
    const dying = createTcpServer((socket) => {
      connections++;
      socket.on("error", () => undefined);
      socket.once("data", () => socket.resetAndDestroy());
    });
    await new Promise<void>((resolve) => dying.listen(0, "127.0.0.1", resolve));
    const dyingPort = (dying.address() as { port: number }).port;
    await new Promise<void>((resolve) => restarted.server.listen(0, "127.0.0.1", resolve));
    let target = new URL(`http://127.0.0.1:${dyingPort}`);
    const front2 = createFront(() => target, {
      upstreamBack: async () => {
        target = new URL(`http://127.0.0.1:${(restarted.server.address() as { port: number }).port}`);
      },
    });
    await new Promise<void>((resolve) => front2.listen(0, "127.0.0.1", resolve));
    try {
      const port2 = (front2.address() as { port: number }).port;
      expect(await send(port2, "GET", "/repo.git/info/refs")).toEqual({ status: 200, text: "GET /repo.git/info/refs" });
      expect(connections).toBe(1);
      // A POST's body was read by the dying one: it is not sent twice, and the answer says why.
      target = new URL(`http://127.0.0.1:${dyingPort}`);
      const post = await send(port2, "POST", "/repo.git/git-receive-pack", "0000");
      expect(post.status).toBe(503);
      expect(post.text).toContain("workerd stopped while it handled this request");
      expect(restarted.seen.posts).toEqual([]);
    } finally {
      await new Promise((resolve) => front2.close(resolve));
      front2.closeAllConnections();
      await new Promise((resolve) => dying.close(resolve));
      await new Promise((resolve) => restarted.server.close(resolve));
    }
  });
});
