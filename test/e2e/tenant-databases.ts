// Reads the tenant databases of a stopped local forge straight from its state folder (Miniflare
// with the same persisted D1 databases), for checks no API answers: what a migration left behind.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { PROBE_TABLE } from "./fleet-probe";

type D1Database = Awaited<ReturnType<Miniflare["getD1Database"]>>;

/** Tenant id -> binding of its database, as the local provisioner handed them out. */
export function assignedDatabases(stateDir: string): Map<string, string> {
  const list = JSON.parse(readFileSync(join(stateDir, "databases.json"), "utf8")) as { assigned: Record<string, string> };
  return new Map(Object.entries(list.assigned).map(([binding, tenantId]) => [tenantId, binding]));
}

/** Runs `fn` with the databases of a forge that is not running (its state folder must not be in use). */
export async function withTenantDatabases<T>(
  stateDir: string,
  fn: (open: (binding: string) => Promise<D1Database>) => Promise<T>,
): Promise<T> {
  const bindings = [...assignedDatabases(stateDir).values()];
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response(null, { status: 204 }); } }",
    defaultPersistRoot: join(stateDir, "data"),
    d1Databases: Object.fromEntries(bindings.map((b) => [b, b])),
  });
  try {
    await mf.ready;
    return await fn((binding) => mf.getD1Database(binding));
  } finally {
    await mf.dispose();
  }
}

export interface MigrationRecord {
  /** Rows of _forge_migrations, by id. */
  tracked: { id: number; tag: string }[];
  /** Rows of the probe table: how many times the probe migration ran (null: never). */
  probeRuns: number | null;
}

export async function migrationRecord(db: D1Database): Promise<MigrationRecord> {
  const tracked = (await db.prepare("SELECT id, tag FROM _forge_migrations ORDER BY id").all<{ id: number; tag: string }>())
    .results;
  const probe = await db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?").bind(PROBE_TABLE).first();
  const probeRuns = probe
    ? ((await db.prepare(`SELECT count(*) AS n FROM ${PROBE_TABLE}`).first<{ n: number }>())?.n ?? 0)
    : null;
  return { tracked, probeRuns };
}
