// Drizzle schema of the platform's CONTROL database: the tenant registry, hostnames and the audit log.
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  slug: text("slug").notNull().unique(),
  name: text("name").notNull(),
  /** provisioning | active | suspended | deleting */
  status: text("status").notNull(),
  suspendReason: text("suspend_reason"),
  /** Name of the D1 binding that holds the tenant's data; unique so two tenants never share one. */
  database: text("database").unique(),
  /** JSON Plan (quotas). */
  plan: text("plan").notNull(),
  /** Number of tenant migrations applied to the tenant's database. */
  schemaVersion: integer("schema_version").notNull().default(0),
  /** When the tenant's migrations were last attempted (lazily on a request, or by `forge migrate`). */
  migrationAttemptedAt: text("migration_attempted_at"),
  /** Why that attempt failed; null once one succeeds. */
  migrationError: text("migration_error"),
  /** JSON of the owner account to create once the database exists (password and token already hashed). */
  pendingOwner: text("pending_owner"),
  createdAt: text("created_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
  updatedAt: text("updated_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
});

export const tenantHosts = sqliteTable(
  "tenant_hosts",
  {
    hostname: text("hostname").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id, { onDelete: "cascade" }),
    createdAt: text("created_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
  },
  (t) => [index("tenant_hosts_tenant").on(t.tenantId)],
);

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: text("at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    tenantId: text("tenant_id"),
    detail: text("detail"),
  },
  (t) => [index("audit_log_tenant").on(t.tenantId, t.id)],
);
