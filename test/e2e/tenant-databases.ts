// Reads the tenant databases of a stopped local forge straight from its state folder, for checks no
// API answers (what a migration left behind): a throwaway Miniflare with the same persisted CONTROL
// database and the same TenantDatabase Durable Object namespace (same worker name and class, so
// the same objects), whose one class runs the SQL it is sent.
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { PROBE_TABLE } from "./fleet-probe";

/** The part of D1's statement interface these checks use. */
export interface SqlDb {
  prepare(sql: string): SqlStatement;
}
interface SqlStatement {
  bind(...params: unknown[]): SqlStatement;
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  run(): Promise<void>;
}

const READER = `
import { DurableObject } from "cloudflare:workers";
export class TenantDatabase extends DurableObject {
  async fetch(request) {
    const { sql, params } = await request.json();
    try {
      return Response.json({ rows: this.ctx.storage.sql.exec(sql, ...params).toArray() });
    } catch (err) {
      return Response.json({ error: String(err) }, { status: 400 });
    }
  }
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/tenants") {
      const { results } = await env.CONTROL.prepare("SELECT id FROM tenants WHERE status <> 'deleting' ORDER BY id").all();
      return Response.json(results.map((r) => r.id));
    }
    const tenant = url.pathname.slice(1);
    return env.TENANT_DB.get(env.TENANT_DB.idFromName(tenant)).fetch(request);
  },
};`;

/** Runs `fn` with the tenant databases of a forge that is not running (its state folder must not be in use). */
export async function withTenantDatabases<T>(
  stateDir: string,
  fn: (open: (tenantId: string) => SqlDb, tenantIds: string[]) => Promise<T>,
): Promise<T> {
  // The same worker name and class as scripts/local/config.ts, so the namespace finds the same objects.
  const mf = new Miniflare({
    name: "edge",
    modules: true,
    script: READER,
    compatibilityDate: "2026-07-01",
    defaultPersistRoot: join(stateDir, "data"),
    d1Databases: { CONTROL: "control" },
    durableObjects: { TENANT_DB: { className: "TenantDatabase", useSQLite: true } },
  });
  const query = async (tenantId: string, sql: string, params: unknown[]) => {
    const res = await mf.dispatchFetch(`http://reader/${encodeURIComponent(tenantId)}`, {
      method: "POST",
      body: JSON.stringify({ sql, params }),
    });
    const body = (await res.json()) as { rows?: unknown[]; error?: string };
    if (body.error) throw new Error(body.error);
    return body.rows ?? [];
  };
  const open = (tenantId: string): SqlDb => ({
    prepare(sql) {
      let params: unknown[] = [];
      const statement: SqlStatement = {
        bind(...p) {
          params = p;
          return statement;
        },
        async all<R>() {
          return { results: (await query(tenantId, sql, params)) as R[] };
        },
        async first<R>() {
          return ((await query(tenantId, sql, params))[0] as R | undefined) ?? null;
        },
        async run() {
          await query(tenantId, sql, params);
        },
      };
      return statement;
    },
  });
  try {
    await mf.ready;
    const ids = (await (await mf.dispatchFetch("http://reader/tenants")).json()) as string[];
    return await fn(open, ids);
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

export async function migrationRecord(db: SqlDb): Promise<MigrationRecord> {
  const tracked = (await db.prepare("SELECT id, tag FROM _forge_migrations ORDER BY id").all<{ id: number; tag: string }>())
    .results;
  const probe = await db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?").bind(PROBE_TABLE).first();
  const probeRuns = probe
    ? ((await db.prepare(`SELECT count(*) AS n FROM ${PROBE_TABLE}`).first<{ n: number }>())?.n ?? 0)
    : null;
  return { tracked, probeRuns };
}
