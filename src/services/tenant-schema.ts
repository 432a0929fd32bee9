// One tenant database's schema step, shared by the lazy set-up on a request and by `forge migrate`:
// apply what is pending and record the outcome in CONTROL, so both paths keep the same books.
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Env } from "../env";
import { tenants } from "../db/control-schema";
import { tenantMigrations } from "../db/generated-migrations";
import { MigrationError, migrateDatabase, type Migration } from "../db/migrate";

/** Outcome of one attempt; versions are counts of applied migrations (null: unknown). */
export interface SchemaOutcome {
  before: number | null;
  after: number | null;
  applied: string[];
  error: string | null;
}

let extraSource: string | undefined;
let withExtra: Migration[] = tenantMigrations;

/**
 * The tenant migrations of this release: the bundle, plus EXTRA_TENANT_MIGRATIONS when a test or
 * the fleet benchmark sets it (a JSON list of {tag, statements}; never set in production).
 */
export function tenantMigrationsOf(env: Env): Migration[] {
  const extra = typeof env.EXTRA_TENANT_MIGRATIONS === "string" ? env.EXTRA_TENANT_MIGRATIONS : undefined;
  if (!extra) return tenantMigrations;
  if (extra !== extraSource) {
    const parsed = JSON.parse(extra) as unknown;
    const valid =
      Array.isArray(parsed) &&
      parsed.every(
        (m) =>
          typeof m?.tag === "string" && Array.isArray(m.statements) && m.statements.every((s: unknown) => typeof s === "string"),
      );
    if (!valid) throw new Error("EXTRA_TENANT_MIGRATIONS must be a JSON list of {tag, statements: [sql...]}");
    withExtra = [...tenantMigrations, ...(parsed as Migration[])];
    extraSource = extra;
  }
  return withExtra;
}

/** The schema version every tenant should reach in this release. */
export const targetVersion = (env: Env) => tenantMigrationsOf(env).length;

/**
 * Applies the pending migrations of one tenant's database and records the outcome on its CONTROL
 * row (version, time of the attempt, error or none). A failure is returned, not thrown: the
 * caller decides whether it stops a request.
 */
export async function migrateTenantSchema(env: Env, tenantId: string, d1: D1Database): Promise<SchemaOutcome> {
  let outcome: SchemaOutcome;
  try {
    outcome = { ...(await migrateDatabase(d1, tenantMigrationsOf(env))), error: null };
  } catch (err) {
    const done = err instanceof MigrationError ? err.result : null;
    outcome = {
      before: done?.before ?? null,
      after: done?.after ?? null,
      applied: done?.applied ?? [],
      error: String((err as Error)?.message ?? err).slice(0, 1000),
    };
  }
  await recordSchemaOutcome(env, tenantId, outcome);
  return outcome;
}

/**
 * Tenants whose lazy migration failed, per isolate, with the time of the next attempt: they keep
 * serving on the schema they have, without a failing batch on every request.
 */
const lazyFailures = new Map<string, number>();
const LAZY_RETRY_MS = 60_000;
const LAZY_FAILURES_MAX = 10_000;

/** Whether the lazy path should leave this tenant alone for now (its last attempt here failed). */
export const lazyRetryWaits = (tenantId: string) => (lazyFailures.get(tenantId) ?? 0) > Date.now();

/** The lazy path's attempt, on a tenant's request: a failure is logged and not retried for a minute. */
export async function migrateTenantLazily(
  env: Env,
  tenant: { id: string; slug: string },
  d1: D1Database,
): Promise<SchemaOutcome> {
  const outcome = await migrateTenantSchema(env, tenant.id, d1);
  if (!outcome.error) {
    lazyFailures.delete(tenant.id);
    return outcome;
  }
  console.error(JSON.stringify({ level: "error", message: `tenant ${tenant.slug}: migration failed: ${outcome.error}` }));
  if (lazyFailures.size >= LAZY_FAILURES_MAX) lazyFailures.delete(lazyFailures.keys().next().value!);
  lazyFailures.set(tenant.id, Date.now() + LAZY_RETRY_MS);
  return outcome;
}

/**
 * Writes an attempt's outcome to CONTROL. The version only grows (migrations are only ever
 * added), so a slower writer that saw an older state cannot move a tenant back.
 */
export async function recordSchemaOutcome(env: Env, tenantId: string, outcome: SchemaOutcome): Promise<void> {
  await drizzle(env.CONTROL)
    .update(tenants)
    .set({
      ...(outcome.after === null ? {} : { schemaVersion: sql`max(${tenants.schemaVersion}, ${outcome.after})` }),
      migrationAttemptedAt: new Date().toISOString(),
      migrationError: outcome.error,
    })
    .where(eq(tenants.id, tenantId));
}
