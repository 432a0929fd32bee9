// Tenant routing and the platform admin API, in workerd with real KV, D1 and migrations.
import { describe, expect, it, afterAll } from "vitest";
import { admin, createTenant, deleteTenant, edge, uniqueSlug } from "./helpers";

const created: string[] = [];
afterAll(async () => {
  for (const slug of created) await deleteTenant(slug);
});

async function newTenant(prefix: string, hosts?: string[]) {
  const slug = uniqueSlug(prefix);
  created.push(slug);
  return createTenant(slug, hosts);
}

describe("tenant routing", () => {
  it("answers /healthz on any host", async () => {
    const res = await edge("http://whatever.example/healthz");
    expect(res.status).toBe(200);
  });

  it("says there is no forge at an unknown host", async () => {
    const res = await edge("http://nobody-here.test/");
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("No forge at this address");
  });

  it("serves a new tenant's home page on its host, port ignored", async () => {
    const { tenant } = await newTenant("home");
    expect(tenant.status).toBe("active");
    const res = await edge(`http://${tenant.hosts[0]}:8787/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain(`Forge ${tenant.slug}`);
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(res.headers.get("server-timing")).toMatch(/kv;desc="\d+ calls"/);
  });

  it("keeps tenants apart: same project name, different contents", async () => {
    const a = await newTenant("iso-a");
    const b = await newTenant("iso-b");
    for (const [t, description] of [
      [a, "Alpha's website"],
      [b, "Bravo's website"],
    ] as const) {
      const res = await admin("POST", `/api/v1/tenants/${t.tenant.slug}/projects`, { name: "website", description });
      expect(res.status).toBe(201);
    }
    const pageA = await (await edge(`http://${a.tenant.hosts[0]}/p/website/`)).text();
    const pageB = await (await edge(`http://${b.tenant.hosts[0]}/p/website/`)).text();
    expect(pageA).toMatch(/Alpha(&#39;|')s website/);
    expect(pageA).not.toContain("Bravo");
    expect(pageB).toMatch(/Bravo(&#39;|')s website/);
    expect(pageB).not.toContain("Alpha");
  });

  it("answers 503 with a neutral message for a suspended tenant (the reason is the operator's), and serves it again once resumed", async () => {
    const { tenant } = await newTenant("susp");
    const suspended = await admin("POST", `/api/v1/tenants/${tenant.slug}/suspend`, { reason: "unpaid invoice" });
    expect(suspended.status).toBe(200);
    expect((await suspended.json()) as object).toMatchObject({ status: "suspended", suspend_reason: "unpaid invoice" });
    const res = await edge(`http://${tenant.hosts[0]}/`);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).toContain("not available right now");
    expect(text).not.toContain("unpaid invoice");
    expect((await admin("POST", `/api/v1/tenants/${tenant.slug}/resume`)).status).toBe(200);
    expect((await edge(`http://${tenant.hosts[0]}/`)).status).toBe(200);
  });

  it("404s a missing project and never serves the platform API on tenant hosts", async () => {
    const { tenant } = await newTenant("miss");
    expect((await edge(`http://${tenant.hosts[0]}/p/nope/`)).status).toBe(404);
    expect((await edge(`http://${tenant.hosts[0]}/api/v1/tenants`)).status).toBe(404);
  });
});

describe("platform admin API", () => {
  it("requires the admin token", async () => {
    const none = await edge("http://admin.test/api/v1/tenants");
    expect(none.status).toBe(401);
    const wrong = await admin("GET", "/api/v1/tenants", undefined, "not-the-token");
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: { code: "unauthorized", message: "wrong admin token" } });
  });

  it("answers 400 with a message for malformed JSON and invalid fields", async () => {
    const bad = await admin("POST", "/api/v1/tenants", "{not json");
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { code: string; message: string } };
    expect(body.error.message.length).toBeGreaterThan(0);
    const invalid = await admin("POST", "/api/v1/tenants", { slug: "Bad Slug!", name: "", hosts: [], owner: {} });
    expect(invalid.status).toBe(400);
    const err = ((await invalid.json()) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe("validation_failed");
    expect(err.message).toContain("slug");
  });

  it("refuses a hostname that belongs to another tenant with 409", async () => {
    const a = await newTenant("dup-a");
    const slug = uniqueSlug("dup-b");
    const res = await admin("POST", "/api/v1/tenants", {
      slug,
      name: "B",
      hosts: [a.tenant.hosts[0]],
      owner: { username: "bob", email: "bob@example.com" },
    });
    expect(res.status).toBe(409);
    const b = await newTenant("dup-c");
    const add = await admin("POST", `/api/v1/tenants/${b.tenant.slug}/hosts/${a.tenant.hosts[0]}`);
    expect(add.status).toBe(409);
  });

  it("adds and removes hosts", async () => {
    const { tenant } = await newTenant("hosts");
    const extra = `extra-${tenant.slug}.test`;
    expect((await admin("POST", `/api/v1/tenants/${tenant.slug}/hosts/${extra}`)).status).toBe(200);
    expect((await edge(`http://${extra}/`)).status).toBe(200);
    const removed = await admin("DELETE", `/api/v1/tenants/${tenant.slug}/hosts/${extra}`);
    expect(((await removed.json()) as { hosts: string[] }).hosts).toEqual([tenant.hosts[0]]);
    expect((await edge(`http://${extra}/`)).status).toBe(404);
  });

  it("paginates the tenant list with Link and X-Total-Count", async () => {
    for (let i = 0; i < 3; i++) await newTenant("page");
    const first = await admin("GET", "/api/v1/tenants?limit=2&page=1");
    expect(first.status).toBe(200);
    const total = Number(first.headers.get("x-total-count"));
    expect(total).toBeGreaterThanOrEqual(3);
    expect(first.headers.get("link")).toContain('rel="next"');
    const seen = new Set<string>();
    let url: string | null = "/api/v1/tenants?limit=2&page=1";
    while (url) {
      const res = await admin("GET", url);
      for (const t of (await res.json()) as { slug: string }[]) seen.add(t.slug);
      const next = /<([^>]+)>; rel="next"/.exec(res.headers.get("link") ?? "");
      url = next ? new URL(next[1]!).pathname + new URL(next[1]!).search : null;
    }
    expect(seen.size).toBe(total);
  });

  it("updates name and plan", async () => {
    const { tenant } = await newTenant("patch");
    const res = await admin("PATCH", `/api/v1/tenants/${tenant.slug}`, { name: "Renamed", plan: { max_repo_bytes: 1234 } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { name: string; plan: { max_repo_bytes: number; name: string } };
    expect(body.name).toBe("Renamed");
    expect(body.plan.max_repo_bytes).toBe(1234);
    expect(body.plan.name).toBe("standard");
  });

  it("mints tokens for tenant users and creates projects", async () => {
    const { tenant, owner } = await newTenant("tok");
    expect(owner.token).toMatch(/^efp_/);
    const res = await admin("POST", `/api/v1/tenants/${tenant.slug}/users/owner/tokens`, { scope: "read" });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { scope: string }).scope).toBe("read");
    expect((await admin("POST", `/api/v1/tenants/${tenant.slug}/users/nobody/tokens`, {})).status).toBe(404);
    expect((await admin("POST", `/api/v1/tenants/${tenant.slug}/projects`, { name: "p1" })).status).toBe(201);
    expect((await admin("POST", `/api/v1/tenants/${tenant.slug}/projects`, { name: "p1" })).status).toBe(409);
  });

  it("deletes a tenant only with confirmation, and then nothing of it is reachable", async () => {
    const slug = uniqueSlug("del");
    const { tenant } = await createTenant(slug);
    expect((await admin("DELETE", `/api/v1/tenants/${slug}`)).status).toBe(400);
    expect((await admin("DELETE", `/api/v1/tenants/${slug}?confirm=${slug}`)).status).toBe(200);
    expect((await edge(`http://${tenant.hosts[0]}/`)).status).toBe(404);
    expect((await admin("GET", `/api/v1/tenants/${slug}`)).status).toBe(404);
    // Its host is free again.
    const again = await createTenant(uniqueSlug("del2"), tenant.hosts);
    created.push(again.tenant.slug);
  });

  it("publishes an OpenAPI document", async () => {
    const res = await edge("http://admin.test/api/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/api/v1/tenants", "/api/v1/tenants/{slug}", "/api/v1/tenants/{slug}/hosts/{hostname}"]),
    );
  });
});
