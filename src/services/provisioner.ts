// A tenant's storage from birth to deletion. Its database is a SQLite Durable Object named by the
// tenant id (db/tenant-store.ts): nothing external to create, so provisioning has no step that
// could run twice or be lost; deletion destroys the object, the repositories and the R2 objects.
import type { Env } from "../env";
import { isD1, openTenantDb, TENANT_STORE_PREFIX, tenantD1, tenantStore } from "../db/tenant-db";
import type { TenantRecord } from "../storage/directory";
import { doNames, r2Keys } from "../storage/keys";
import { listAllRepoIds } from "./projects";
import { storeTokenHash } from "./tokens";
import { findUserByName } from "./users";

/** The `database` of a new tenant's record: its own Durable Object, which exists on first use. */
export const newTenantDatabase = (tenantId: string): string => `${TENANT_STORE_PREFIX}${tenantId}`;

/** Gives the owner of a set-up tenant one more token (a resumed creation answers with its own). */
export async function storeOwnerToken(env: Env, tenant: TenantRecord, username: string, tokenHash: string): Promise<void> {
  const d1 = tenantD1(env, tenant);
  if (!d1) return;
  const db = openTenantDb(d1);
  const owner = await findUserByName(db, username);
  if (owner) await storeTokenHash(db, owner.id, "initial owner token", tokenHash, "write");
}

/** Drops every table of a D1 database of a tenant made before TENANT_DB, so no data outlives it. */
async function emptyDatabase(db: D1Database): Promise<void> {
  const { results } = await db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")
    .all<{ name: string }>();
  if (results.length === 0) return;
  await db.batch([
    db.prepare("PRAGMA defer_foreign_keys = on"),
    ...results.map((r) => db.prepare(`DROP TABLE IF EXISTS "${r.name.replace(/"/g, '""')}"`)),
  ]);
}

/**
 * Removes everything a tenant owns: its repositories' Durable Objects, its R2 objects, then its
 * database. Each step can run again (a deletion that stopped half-way is finished by asking again).
 */
export async function dropTenantData(env: Env, tenant: TenantRecord): Promise<void> {
  const d1 = tenantD1(env, tenant);
  if (d1 && tenant.schemaVersion > 0) {
    for (const repoId of await listAllRepoIds(openTenantDb(d1))) {
      await env.REPO.get(env.REPO.idFromName(doNames.repo(tenant.id, repoId))).destroy();
    }
  }
  await deletePrefix(env.OBJECTS, r2Keys.tenantPrefix(tenant.id));
  const store = tenant.database ? tenantStore(env, tenant.database) : null;
  if (store) await store.destroy();
  else if (isD1(d1)) {
    await emptyDatabase(d1);
  }
}

async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<void> {
  for (;;) {
    const listed = await bucket.list({ prefix, limit: 1000 });
    if (listed.objects.length === 0) return;
    await bucket.delete(listed.objects.map((o) => o.key));
    if (!listed.truncated) return;
  }
}
