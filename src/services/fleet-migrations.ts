// Fleet migrations (`forge migrate`) on the platform side: where the tenant databases stand, which
// are behind, what one would run, and migrating one tenant, with its outcome kept in CONTROL.
import { and, asc, eq, gt, inArray, isNotNull, lt, or, sql } from "drizzle-orm";
import type { Env } from "../env";
import { tenants } from "../db/control-schema";
import { migrationState } from "../db/migrate";
import { tenantD1 } from "../db/tenant-db";
import { conflict, notFound } from "../utils/errors";
import { control, loadById } from "./tenants";
import { publishTenant } from "../storage/directory";
import { migrateTenantSchema, recordSchemaOutcome, targetVersion, tenantMigrationsOf } from "./tenant-schema";

type TenantRow = typeof tenants.$inferSelect;

export interface TenantMigrationReport {
  slug: string;
  /** migrated: this call applied some; current: nothing was pending; failed: see error. */
  outcome: "migrated" | "current" | "failed";
  before: number | null;
  after: number | null;
  target: number;
  applied: string[];
  error: string | null;
}

export interface TenantMigrationPlan {
  slug: string;
  /** Applied migrations, read from the tenant's database (null when it cannot be read). */
  version: number | null;
  target: number;
  pending: string[];
  attemptedAt: string | null;
  error: string | null;
}

export interface FleetStatus {
  target: number;
  tags: string[];
  total: number;
  /** Tenants per schema version as CONTROL records it, highest first. */
  versions: { version: number; tenants: number }[];
  /** Active or suspended tenants below the target or with a failed attempt: what `forge migrate` works on. */
  pending: number;
  failed: number;
  /** The first failures by slug (at most FAILURES_LISTED). */
  failures: { slug: string; version: number; attemptedAt: string | null; error: string }[];
}

export const FAILURES_LISTED = 100;

/** Tenants that serve (or will again): a tenant being set up migrates as part of its set-up. */
const migratable = inArray(tenants.status, ["active", "suspended"]);

async function liveRow(env: Env, slug: string): Promise<TenantRow> {
  const [row] = await control(env).select().from(tenants).where(eq(tenants.slug, slug)).limit(1);
  if (!row || row.status === "deleting") throw notFound(`tenant ${slug}`);
  return row;
}

const unbound = (row: TenantRow) =>
  `the database ${row.database ?? "(none)"} of tenant ${row.slug} cannot be opened by this worker (a D1 binding of a tenant made before TENANT_DB that is not bound: docs/deploy.md); fix it and run forge migrate again`;

/** Applies one tenant's pending migrations (a tenant already current costs one read). */
export async function migrateTenant(env: Env, slug: string): Promise<TenantMigrationReport> {
  const row = await liveRow(env, slug);
  if (row.status === "provisioning") throw conflict(`tenant ${slug} is still being set up; its set-up applies the migrations`);
  const target = targetVersion(env);
  const d1 = tenantD1(env, row);
  if (!d1) {
    const error = unbound(row);
    await recordSchemaOutcome(env, row.id, { before: null, after: null, applied: [], error });
    return { slug, outcome: "failed", before: null, after: null, target, applied: [], error };
  }
  const result = await migrateTenantSchema(env, row.id, d1);
  // The edge decides from the published record whether a request must migrate first.
  if (!result.error) await publishTenant(env.DIRECTORY, await loadById(env, row.id));
  return {
    slug,
    outcome: result.error ? "failed" : result.applied.length > 0 ? "migrated" : "current",
    target,
    ...result,
  };
}

/** What migrating one tenant would apply; reads only. */
export async function tenantMigrationPlan(env: Env, slug: string): Promise<TenantMigrationPlan> {
  const row = await liveRow(env, slug);
  const migrations = tenantMigrationsOf(env);
  const d1 = tenantD1(env, row);
  const base = { slug, target: migrations.length, attemptedAt: row.migrationAttemptedAt, error: row.migrationError };
  if (!d1) return { ...base, version: null, pending: migrations.map((m) => m.tag), error: row.migrationError ?? unbound(row) };
  const state = await migrationState(d1, migrations);
  return { ...base, version: state.applied.length, pending: state.pending.map((m) => m.tag) };
}

const pendingWhere = (env: Env) =>
  and(migratable, or(lt(tenants.schemaVersion, targetVersion(env)), isNotNull(tenants.migrationError)));

export async function fleetStatus(env: Env): Promise<FleetStatus> {
  const db = control(env);
  const live = sql`${tenants.status} <> 'deleting'`;
  const versions = await db
    .select({ version: tenants.schemaVersion, tenants: sql<number>`count(*)` })
    .from(tenants)
    .where(live)
    .groupBy(tenants.schemaVersion)
    .orderBy(sql`${tenants.schemaVersion} DESC`);
  const [pending] = await db.select({ n: sql<number>`count(*)` }).from(tenants).where(pendingWhere(env));
  const failedWhere = and(live, isNotNull(tenants.migrationError));
  const [failed] = await db.select({ n: sql<number>`count(*)` }).from(tenants).where(failedWhere);
  const failures = await db
    .select({
      slug: tenants.slug,
      version: tenants.schemaVersion,
      attemptedAt: tenants.migrationAttemptedAt,
      error: tenants.migrationError,
    })
    .from(tenants)
    .where(failedWhere)
    .orderBy(asc(tenants.slug))
    .limit(FAILURES_LISTED);
  const migrations = tenantMigrationsOf(env);
  return {
    target: migrations.length,
    tags: migrations.map((m) => m.tag),
    total: versions.reduce((n, v) => n + v.tenants, 0),
    versions,
    pending: pending?.n ?? 0,
    failed: failed?.n ?? 0,
    failures: failures.map((f) => ({ ...f, error: f.error ?? "" })),
  };
}

/**
 * One page of the tenants `forge migrate` still has to do, by slug after `after`. A run that was
 * interrupted asks again and gets only what is left: done tenants are recorded at the target.
 */
export async function pendingTenants(
  env: Env,
  after: string | undefined,
  limit: number,
): Promise<{ target: number; tenants: { slug: string; version: number; error: string | null }[]; next: string | null }> {
  const rows = await control(env)
    .select({ slug: tenants.slug, version: tenants.schemaVersion, error: tenants.migrationError })
    .from(tenants)
    .where(and(pendingWhere(env), after ? gt(tenants.slug, after) : undefined))
    .orderBy(asc(tenants.slug))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return { target: targetVersion(env), tenants: page, next: rows.length > limit ? page[page.length - 1]!.slug : null };
}
