// Opens a tenant's D1 database with drizzle; every tenant query goes through one of these handles.
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import * as core from "./schema";
import * as downloads from "./downloads-schema";
import * as wiki from "./wiki-schema";

/** Every table of a tenant database, for drizzle's relational queries. */
const schema = { ...core, ...downloads, ...wiki };

export type TenantDb = DrizzleD1Database<typeof schema>;

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
