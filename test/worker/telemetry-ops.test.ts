// The platform health endpoint (200 when every dependency answers, 503 naming the one that does
// not) and the operations page's sign-in: token checked once, then an HttpOnly SameSite=Strict cookie.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { createEdgeHandler } from "../../src/edge/app";
import { checkHealth } from "../../src/services/health";
import { handleTelemetryBatch, TELEMETRY_QUEUE } from "../../src/services/telemetry";
import { ADMIN_HOST, ADMIN_TOKEN, edge } from "./helpers";

const testEnv = env as unknown as Env;

const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

describe("platform health", () => {
  it("answers 200 with every check ok, without a token and without secrets", async () => {
    const res = await edge(`http://${ADMIN_HOST}/admin/health`);
    const body = (await res.json()) as { ok: boolean; checks: Record<string, { ok: boolean; ms: number }> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(Object.keys(body.checks).sort()).toEqual(["d1", "do", "kv", "queue", "r2"]);
    expect(Object.values(body.checks).every((c) => c.ok && c.ms >= 0)).toBe(true);
    expect(JSON.stringify(body)).not.toContain(ADMIN_TOKEN);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("answers 503 naming the failing dependency, and counts a check that hangs as failed", async () => {
    const broken = {
      ...testEnv,
      OBJECTS: { head: () => Promise.reject(new Error("R2 is down\n    at secret/stack.js:1")) },
      DIRECTORY: { get: () => new Promise(() => {}) },
      TELEMETRY_LOGS: undefined,
    } as unknown as Env;
    const health = await checkHealth(broken, { timeoutMs: 50 });
    expect(health.ok).toBe(false);
    expect(health.checks.r2).toMatchObject({ ok: false, error: "R2 is down" });
    expect(health.checks.kv).toMatchObject({ ok: false, error: "no answer within 50 ms" });
    expect(health.checks.queue).toMatchObject({ ok: false, error: "queue binding TELEMETRY_LOGS missing" });
    expect(health.checks.d1?.ok).toBe(true);

    const res = await createEdgeHandler().fetch!(
      new Request(`http://${ADMIN_HOST}/admin/health`) as never,
      { ...testEnv, OBJECTS: { head: () => Promise.reject(new Error("R2 is down")) } } as never,
      ctx,
    );
    expect(res.status).toBe(503);
    expect(((await res.json()) as { checks: { r2: { ok: boolean } } }).checks.r2.ok).toBe(false);
  });
});

const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(fields).toString(),
  redirect: "manual" as const,
});

describe("operations page sign-in", () => {
  it("sends a visitor without the cookie to the sign-in form, and refuses a wrong token", async () => {
    const res = await edge(`http://${ADMIN_HOST}/admin/ops?range=1h`, { redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/login?next=%2Fadmin%2Fops%3Frange%3D1h");
    // The bearer token does not open the pages, and the cookie does not open the API.
    const bearer = await edge(`http://${ADMIN_HOST}/admin/ops`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      redirect: "manual",
    });
    expect(bearer.status).toBe(303);
    const wrong = await edge(`http://${ADMIN_HOST}/admin/login`, form({ token: "nope", next: "/admin/ops" }));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    expect(await wrong.text()).toContain("Wrong admin token");
  });

  it("sets a signed HttpOnly SameSite=Strict cookie (Secure over https) that opens the pages, and only ours", async () => {
    const res = await edge(`http://${ADMIN_HOST}/admin/login`, form({ token: ADMIN_TOKEN, next: "/admin/ops?range=15m" }));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/ops?range=15m");
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^ef_admin=v1\.[^;]+; Path=\/admin; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(ADMIN_TOKEN);
    const value = cookie.split(";")[0]!;

    await handleTelemetryBatch(
      {
        queue: TELEMETRY_QUEUE,
        messages: [
          {
            id: "ops-page-1",
            timestamp: new Date(),
            attempts: 1,
            body: {
              t: new Date().toISOString(),
              id: "r<script>1",
              tenant: null,
              component: "ops.page",
              method: "GET",
              host: "h",
              path: "/<b>",
              status: 200,
              ms: 5,
              first_ms: 1,
              bytes: 1,
              calls: { kv: 1, d1: 0, r2: 0, do: 0, svc: 0 },
              wait: { kv: 0.4, d1: 0, r2: 0, do: 0, svc: 0 },
            },
            ack() {},
            retry() {},
          },
        ],
      } as unknown as MessageBatch<unknown>,
      testEnv,
    );
    const page = await edge(`http://${ADMIN_HOST}/admin/ops?range=15m`, { headers: { cookie: value } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('data-component="ops.page"');
    expect(html).toContain("<svg");
    // Its one script (dragging a range) is a static file the CSP allows.
    const script = /<script src="([^"]+)"/.exec(html)?.[1];
    expect(script).toMatch(/^\/static\/ops\.[0-9a-z]+\.js$/);
    const js = await edge(`http://${ADMIN_HOST}${script}`);
    expect([js.status, js.headers.get("content-type")]).toEqual([200, "text/javascript; charset=utf-8"]);
    const logs = await edge(`http://${ADMIN_HOST}/admin/ops/logs?component=ops.page&since=15m`, { headers: { cookie: value } });
    const text = await logs.text();
    expect(text).toContain("r&lt;script&gt;1");
    expect(text).toContain("kv 1× 0.4 ms");
    expect(text).not.toContain("<script>1");

    const https = await edge(`https://${ADMIN_HOST}/admin/login`, form({ token: ADMIN_TOKEN }));
    expect(https.headers.get("set-cookie")).toMatch(/; SameSite=Strict; Secure$/);
    // A forged cookie, and an offsite "next", get nowhere.
    const forged = await edge(`http://${ADMIN_HOST}/admin/ops`, {
      headers: { cookie: `${value.slice(0, -3)}abc` },
      redirect: "manual",
    });
    expect(forged.status).toBe(303);
    const offsite = await edge(`http://${ADMIN_HOST}/admin/login`, form({ token: ADMIN_TOKEN, next: "//evil.example/" }));
    expect(offsite.headers.get("location")).toBe("/admin/ops");
  });

  it("refuses a sign-in form sent from another site", async () => {
    const res = await edge(
      `http://${ADMIN_HOST}/admin/login`,
      form({ token: ADMIN_TOKEN }, { origin: "https://evil.example", "sec-fetch-site": "cross-site" }),
    );
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });
});
