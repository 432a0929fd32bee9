// The local forge end to end: `npm start`'s runner, driven through the forge CLI and plain HTTP.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request as httpRequest } from "node:http";
import { request } from "../../bin/cli/http";
import { startForge, waitFor200, type RunningForge } from "./runner";

let forge: RunningForge;

beforeAll(async () => {
  forge = await startForge();
});

afterAll(async () => {
  await forge?.stop();
});

// How soon a new host answers everywhere is the host cache's lifetime, tested with a fake clock in
// src/utils/lru.test.ts, not measured here: waitFor200 only waits for the tenant's set-up.

describe("local forge", () => {
  it("serves the demo tenant and its project on first start", async () => {
    const home = await request(forge.url("demo.localhost"));
    expect(home.status).toBe(200);
    expect(home.text()).toContain("Demo forge");
    expect(home.text()).toContain('href="/p/demo/"');
    expect((await request(forge.url("demo.localhost", "/p/demo/"))).status).toBe(200);
    expect((await request(forge.url("anything.localhost", "/healthz"))).status).toBe(200);
    expect((await request(forge.url("nobody.localhost"))).status).toBe(404);
  });

  it("creates a tenant with the CLI that answers on its host", async () => {
    const created = await forge.cli(
      "tenants",
      "create",
      "acme",
      "--host",
      "acme.localhost",
      "--owner",
      "alice",
      "--owner-email",
      "alice@example.com",
      "--json",
    );
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const body = JSON.parse(created.stdout) as { tenant: { status: string }; owner: { token: string } };
    expect(body.owner.token).toMatch(/^efp_/);
    await waitFor200(forge.url("acme.localhost"));

    const shown = await forge.cli("tenants", "show", "acme");
    expect(shown.stdout).toMatch(/status:\s+active/);
    const listed = await forge.cli("tenants", "list");
    expect(listed.stdout).toMatch(/^acme\s+acme\s+active\s+acme\.localhost$/m);
  });

  it("reports errors with a one-line reason and a non-zero exit", async () => {
    const dup = await forge.cli("tenants", "create", "acme-two", "--host", "acme.localhost");
    expect(dup.code).toBe(1);
    expect(dup.stderr.trim()).toBe("forge: host acme.localhost already belongs to tenant acme (HTTP 409)");
    const usage = await forge.cli("tenants", "create", "x");
    expect(usage.code).toBe(2);
    const missing = await forge.cli("tenants", "show", "no-such-tenant");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("not found");
    const badToken = await new Promise<{ status: number }>((resolve) =>
      request(forge.url("admin.localhost", "/api/v1/tenants"), { headers: { authorization: "Bearer nope" } }).then(resolve),
    );
    expect(badToken.status).toBe(401);
  });

  it("runs the provisioning commands: projects, tokens, hosts, suspend, resume, delete", async () => {
    expect((await forge.cli("projects", "create", "acme", "site", "--description", "Acme site")).code).toBe(0);
    expect((await request(forge.url("acme.localhost", "/p/site/"))).text()).toContain("Acme site");
    const token = await forge.cli("tokens", "create", "acme", "alice", "--scope", "read");
    expect(token.stdout.trim()).toMatch(/^efp_[A-Za-z0-9_-]{43}$/);
    expect((await forge.cli("hosts", "add", "acme", "code.acme.localhost")).code).toBe(0);
    expect((await request(forge.url("code.acme.localhost", "/p/site/"))).status).toBe(200);
    expect((await forge.cli("tenants", "suspend", "acme", "--reason", "maintenance")).code).toBe(0);
    const suspended = await request(forge.url("acme.localhost"));
    expect(suspended.status).toBe(503);
    // The reason is for the operator: visitors see a neutral message.
    expect(suspended.text()).not.toContain("maintenance");
    expect((await forge.cli("tenants", "resume", "acme")).code).toBe(0);
    expect((await request(forge.url("acme.localhost"))).status).toBe(200);
    expect((await forge.cli("hosts", "remove", "acme", "code.acme.localhost")).code).toBe(0);
    expect((await request(forge.url("code.acme.localhost"))).status).toBe(404);
    expect((await forge.cli("tenants", "delete", "acme")).code).toBe(2);
    expect((await forge.cli("tenants", "delete", "acme", "--confirm", "acme")).code).toBe(0);
    expect((await request(forge.url("acme.localhost"))).status).toBe(404);
  });

  it("creates 200 tenants in a loop; each answers on its own host with its own data", async () => {
    const n = 200;
    const started = Date.now();
    for (let i = 0; i < n; i++) {
      const res = await forge.admin("POST", "/api/v1/tenants", {
        slug: `bulk-${i}`,
        name: `Bulk forge ${i}`,
        hosts: [`bulk-${i}.localhost`],
        owner: { username: "owner", email: "owner@example.com" },
      });
      expect(res.status, res.text()).toBe(201);
    }
    const created = Date.now() - started;
    for (let i = 0; i < n; i++) {
      await waitFor200(forge.url(`bulk-${i}.localhost`));
    }
    // Same project name everywhere, different contents.
    for (const i of [0, 57, 199]) {
      const res = await forge.admin("POST", `/api/v1/tenants/bulk-${i}/projects`, {
        name: "shared",
        description: `contents of ${i}`,
      });
      expect(res.status).toBe(201);
    }
    for (const i of [0, 57, 199]) {
      const page = (await request(forge.url(`bulk-${i}.localhost`, "/p/shared/"))).text();
      expect(page).toContain(`contents of ${i}`);
      for (const j of [0, 57, 199].filter((j) => j !== i)) expect(page).not.toContain(`contents of ${j}<`);
    }
    const home = (await request(forge.url("bulk-123.localhost"))).text();
    expect(home).toContain("Bulk forge 123");
    console.log(`200 tenants: created in ${created} ms, all serving after ${Date.now() - started} ms`);
  }, 600_000);

  it("sums up latency per component and shows the log lines behind it", async () => {
    for (let i = 0; i < 3; i++) await request(forge.url("demo.localhost", "/p/demo/"));
    await request(forge.url("demo.localhost", "/no/such/page"));
    // A log line reaches R2 through the telemetry queue a little after the response: ask until all
    // three requests are counted (the test's timeout bounds the wait).
    let project: { requests: number } | undefined;
    for (;;) {
      const stats = await forge.cli("stats", "--since", "1h", "--json");
      expect(stats.code, stats.stderr).toBe(0);
      const rows = JSON.parse(stats.stdout) as { component: string; requests: number; p50: number }[];
      project = rows.find((r) => r.component === "web.project");
      if ((project?.requests ?? 0) >= 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(project?.requests).toBeGreaterThanOrEqual(3);
    const logs = await forge.cli("logs", "--since", "1h", "--component", "web.project", "--limit", "2", "--json");
    const lines = logs.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { component: string; id: string; bytes: number });
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l.component).toBe("web.project");
      expect(l.id).toMatch(/^[a-z0-9]{16}$/);
      expect(l.bytes).toBeGreaterThan(500);
    }
    const bad = await forge.cli("stats", "--since", "yesterday-ish");
    expect(bad.code).toBe(1);
  });

  it("answers a page while a large upload streams in, before the upload is sent", async () => {
    const created = await forge.admin("POST", "/api/v1/tenants", {
      slug: "uploads",
      name: "Uploads forge",
      hosts: ["uploads.localhost"],
      owner: { username: "owner", email: "owner@example.com" },
    });
    expect(created.status, created.text()).toBe(201);
    await waitFor200(forge.url("uploads.localhost"));
    expect((await forge.admin("POST", "/api/v1/tenants/uploads/projects", { name: "big" })).status).toBe(201);
    const started = await forge.admin("POST", "/api/v1/tenants/uploads/projects/big/imports", {
      size: 2 * 64 * 1024 * 1024,
      checksum: "ab".repeat(20),
      refs: [{ name: "refs/heads/main", oid: "cd".repeat(20) }],
      head: "refs/heads/main",
    });
    expect(started.status, started.text()).toBe(201);
    const { id, part_size: partSize } = started.json<{ id: string; part_size: number }>();

    // Part 1, written as fast as the client can: the body keeps arriving while the page is asked.
    const order: string[] = [];
    let upToSpeed: () => void;
    const flowing = new Promise<void>((resolve) => (upToSpeed = resolve));
    const upload = new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: "127.0.0.1",
          port: forge.port,
          method: "PUT",
          path: `/api/v1/tenants/uploads/projects/big/imports/${id}/parts/1`,
          agent: false,
          headers: {
            host: `admin.localhost:${forge.port}`,
            authorization: `Bearer ${forge.adminToken}`,
            "content-type": "application/octet-stream",
            "content-length": String(partSize),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      const chunk = Buffer.alloc(1024 * 1024, 0x5a);
      let written = 0;
      const pump = () => {
        while (written < partSize) {
          written += chunk.length;
          if (written >= 8 * chunk.length) upToSpeed();
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end(() => order.push("upload sent"));
      };
      pump();
    });
    await flowing;
    const page = await request(forge.url("uploads.localhost"));
    order.push("page answered");
    expect(page.status).toBe(200);
    expect(await upload).toBe(200);
    expect(order).toEqual(["page answered", "upload sent"]);
  }, 120_000);

  it("stops on Ctrl-C and keeps its state for the next start", async () => {
    expect(await forge.stop()).toBe(0);
    forge = await startForge({ stateDir: forge.stateDir });
    expect((await request(forge.url("bulk-7.localhost"))).text()).toContain("Bulk forge 7");
    expect((await request(forge.url("demo.localhost"))).status).toBe(200);
  }, 200_000);
});
