// A TCP pass-through that counts bytes each way. Every server is measured through the same proxy
// so "bytes sent by the server" means the same thing for all of them: everything on the wire
// (status lines, headers, chunked framing, ref advertisement, pack), not a server's own log.
import { createServer, connect, type Server, type Socket } from "node:net";

export interface ByteCounts {
  /** Bytes from the server to the client. */
  fromServer: number;
  /** Bytes from the client to the server. */
  toServer: number;
  connections: number;
}

export interface ByteProxy {
  port: number;
  counts: ByteCounts;
  /** Zeroes the counters (call before the operation to measure). */
  reset(): void;
  close(): Promise<void>;
}

export async function startByteProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<ByteProxy> {
  const counts: ByteCounts = { fromServer: 0, toServer: 0, connections: 0 };
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    counts.connections++;
    const upstream = connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on("close", () => open.delete(s));
      // Either side going away ends the pair; errors (resets) are the peer's business, not ours.
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (c: Buffer) => (counts.toServer += c.length));
    upstream.on("data", (c: Buffer) => (counts.fromServer += c.length));
    // pipe() handles back-pressure and half-close (the client may end its side first).
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("byte proxy: no address");
  return {
    port: address.port,
    counts,
    reset() {
      counts.fromServer = counts.toServer = counts.connections = 0;
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
