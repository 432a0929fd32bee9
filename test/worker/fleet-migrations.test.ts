// Fleet migrations through the admin API (`forge migrate`'s server side), in workerd with real D1.
// vitest.config.ts appends a probe migration to the bundle; a test "rewinds" a tenant by taking it
// back (tracking row, table, CONTROL version), so the tenant has one migration pending.
import { env as workerEnv } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { tenantD1 as openTenantD1 } from "../../src/db/tenant-db";
import { PROBE_TABLE, PROBE_TAG } from "../e2e/fleet-probe";
import { admin, createTenant, deleteTenant, edge, uniqueSlug } from "./helpers";

const env = workerEnv as unknown as Env;

const created: string[] = [];
afterAll(async () => {
  for (const slug of created) await deleteTenant(slug);
});

async function newTenant(prefix: string) {
  const slug = uniqueSlug(prefix);
  created.push(slug);
  return (await createTenant(slug)).tenant;
}

interface ControlRow {
  id: string;
  database: string;
  schema_version: number;
  migration_attempted_at: string | null;
  migration_error: string | null;
}

const controlRow = async (slug: string) =>
  (await env.CONTROL.prepare("SELECT * FROM tenants WHERE slug = ?").bind(slug).first<ControlRow>())!;

const tenantD1 = async (slug: string) => openTenantD1(env, await controlRow(slug))!;

async function probeRows(slug: string): Promise<number | null> {
  const db = await tenantD1(slug);
  const table = await db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?").bind(PROBE_TABLE).first();
  if (!table) return null;
  return (await db.prepare(`SELECT count(*) AS n FROM ${PROBE_TABLE}`).first<{ n: number }>())!.n;
}

/** Takes the probe migration back from a tenant, as if it had been created by the release before. */
async function rewind(slug: string, obstacle = false): Promise<void> {
  const db = await tenantD1(slug);
  await db.batch([
    db.prepare("DELETE FROM _forge_migrations WHERE tag = ?").bind(PROBE_TAG),
    db.prepare(`DROP TABLE ${PROBE_TABLE}`),
    // A table in the probe's way whose rows the probe cannot insert: its migration fails.
    ...(obstacle ? [db.prepare(`CREATE TABLE ${PROBE_TABLE} (applied_at TEXT CHECK (applied_at IS NULL))`)] : []),
  ]);
  await env.CONTROL.prepare("UPDATE tenants SET schema_version = schema_version - 1 WHERE slug = ?").bind(slug).run();
}

interface Status {
  target: number;
  total: number;
  versions: { version: number; tenants: number }[];
  pending: number;
  failed: number;
  failures: { slug: string; version: number; error: string; attempted_at: string | null }[];
}

const status = async () => (await (await admin("GET", "/api/v1/migrations/status")).json()) as Status;
const onVersion = (s: Status, v: number) => s.versions.find((x) => x.version === v)?.tenants ?? 0;
const migrateCall = (slug: string) => admin("POST", `/api/v1/tenants/${slug}/migrate`);

async function allPending(): Promise<string[]> {
  const slugs: string[] = [];
  let after = "";
  for (;;) {
    const res = await admin("GET", `/api/v1/migrations/pending?limit=2${after ? `&after=${after}` : ""}`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { tenants: { slug: string }[]; next: string | null };
    slugs.push(...page.tenants.map((t) => t.slug));
    if (!page.next) return slugs;
    after = page.next;
  }
}

describe("fleet migrations API", () => {
  it("needs the admin token", async () => {
    const t = await newTenant("fm-auth");
    await rewind(t.slug);
    const rowBefore = await controlRow(t.slug);
    expect((await admin("GET", "/api/v1/migrations/status", undefined, "wrong")).status).toBe(401);
    expect((await admin("GET", "/api/v1/migrations/pending", undefined, "wrong")).status).toBe(401);
    expect((await admin("GET", `/api/v1/tenants/${t.slug}/migrations`, undefined, "wrong")).status).toBe(401);
    const res = await edge(`http://admin.test/api/v1/tenants/${t.slug}/migrate`, { method: "POST" });
    expect(res.status).toBe(401);
    expect(await probeRows(t.slug)).toBeNull();
    expect(await controlRow(t.slug)).toEqual(rowBefore);
  });

  it("answers 404 for a tenant that does not exist", async () => {
    expect((await migrateCall("no-such-tenant")).status).toBe(404);
    expect((await admin("GET", "/api/v1/tenants/no-such-tenant/migrations")).status).toBe(404);
  });

  it("migrates one tenant, records its version in CONTROL, and applies nothing twice when asked again", async () => {
    const t = await newTenant("fm-one");
    const target = (await status()).target;
    await rewind(t.slug);
    expect(await allPending()).toContain(t.slug);

    const res = await migrateCall(t.slug);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      slug: t.slug,
      outcome: "migrated",
      before: target - 1,
      after: target,
      target,
      applied: [PROBE_TAG],
      error: null,
    });
    const row = await controlRow(t.slug);
    expect(row.schema_version).toBe(target);
    expect(row.migration_error).toBeNull();
    expect(row.migration_attempted_at).toBeTruthy();
    expect(await probeRows(t.slug)).toBe(1);
    expect(await allPending()).not.toContain(t.slug);

    const again = (await (await migrateCall(t.slug)).json()) as { outcome: string; applied: string[]; after: number };
    expect(again).toMatchObject({ outcome: "current", applied: [], after: target });
    expect(await probeRows(t.slug)).toBe(1);
  });

  it("counts tenants per version in the status", async () => {
    const a = await newTenant("fm-count-a");
    await newTenant("fm-count-b");
    const before = await status();
    await rewind(a.slug);
    const after = await status();
    expect(onVersion(after, before.target)).toBe(onVersion(before, before.target) - 1);
    expect(onVersion(after, before.target - 1)).toBe(onVersion(before, before.target - 1) + 1);
    expect(after.pending).toBe(before.pending + 1);
    expect(after.total).toBe(before.total);
    await migrateCall(a.slug);
    const done = await status();
    expect(done.versions).toEqual(before.versions);
    expect(done.pending).toBe(before.pending);
  });

  it("lists what a dry run would apply and changes nothing", async () => {
    const t = await newTenant("fm-dry");
    await rewind(t.slug);
    const rowBefore = await controlRow(t.slug);
    const res = await admin("GET", `/api/v1/tenants/${t.slug}/migrations`);
    expect(res.status).toBe(200);
    const plan = (await res.json()) as { version: number; target: number; pending: string[] };
    expect(plan.pending).toEqual([PROBE_TAG]);
    expect(plan.version).toBe(plan.target - 1);
    expect(await controlRow(t.slug)).toEqual(rowBefore);
    expect(await probeRows(t.slug)).toBeNull();
    const tracked = await (await tenantD1(t.slug)).prepare("SELECT count(*) AS n FROM _forge_migrations").first<{ n: number }>();
    expect(tracked!.n).toBe(plan.target - 1);
  });

  it("records a failing tenant and goes on with the others; a later run retries it", async () => {
    const bad = await newTenant("fm-bad");
    const good = await newTenant("fm-good");
    await rewind(bad.slug, true);
    await rewind(good.slug);
    const target = (await status()).target;

    const res = await migrateCall(bad.slug);
    expect(res.status).toBe(200);
    const report = (await res.json()) as { outcome: string; error: string; after: number; applied: string[] };
    expect(report.outcome).toBe("failed");
    expect(report.error).toContain(PROBE_TAG);
    expect(report.error).toMatch(/CHECK constraint failed/);
    expect(report.after).toBe(target - 1);
    expect(report.applied).toEqual([]);
    const row = await controlRow(bad.slug);
    expect(row.schema_version).toBe(target - 1);
    expect(row.migration_error).toMatch(/CHECK constraint failed/);

    expect(((await (await migrateCall(good.slug)).json()) as { outcome: string }).outcome).toBe("migrated");
    const s = await status();
    expect(s.failures.map((f) => f.slug)).toContain(bad.slug);
    expect(s.failures.find((f) => f.slug === bad.slug)).toMatchObject({ version: target - 1 });
    expect(await allPending()).toContain(bad.slug);
    expect(await allPending()).not.toContain(good.slug);

    // The operator clears the obstacle; the next run migrates the tenant and clears its error.
    await (await tenantD1(bad.slug)).prepare(`DROP TABLE ${PROBE_TABLE}`).run();
    expect(((await (await migrateCall(bad.slug)).json()) as { outcome: string }).outcome).toBe("migrated");
    expect((await controlRow(bad.slug)).migration_error).toBeNull();
    expect((await status()).failures.map((f) => f.slug)).not.toContain(bad.slug);
    expect(await probeRows(bad.slug)).toBe(1);
  });
});

describe("lazy migration on a request (the safety net)", () => {
  /** Publishes the tenant's record at an older version, as the release before left it in KV. */
  async function publishOlder(slug: string): Promise<void> {
    const { id } = await controlRow(slug);
    const record = JSON.parse((await env.DIRECTORY.get(`tenant:${id}`))!) as { schemaVersion: number };
    await env.DIRECTORY.put(`tenant:${id}`, JSON.stringify({ ...record, schemaVersion: record.schemaVersion - 1 }));
  }

  it("migrates on the tenant's first request and keeps the same books as forge migrate", async () => {
    const t = await newTenant("fm-lazy");
    await rewind(t.slug);
    await publishOlder(t.slug);
    const target = (await status()).target;
    expect((await edge(`http://${t.hosts[0]}/`)).status).toBe(200);
    const row = await controlRow(t.slug);
    expect(row.schema_version).toBe(target);
    expect(row.migration_error).toBeNull();
    expect(row.migration_attempted_at).toBeTruthy();
    expect(await probeRows(t.slug)).toBe(1);
    expect(((await (await migrateCall(t.slug)).json()) as { outcome: string }).outcome).toBe("current");
    expect(await probeRows(t.slug)).toBe(1);
  });

  it("keeps serving a tenant whose migration fails, and records the failure", async () => {
    const t = await newTenant("fm-lazy-bad");
    await rewind(t.slug, true);
    await publishOlder(t.slug);
    const res = await edge(`http://${t.hosts[0]}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`Forge ${t.slug}`);
    expect((await controlRow(t.slug)).migration_error).toMatch(/CHECK constraint failed/);
  });
});
