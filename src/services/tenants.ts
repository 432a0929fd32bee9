// Platform use-cases on tenants: create, list, update, suspend, delete, hostnames, and the
// set-up that finishes once a tenant's database exists (migrations, owner account).
import { asc, eq, inArray, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Env } from "../env";
import { auditLog, tenantHosts, tenants } from "../db/control-schema";
import { controlMigrations } from "../db/generated-migrations";
import { migrate } from "../db/migrate";
import { openTenantDb, tenantD1 } from "../db/tenant-db";
import { hashPassword } from "../auth/password";
import { generateToken, hashToken } from "../auth/tokens";
import { publishTenant, unpublishTenant, type Plan, type TenantRecord } from "../storage/directory";
import { randomId } from "../utils/crypto";
import { badRequest, conflict, ForgeError, notFound } from "../utils/errors";
import { IsolateRuns } from "../utils/request-scope";
import { dropTenantData, newTenantDatabase, storeOwnerToken } from "./provisioner";
import { createUser, findUserByName } from "./users";
import { storeTokenHash } from "./tokens";
import { lazyRetryWaits, migrateTenantLazily, targetVersion } from "./tenant-schema";

export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
export const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const USERNAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,38}[A-Za-z0-9])?$/;

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
export const DEFAULT_PLAN: Plan = { name: "standard", maxRepoBytes: 2 * GiB, maxUploadBytes: 100 * MiB };

/** The platform host never belongs to a tenant. */
export const platformHost = (env: Env) => (env.PLATFORM_HOST ?? "admin.localhost").toLowerCase().replace(/\.$/, "");

/** IPv4 dotted quads (which HOSTNAME would accept) and IPv6 literals, bracketed or not. */
const IP_LITERAL = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[?[0-9a-f]*:[0-9a-f:.]*(?:%[^\]]*)?\]?)$/i;

/**
 * A tenant host as stored and looked up: lower-case, without one trailing dot. IP literals are
 * refused: a forge is chosen by the name in Host, and an address is shared by every forge.
 */
export function normalizeHost(host: string): string {
  const h = host.trim().toLowerCase().replace(/\.$/, "");
  if (IP_LITERAL.test(h))
    throw badRequest(`"${host}" is an IP address; a tenant host must be a DNS name (e.g. code.example.com)`);
  if (!HOSTNAME.test(h)) throw badRequest(`"${host}" is not a valid hostname`);
  return h;
}

export const control = (env: Env) => drizzle(env.CONTROL);

// Set-up runs, joined within a request only (another's may never settle: utils/request-scope.ts).
// Both are idempotent and race-safe, so a request that finds another's run does its own.
const controlSetUp = new IsolateRuns<void>();
const tenantSetUps = new IsolateRuns<TenantRecord>();
let controlMigrated = false;

/** Migrates the CONTROL database once per isolate (idempotent and race-safe across isolates). */
export const ensureControl = (env: Env): Promise<unknown> =>
  controlMigrated
    ? Promise.resolve()
    : controlSetUp.run("control", () => migrate(env.CONTROL, controlMigrations).then(() => void (controlMigrated = true)));

interface PendingOwner {
  username: string;
  email: string;
  passwordHash: string | null;
  tokenHash: string;
}

type TenantRow = typeof tenants.$inferSelect;

function toRecord(row: TenantRow, hosts: string[]): TenantRecord {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    status: row.status as TenantRecord["status"],
    suspendReason: row.suspendReason,
    database: row.database,
    hosts: [...hosts].sort(),
    plan: JSON.parse(row.plan) as Plan,
    schemaVersion: row.schemaVersion,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

async function recordsOf(env: Env, rows: TenantRow[]): Promise<TenantRecord[]> {
  if (rows.length === 0) return [];
  const hosts = await control(env)
    .select()
    .from(tenantHosts)
    .where(
      inArray(
        tenantHosts.tenantId,
        rows.map((r) => r.id),
      ),
    );
  return rows.map((r) =>
    toRecord(
      r,
      hosts.filter((h) => h.tenantId === r.id).map((h) => h.hostname),
    ),
  );
}

async function findRow(env: Env, slug: string): Promise<TenantRow | undefined> {
  const [row] = await control(env).select().from(tenants).where(eq(tenants.slug, slug)).limit(1);
  return row;
}

async function loadBySlug(env: Env, slug: string): Promise<TenantRecord> {
  const row = await findRow(env, slug);
  if (!row || row.status === "deleting") throw notFound(`tenant ${slug}`);
  return (await recordsOf(env, [row]))[0]!;
}

export async function loadById(env: Env, id: string): Promise<TenantRecord> {
  const [row] = await control(env).select().from(tenants).where(eq(tenants.id, id)).limit(1);
  if (!row) throw notFound(`tenant ${id}`);
  return (await recordsOf(env, [row]))[0]!;
}

export const audit = (actor: string, action: string, tenantId: string | null, detail?: unknown) => ({
  actor,
  action,
  tenantId,
  detail: detail === undefined ? null : JSON.stringify(detail),
});

const isUniqueViolation = (err: unknown) => /UNIQUE constraint failed/i.test(String((err as Error)?.message ?? err));

async function hostOwners(env: Env, hosts: string[]): Promise<Map<string, string>> {
  if (hosts.length === 0) return new Map();
  const rows = await control(env)
    .select({ hostname: tenantHosts.hostname, slug: tenants.slug })
    .from(tenantHosts)
    .innerJoin(tenants, eq(tenants.id, tenantHosts.tenantId))
    .where(inArray(tenantHosts.hostname, hosts));
  return new Map(rows.map((r) => [r.hostname, r.slug]));
}

function checkHostsUsable(env: Env, hosts: string[]): void {
  const reserved = platformHost(env);
  if (hosts.includes(reserved))
    throw badRequest(`${reserved} is the platform's own host (the admin API); choose another host for the tenant`);
}

export interface NewTenant {
  slug: string;
  name: string;
  hosts: string[];
  owner: { username: string; email: string; password?: string };
  plan?: Partial<Plan>;
}

export interface CreatedTenant {
  tenant: TenantRecord;
  owner: { username: string; email: string; token: string };
}

export async function createTenant(env: Env, input: NewTenant, actor: string): Promise<CreatedTenant> {
  if (!SLUG.test(input.slug)) throw badRequest(`"${input.slug}" is not a valid slug (a-z, 0-9, '-')`);
  if (!USERNAME.test(input.owner.username)) throw badRequest(`"${input.owner.username}" is not a valid username`);
  const hosts = [...new Set(input.hosts.map(normalizeHost))];
  if (hosts.length === 0) throw badRequest("a tenant needs at least one host");
  checkHostsUsable(env, hosts);

  const token = generateToken();
  const pending: PendingOwner = {
    username: input.owner.username,
    email: input.owner.email,
    passwordHash: input.owner.password ? await hashPassword(input.owner.password) : null,
    tokenHash: await hashToken(token),
  };
  // Step 1, the only one that decides: the CONTROL row (unique slug and hosts). A request for a
  // slug already being set up by the same request (a retry, or a twin sent at once) resumes it.
  let id = await resumableId(env, input, hosts);
  let resumed = id !== null;
  if (id === null) {
    const owners = await hostOwners(env, hosts);
    for (const [host, slug] of owners) throw conflict(`host ${host} already belongs to tenant ${slug}`);
    id = randomId(12);
    const db = control(env);
    try {
      await db.batch([
        db.insert(tenants).values({
          id,
          slug: input.slug,
          name: input.name,
          status: "provisioning",
          database: newTenantDatabase(id),
          plan: JSON.stringify({ ...DEFAULT_PLAN, ...input.plan }),
          pendingOwner: JSON.stringify(pending),
        }),
        ...hosts.map((hostname) => db.insert(tenantHosts).values({ hostname, tenantId: id! })),
        db.insert(auditLog).values(audit(actor, "tenant.create", id, { slug: input.slug, hosts })),
      ]);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Taken meanwhile: by a twin of this request (resume it) or by another one (conflict).
      id = await resumableId(env, input, hosts);
      if (id === null) throw conflict("the slug or one of the hosts was taken meanwhile");
      resumed = true;
    }
  }
  // Steps 2-4, each idempotent: KV records, migrations and the owner account, then active.
  let tenant = await loadById(env, id);
  await publishTenant(env.DIRECTORY, tenant);
  tenant = await ensureTenantReady(env, tenant);
  // A resumed request's token is another token of the owner (the first request's stays valid).
  if (resumed) await storeOwnerToken(env, tenant, pending.username, pending.tokenHash);
  return { tenant, owner: { username: input.owner.username, email: input.owner.email, token } };
}

/**
 * The id of the tenant `input.slug` when it is still being set up for the same owner and hosts,
 * so that this request may finish it; null when there is no such tenant. Anything else under
 * that slug is a conflict.
 */
async function resumableId(env: Env, input: NewTenant, hosts: string[]): Promise<string | null> {
  const row = await findRow(env, input.slug);
  if (!row) return null;
  const [record] = await recordsOf(env, [row]);
  const owner = row.pendingOwner ? (JSON.parse(row.pendingOwner) as PendingOwner).username : null;
  const same = owner === input.owner.username && record!.hosts.join(" ") === [...hosts].sort().join(" ");
  if (row.status !== "provisioning" || !same) throw conflict(`a tenant with slug ${input.slug} already exists`);
  return row.id;
}

/**
 * Finishes what only the tenant's database can hold, once its binding exists: applies pending
 * migrations (the safety net behind `forge migrate`: docs/migrations.md) and creates the owner
 * account of a new tenant. Idempotent, also when two requests run it at once (see tenantSetUps).
 */
export function ensureTenantReady(env: Env, record: TenantRecord): Promise<TenantRecord> {
  const needsWork = record.status === "provisioning" || record.schemaVersion < targetVersion(env);
  if (!needsWork || record.status === "deleting" || !record.database) return Promise.resolve(record);
  if (record.status !== "provisioning" && lazyRetryWaits(record.id)) return Promise.resolve(record);
  const d1 = tenantD1(env, record);
  if (!d1) return Promise.resolve(record);
  return tenantSetUps.run(record.id, () => finishSetUp(env, record, d1));
}

async function finishSetUp(env: Env, record: TenantRecord, d1: D1Database): Promise<TenantRecord> {
  await ensureControl(env);
  const { error } = await migrateTenantLazily(env, record, d1);
  // A serving tenant keeps its schema, which the code still reads (releases only add); a new one cannot serve.
  if (error && record.status !== "provisioning") return record;
  if (error) throw new ForgeError("unavailable", `setting up this forge failed: ${error}`);
  const [row] = await control(env).select().from(tenants).where(eq(tenants.id, record.id)).limit(1);
  if (!row) return record;
  if (row.pendingOwner) {
    const pending = JSON.parse(row.pendingOwner) as PendingOwner;
    const db = openTenantDb(d1);
    // A twin set-up (another request or isolate) may create the owner between the look-up and ours.
    const owner =
      (await findUserByName(db, pending.username)) ??
      (await createUser(db, { ...pending, isAdmin: true, emailConfirmed: true }).catch(
        async (err) => (await findUserByName(db, pending.username)) ?? Promise.reject<never>(err),
      ));
    await storeTokenHash(db, owner.id, "initial owner token", pending.tokenHash, "write");
  }
  await control(env)
    .update(tenants)
    .set({
      status: sql`CASE WHEN ${tenants.status} = 'provisioning' THEN 'active' ELSE ${tenants.status} END`,
      pendingOwner: null,
      updatedAt: new Date().toISOString(),
    })
    .where(eq(tenants.id, record.id));
  const updated = await loadById(env, record.id);
  await publishTenant(env.DIRECTORY, updated);
  return updated;
}

export async function getTenant(env: Env, slug: string): Promise<TenantRecord> {
  return ensureTenantReady(env, await loadBySlug(env, slug));
}

export async function listTenants(env: Env, page: number, limit: number): Promise<{ items: TenantRecord[]; total: number }> {
  const db = control(env);
  const notDeleting = sql`${tenants.status} <> 'deleting'`;
  const [count] = await db.select({ n: sql<number>`count(*)` }).from(tenants).where(notDeleting);
  const rows = await db
    .select()
    .from(tenants)
    .where(notDeleting)
    .orderBy(asc(tenants.slug))
    .limit(limit)
    .offset((page - 1) * limit);
  return { items: await recordsOf(env, rows), total: count?.n ?? 0 };
}

export interface TenantPatch {
  name?: string;
  plan?: Partial<Plan>;
}

export async function updateTenant(env: Env, slug: string, patch: TenantPatch, actor: string): Promise<TenantRecord> {
  const current = await loadBySlug(env, slug);
  const db = control(env);
  await db.batch([
    db
      .update(tenants)
      .set({
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.plan !== undefined ? { plan: JSON.stringify({ ...current.plan, ...patch.plan }) } : {}),
        updatedAt: new Date().toISOString(),
      })
      .where(eq(tenants.id, current.id)),
    db.insert(auditLog).values(audit(actor, "tenant.update", current.id, patch)),
  ]);
  const updated = await loadById(env, current.id);
  await publishTenant(env.DIRECTORY, updated);
  return updated;
}

export async function setSuspended(
  env: Env,
  slug: string,
  suspended: boolean,
  reason: string | null,
  actor: string,
): Promise<TenantRecord> {
  const current = await loadBySlug(env, slug);
  if (current.status === "provisioning") throw conflict(`tenant ${slug} is still being set up`);
  const db = control(env);
  await db.batch([
    db
      .update(tenants)
      .set({
        status: suspended ? "suspended" : "active",
        suspendReason: suspended ? reason : null,
        updatedAt: new Date().toISOString(),
      })
      .where(eq(tenants.id, current.id)),
    db.insert(auditLog).values(audit(actor, suspended ? "tenant.suspend" : "tenant.resume", current.id, { reason })),
  ]);
  const updated = await loadById(env, current.id);
  await publishTenant(env.DIRECTORY, updated);
  return updated;
}

export async function addHost(env: Env, slug: string, host: string, actor: string): Promise<TenantRecord> {
  const hostname = normalizeHost(host);
  checkHostsUsable(env, [hostname]);
  const current = await loadBySlug(env, slug);
  const owner = (await hostOwners(env, [hostname])).get(hostname);
  if (owner === slug) return current;
  if (owner) throw conflict(`host ${hostname} already belongs to tenant ${owner}`);
  const db = control(env);
  try {
    await db.batch([
      db.insert(tenantHosts).values({ hostname, tenantId: current.id }),
      db.insert(auditLog).values(audit(actor, "host.add", current.id, { hostname })),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`host ${hostname} already belongs to another tenant`);
    throw err;
  }
  const updated = await loadById(env, current.id);
  await publishTenant(env.DIRECTORY, updated);
  return updated;
}

export async function removeHost(env: Env, slug: string, host: string, actor: string): Promise<TenantRecord> {
  const hostname = host.trim().toLowerCase().replace(/\.$/, "");
  const current = await loadBySlug(env, slug);
  if (!current.hosts.includes(hostname)) throw notFound(`host ${hostname} of tenant ${slug}`);
  const db = control(env);
  await db.batch([
    db.delete(tenantHosts).where(eq(tenantHosts.hostname, hostname)),
    db.insert(auditLog).values(audit(actor, "host.remove", current.id, { hostname })),
  ]);
  const updated = await loadById(env, current.id);
  await publishTenant(env.DIRECTORY, updated, [hostname]);
  return updated;
}

/**
 * Deletes a tenant and everything it owns. Its hosts stop resolving first, so nothing of it is
 * reachable while the rest (repositories, R2 objects, database) is removed.
 */
export async function deleteTenant(env: Env, slug: string, confirm: string | undefined, actor: string): Promise<void> {
  if (confirm !== slug) throw badRequest(`deleting a tenant needs ?confirm=${slug}`);
  // A deletion that stopped half-way (status "deleting") is finished by asking again.
  const row = await findRow(env, slug);
  if (!row) throw notFound(`tenant ${slug}`);
  const current = (await recordsOf(env, [row]))[0]!;
  const db = control(env);
  await db.batch([
    db.update(tenants).set({ status: "deleting", updatedAt: new Date().toISOString() }).where(eq(tenants.id, current.id)),
    db.delete(tenantHosts).where(eq(tenantHosts.tenantId, current.id)),
    db.insert(auditLog).values(audit(actor, "tenant.delete", current.id, { slug })),
  ]);
  await unpublishTenant(env.DIRECTORY, current);

  await dropTenantData(env, current);
  await db.delete(tenants).where(eq(tenants.id, current.id));
}
