// Request lines and Host headers as clients really send them, over a raw socket to the local
// forge: absolute-form targets (RFC 9112 section 3.2.2: the authority names the host), hosts with a
// trailing dot, and tenant hosts that cannot name a forge (IP addresses), refused by the CLI.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "node:net";
import { sharedForge, type RunningForge, type TestTenant } from "./runner";

let forge: RunningForge;
let tenant: TestTenant;

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("targets");
}, 120_000);

afterAll(async () => {
  await forge?.stop();
});

/** Sends `head` (request line and headers) as is and resolves with the status and body. */
function raw(head: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(forge.port, "127.0.0.1", () => socket.write(`${head}\r\nConnection: close\r\n\r\n`));
    let data = "";
    socket.setEncoding("latin1");
    socket.on("data", (c: string) => (data += c));
    socket.on("error", reject);
    socket.on("end", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf("\r\n\r\n") + 4) });
    });
  });
}

describe("request targets and hosts", () => {
  it("serves an absolute-form request from the forge its authority names, whatever Host says", async () => {
    const port = forge.port;
    const same = await raw(`GET http://${tenant.host}:${port}/ HTTP/1.1\r\nHost: ${tenant.host}:${port}`);
    expect(same.status).toBe(200);
    expect(same.body).toContain(`Test forge ${tenant.slug}`);
    const other = await raw(`GET http://${tenant.host}:${port}/ HTTP/1.1\r\nHost: nobody.localhost:${port}`);
    expect(other.status).toBe(200);
    expect(other.body).toContain(`Test forge ${tenant.slug}`);
    const query = await raw(`GET http://anything.localhost:${port}/healthz?x=1 HTTP/1.1\r\nHost: anything.localhost`);
    expect(query.status).toBe(200);
  });

  it("answers 400, not 500, to a target it cannot serve", async () => {
    const ftp = await raw(`GET ftp://${tenant.host}/ HTTP/1.1\r\nHost: ${tenant.host}:${forge.port}`);
    expect(ftp.status).toBe(400);
    expect(ftp.body).toMatch(/bad request target/);
  });

  it("serves a host written with a trailing dot like the host", async () => {
    const dotted = await raw(`GET / HTTP/1.1\r\nHost: ${tenant.host}.:${forge.port}`);
    expect(dotted.status).toBe(200);
    expect(dotted.body).toContain(`Test forge ${tenant.slug}`);
  });

  it("refuses an IP address as a tenant host in the CLI, saying why", async () => {
    for (const host of ["127.0.0.1", "[::1]"]) {
      const r = await forge.cli("tenants", "create", "by-ip", "--host", host);
      expect(r.code, host).toBe(2);
      expect(r.stderr, host).toMatch(/is an IP address; a tenant host must be a DNS name/);
    }
  });
});
