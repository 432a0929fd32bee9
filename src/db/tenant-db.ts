// Opens a tenant's D1 database with drizzle; every tenant query goes through one of these handles.
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import * as schema from "./schema";

export type TenantDb = DrizzleD1Database<typeof schema>;

export const openTenantDb = (d1: D1Database): TenantDb => drizzle(d1, { schema });

export const isD1 = (value: unknown): value is D1Database =>
  !!value && typeof (value as D1Database).prepare === "function" && typeof (value as D1Database).batch === "function";
