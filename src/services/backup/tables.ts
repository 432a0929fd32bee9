// A tenant database as a backup sees it, through its D1-shaped handle only (prepare/batch/all):
// which tables hold data and in what order, their rows page by page, and inserting them back.
import type { Env } from "../../env";
import { tenantD1 } from "../../db/tenant-db";
import type { TenantRecord } from "../../storage/directory";
import { ForgeError } from "../../utils/errors";

/** The migrations' own bookkeeping table: a restore re-creates it by migrating. */
export const MIGRATIONS_TABLE = "_forge_migrations";
/** Rows per page read, and the most a page of JSON lines may grow to before it is cut. */
export const PAGE_ROWS = 500;
export const PAGE_BYTES = 4 * 1024 * 1024;
/** Statements per batch (one transaction each) when rows go back in. */
const INSERT_BATCH = 50;

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The D1-shaped handle of a tenant's database (the one way to it: db/tenant-db.ts). */
export function tenantHandle(env: Env, tenant: TenantRecord): D1Database {
  const d1 = tenantD1(env, tenant);
  if (!d1) throw new ForgeError("unavailable", `tenant ${tenant.slug}'s database is not reachable yet; try again shortly`);
  return d1;
}

interface MasterRow {
  name: string;
  sql: string | null;
}

/**
 * Tables whose rows are the tenant's data, parents before children. Left out: SQLite's and D1's
 * own tables, the migrations table, and full-text indexes (virtual tables and their shadow
 * tables), which the restored rows rebuild through the schema's triggers.
 */
export async function dataTables(db: D1Database): Promise<string[]> {
  const { results } = await db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY rowid")
    .all<MasterRow>();
  const virtual = results.filter((r) => /^CREATE VIRTUAL TABLE/i.test(r.sql ?? "")).map((r) => r.name);
  const tables = results
    .map((r) => r.name)
    .filter(
      (n) =>
        !n.startsWith("sqlite_") &&
        !n.startsWith("_cf_") &&
        n !== MIGRATIONS_TABLE &&
        !virtual.includes(n) &&
        !virtual.some((v) => n.startsWith(`${v}_`)),
    );
  const parents = new Map<string, string[]>();
  for (const t of tables) {
    const { results: fks } = await db.prepare(`PRAGMA foreign_key_list(${quote(t)})`).all<{ table: string }>();
    parents.set(
      t,
      fks.map((f) => f.table).filter((p) => p !== t && tables.includes(p)),
    );
  }
  const ordered: string[] = [];
  const visit = (t: string, path: Set<string>) => {
    if (ordered.includes(t) || path.has(t)) return;
    path.add(t);
    for (const p of parents.get(t) ?? []) visit(p, path);
    path.delete(t);
    ordered.push(t);
  };
  for (const t of tables) visit(t, new Set());
  return ordered;
}

/** The applied migrations, as the migrations table records them. */
export async function appliedMigrations(db: D1Database): Promise<{ id: number; tag: string }[]> {
  const { results } = await db.prepare(`SELECT id, tag FROM ${MIGRATIONS_TABLE} ORDER BY id`).all<{ id: number; tag: string }>();
  return results;
}

/** Rows of one table in rowid order, PAGE_ROWS at a time (keyset paging: each page is one query). */
export async function* tableRows(db: D1Database, table: string): AsyncGenerator<Record<string, unknown>[]> {
  let after = Number.MIN_SAFE_INTEGER;
  for (;;) {
    const { results } = await db
      .prepare(`SELECT rowid AS "__backup_rowid", * FROM ${quote(table)} WHERE rowid > ? ORDER BY rowid LIMIT ?`)
      .bind(after, PAGE_ROWS)
      .all<Record<string, unknown>>();
    if (results.length === 0) return;
    after = results[results.length - 1]!.__backup_rowid as number;
    yield results.map(({ __backup_rowid: _, ...row }) => row);
    if (results.length < PAGE_ROWS) return;
  }
}

/**
 * Drops every trigger and table, leaving an empty database to migrate to the archive's schema
 * version. Triggers go first (a table's triggers may name a full-text table dropped before it),
 * then full-text tables (each takes its shadow tables along), then the rest.
 */
export async function emptyTenantDatabase(db: D1Database): Promise<void> {
  const { results } = await db
    .prepare(
      "SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'trigger') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
    )
    .all<MasterRow & { type: string }>();
  const triggers = results.filter((r) => r.type === "trigger").map((r) => r.name);
  const tables = results.filter((r) => r.type === "table");
  const virtual = tables.filter((r) => /^CREATE VIRTUAL TABLE/i.test(r.sql ?? "")).map((r) => r.name);
  // Children before parents: dropping a table runs an implicit DELETE whose foreign-key check
  // needs the tables it references (SQLite in a Durable Object enforces them; D1 defers them).
  const children = (await dataTables(db)).reverse();
  const rest = tables.map((r) => r.name).filter((n) => !virtual.includes(n) && !virtual.some((v) => n.startsWith(`${v}_`)));
  const plain = [...children, ...rest.filter((n) => !children.includes(n))];
  const drops = [
    ...triggers.map((t) => `DROP TRIGGER IF EXISTS ${quote(t)}`),
    ...virtual.map((t) => `DROP TABLE IF EXISTS ${quote(t)}`),
    ...plain.map((t) => `DROP TABLE IF EXISTS ${quote(t)}`),
  ];
  if (drops.length) await db.batch([db.prepare("PRAGMA defer_foreign_keys = on"), ...drops.map((d) => db.prepare(d))]);
}

/** Inserts rows as they were (ids included), INSERT_BATCH statements per transaction. */
export async function insertRows(
  db: D1Database,
  table: string,
  rows: Record<string, unknown>[],
  value: (v: unknown) => unknown,
): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_BATCH) {
    const statements = rows.slice(i, i + INSERT_BATCH).map((row) => {
      const columns = Object.keys(row);
      return db
        .prepare(`INSERT INTO ${quote(table)} (${columns.map(quote).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`)
        .bind(...columns.map((c) => value(row[c])));
    });
    await db.batch([db.prepare("PRAGMA defer_foreign_keys = on"), ...statements]);
  }
}
