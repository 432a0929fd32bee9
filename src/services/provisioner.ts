// Creates and drops tenant databases. Three ways, chosen from the environment:
// - local: the local runner's PROVISIONER service hands out a D1 binding it keeps in reserve;
// - pool: pre-provisioned bindings listed in TENANT_DB_POOL, first free one wins;
// - cloudflare: a D1 database created through Cloudflare's API and bound to this Worker.
import type { Env } from "../env";
import { tenantDatabaseBinding } from "../storage/keys";
import { ForgeError } from "../utils/errors";
import { isD1 } from "../db/tenant-db";

export interface Provisioner {
  readonly kind: "local" | "pool" | "cloudflare";
  /** Returns the binding name that will hold the tenant's database (possibly not bound yet). */
  create(tenantId: string, taken: ReadonlySet<string>): Promise<string>;
  /** Drops the database behind `binding` (its data is gone afterwards). */
  drop(binding: string): Promise<void>;
}

export function provisionerFor(env: Env): Provisioner {
  if (env.PROVISIONER) return localProvisioner(env, env.PROVISIONER);
  if (env.TENANT_DB_POOL) return poolProvisioner(env);
  if (env.CF_ACCOUNT_ID && env.CF_API_TOKEN && env.CF_SCRIPT_NAME) return cloudflareProvisioner(env);
  throw new ForgeError(
    "unavailable",
    "no way to create tenant databases: set TENANT_DB_POOL or the Cloudflare API settings (docs/deploy.md)",
  );
}

/** Drops every table of a tenant database, so that no data outlives its tenant. */
async function emptyDatabase(db: unknown): Promise<void> {
  if (!isD1(db)) return;
  const { results } = await db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")
    .all<{ name: string }>();
  if (results.length === 0) return;
  await db.batch([
    db.prepare("PRAGMA defer_foreign_keys = on"),
    ...results.map((r) => db.prepare(`DROP TABLE IF EXISTS "${r.name.replace(/"/g, '""')}"`)),
  ]);
}

function localProvisioner(env: Env, service: Fetcher): Provisioner {
  return {
    kind: "local",
    async create(tenantId) {
      const res = await service.fetch("http://provisioner/databases", {
        method: "POST",
        body: JSON.stringify({ tenantId }),
      });
      if (!res.ok) throw new ForgeError("unavailable", `could not create a database: ${await res.text()}`);
      return ((await res.json()) as { binding: string }).binding;
    },
    async drop(binding) {
      await emptyDatabase(env[binding]);
      await service.fetch(`http://provisioner/databases/${encodeURIComponent(binding)}`, { method: "DELETE" });
    },
  };
}

function poolProvisioner(env: Env): Provisioner {
  const pool = (env.TENANT_DB_POOL ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    kind: "pool",
    async create(_tenantId, taken) {
      const free = pool.find((b) => !taken.has(b));
      if (!free) throw new ForgeError("unavailable", `all ${pool.length} pooled tenant databases are taken`);
      return free;
    },
    // A pooled database goes back to the pool empty.
    drop: (binding) => emptyDatabase(env[binding]),
  };
}

/**
 * Creates a D1 database through Cloudflare's API and adds its binding to this Worker's settings,
 * which deploys a new version of the Worker; requests served by that version see the binding and
 * finish the tenant's set-up (docs/deploy.md). Not exercised by the test suite (no account here).
 */
function cloudflareProvisioner(env: Env): Provisioner {
  const api = `https://api.cloudflare.com/client/v4/accounts/${env.CF_ACCOUNT_ID}`;
  const headers = { authorization: `Bearer ${env.CF_API_TOKEN}`, "content-type": "application/json" };
  const call = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(`${api}${path}`, { ...init, headers: { ...headers, ...(init.headers ?? {}) } });
    const body = (await res.json()) as { success: boolean; result: T; errors?: { message: string }[] };
    if (!body.success) {
      throw new ForgeError("unavailable", `Cloudflare API ${path}: ${body.errors?.map((e) => e.message).join("; ")}`);
    }
    return body.result;
  };
  type Binding = { type: string; name: string; id?: string };
  const updateBindings = async (change: (bindings: Binding[]) => Binding[]) => {
    const script = encodeURIComponent(env.CF_SCRIPT_NAME!);
    const settings = await call<{ bindings: Binding[] }>(`/workers/scripts/${script}/settings`);
    const form = new FormData();
    form.set("settings", JSON.stringify({ bindings: change(settings.bindings) }));
    const res = await fetch(`${api}/workers/scripts/${script}/settings`, {
      method: "PATCH",
      headers: { authorization: headers.authorization },
      body: form,
    });
    if (!res.ok) throw new ForgeError("unavailable", `Cloudflare API settings update failed: ${res.status}`);
  };
  return {
    kind: "cloudflare",
    async create(tenantId) {
      const binding = tenantDatabaseBinding(tenantId);
      const db = await call<{ uuid: string }>("/d1/database", {
        method: "POST",
        body: JSON.stringify({ name: `edgeforge-${tenantId}` }),
      });
      await updateBindings((bindings) => [...bindings, { type: "d1", name: binding, id: db.uuid }]);
      return binding;
    },
    async drop(binding) {
      let id: string | undefined;
      await updateBindings((bindings) => {
        id = bindings.find((b) => b.name === binding)?.id;
        return bindings.filter((b) => b.name !== binding);
      });
      if (id) await call(`/d1/database/${id}`, { method: "DELETE" });
    },
  };
}
