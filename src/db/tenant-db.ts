// Opens a tenant's database with drizzle; every tenant query goes through one of these handles.
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import type { Env } from "../env";
import * as core from "./schema";
import * as downloads from "./downloads-schema";
import * as wiki from "./wiki-schema";
import * as reviews from "./reviews-schema";
import * as notifications from "./notifications-schema";
import * as webhooks from "./webhooks-schema";
import { sqliteD1 } from "./tenant-store-client";
import type { TenantDatabase } from "./tenant-store";

/** Every table of a tenant database, for drizzle's relational queries. */
const schema = { ...core, ...downloads, ...wiki, ...reviews, ...notifications, ...webhooks };

export type TenantDb = DrizzleD1Database<typeof schema>;

/**
 * The tenant record's `database` of a tenant whose data lives in a SQLite Durable Object of
 * TENANT_DB: this prefix, then the object's name (the tenant id; unique, as the column is). Any
 * other value names a D1 binding: tenants made before (docs/deploy.md, "Tenant databases").
 */
export const TENANT_STORE_PREFIX = "do:";

/** Bound parameters one statement may carry in a tenant database (Durable Object SQLite: 100). */
export const MAX_BOUND_PARAMETERS = 100;

export const openTenantDb = (d1: D1Database): TenantDb => drizzle(d1, { schema });

/**
 * A handle that opens the database on first use. Building drizzle's relational schema costs more
 * CPU than a cached page: requests answered from caches never pay for it.
 */
export function lazyTenantDb(d1: D1Database): TenantDb {
  let db: TenantDb | null = null;
  return new Proxy({} as TenantDb, {
    get(_target, prop) {
      db ??= openTenantDb(d1);
      const value = Reflect.get(db, prop, db) as unknown;
      return typeof value === "function" ? value.bind(db) : value;
    },
  });
}

export const isD1 = (value: unknown): value is D1Database =>
  !!value && typeof (value as D1Database).prepare === "function" && typeof (value as D1Database).batch === "function";

/**
 * The one way to a tenant's database (D1-shaped), from its record: its Durable Object, or a D1
 * binding of this Worker for a tenant made before. Null when there is none (not bound here).
 */
export function tenantD1(env: Env, tenant: { id: string; database: string | null }): D1Database | null {
  if (!tenant.database) return null;
  const store = tenantStore(env, tenant.database);
  if (store) return sqliteD1(store);
  const bound = env[tenant.database];
  return isD1(bound) ? bound : null;
}

/** The Durable Object of a tenant database named `do:<name>`; null for any other `database`. */
export function tenantStore(env: Env, database: string): DurableObjectStub<TenantDatabase> | null {
  if (!database.startsWith(TENANT_STORE_PREFIX) || !env.TENANT_DB) return null;
  return env.TENANT_DB.get(env.TENANT_DB.idFromName(database.slice(TENANT_STORE_PREFIX.length)));
}
