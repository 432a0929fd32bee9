// Provisioning without a ceiling or a lost step: tenant databases are Durable Objects, many
// tenants created at once each get their own, and a creation retried half-way is finished, not doubled.
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { tenantStore } from "../../src/db/tenant-db";
import { hashToken } from "../../src/auth/tokens";
import { admin, createTenant, deleteTenant, edge, uniqueSlug } from "./helpers";

const bindings = env as unknown as Env;
const created: string[] = [];
afterAll(async () => {
  for (const slug of created) await deleteTenant(slug);
});

const newRequest = (slug: string, username = "owner") => ({
  slug,
  name: `Forge ${slug}`,
  hosts: [`${slug}.test`],
  owner: { username, email: `${username}@example.com` },
});

/** What a creation that died after its first step (the CONTROL row) leaves behind. */
async function halfCreated(slug: string, token: string, username = "owner"): Promise<string> {
  const id = `half${Date.now().toString(36)}${created.length}`;
  const pending = { username, email: `${username}@example.com`, passwordHash: null, tokenHash: await hashToken(token) };
  await bindings.CONTROL.batch([
    bindings.CONTROL.prepare(
      "INSERT INTO tenants (id, slug, name, status, database, plan, pending_owner) VALUES (?, ?, ?, 'provisioning', ?, ?, ?)",
    ).bind(id, slug, `Forge ${slug}`, `do:${id}`, JSON.stringify({ name: "standard" }), JSON.stringify(pending)),
    bindings.CONTROL.prepare("INSERT INTO tenant_hosts (hostname, tenant_id) VALUES (?, ?)").bind(`${slug}.test`, id),
  ]);
  return id;
}

const tenantRows = async (slug: string) =>
  (await bindings.CONTROL.prepare("SELECT id, database, status FROM tenants WHERE slug = ?").bind(slug).all()).results;

const whoAmI = (slug: string, token: string) =>
  edge(`http://${slug}.test/api/v1/user`, { headers: { authorization: `token ${token}` } });

describe("provisioning", () => {
  it("creates 20 tenants at once, each serving its own forge from its own database", async () => {
    const slugs = Array.from({ length: 20 }, (_, i) => uniqueSlug(`many${i}`));
    created.push(...slugs);
    const answers = await Promise.all(slugs.map((slug) => admin("POST", "/api/v1/tenants", newRequest(slug))));
    expect(answers.map((r) => r.status)).toEqual(slugs.map(() => 201));
    const databases = new Set<string>();
    for (const [i, slug] of slugs.entries()) {
      const [row] = await tenantRows(slug);
      expect(row).toMatchObject({ status: "active", database: `do:${row!.id}` });
      databases.add(String(row!.database));
      const project = await admin("POST", `/api/v1/tenants/${slug}/projects`, { name: `only-${i}` });
      expect(project.status).toBe(201);
    }
    expect(databases.size).toBe(20);
    for (const [i, slug] of slugs.entries()) {
      expect((await edge(`http://${slug}.test/`)).status).toBe(200);
      expect((await edge(`http://${slug}.test/p/only-${i}/`)).status).toBe(200);
      // The next tenant's project is not in this tenant's database.
      expect((await edge(`http://${slug}.test/p/only-${(i + 1) % 20}/`)).status).toBe(404);
    }
  });

  it("finishes a creation that stopped half-way when the same request is sent again: one tenant, both tokens valid", async () => {
    const slug = uniqueSlug("retry");
    created.push(slug);
    expect((await admin("GET", "/api/v1/tenants")).status).toBe(200); // CONTROL is migrated
    const id = await halfCreated(slug, "first-request-token-0123456789abcdef");
    // Its host was not published yet: nothing answers there.
    expect((await edge(`http://${slug}.test/`)).status).toBe(404);

    const again = await admin("POST", "/api/v1/tenants", newRequest(slug));
    expect(again.status).toBe(201);
    const body = (await again.json()) as { tenant: { id: string; status: string }; owner: { token: string } };
    expect(body.tenant).toMatchObject({ id, status: "active" });
    expect(await tenantRows(slug)).toEqual([{ id, database: `do:${id}`, status: "active" }]);
    expect((await edge(`http://${slug}.test/`)).status).toBe(200);
    expect((await whoAmI(slug, body.owner.token)).status).toBe(200);
    expect((await whoAmI(slug, "first-request-token-0123456789abcdef")).status).toBe(200);
  });

  it("refuses a different request for a slug still being set up", async () => {
    const slug = uniqueSlug("other");
    created.push(slug);
    await halfCreated(slug, "some-token-0123456789abcdef", "alice");
    const res = await admin("POST", "/api/v1/tenants", newRequest(slug, "bob"));
    expect(res.status).toBe(409);
    expect(await tenantRows(slug)).toHaveLength(1);
  });

  it("makes one tenant of two identical requests sent at once", async () => {
    const slug = uniqueSlug("twin");
    created.push(slug);
    const answers = await Promise.all([0, 1].map(() => admin("POST", "/api/v1/tenants", newRequest(slug))));
    const statuses = answers.map((r) => r.status);
    // The second either finishes the first's set-up (201) or finds it done (409): never a second tenant.
    expect(statuses).toContain(201);
    for (const s of statuses) expect([201, 409]).toContain(s);
    expect(await tenantRows(slug)).toHaveLength(1);
    for (const res of answers.filter((r) => r.status === 201)) {
      const { owner } = (await res.json()) as { owner: { token: string } };
      const who = await whoAmI(slug, owner.token);
      expect(who.status, `${statuses} ${await who.text()}`).toBe(200);
    }
  });

  it("destroys a deleted tenant's database", async () => {
    const slug = uniqueSlug("gone");
    const { tenant } = await createTenant(slug);
    const store = tenantStore(bindings, `do:${tenant.id}`)!;
    const tables = async () =>
      (await store.query([{ sql: "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE '_cf_%'", params: [] }]))[0]!
        .rows[0]![0];
    expect(await tables()).toBeGreaterThan(5);
    expect((await admin("DELETE", `/api/v1/tenants/${slug}?confirm=${slug}`)).status).toBe(200);
    expect(await tables()).toBe(0);
  });
});
