// Restores a tenant from a backup archive: stages the upload in R2, verifies it whole, creates the
// tenant, then its database rows, R2 objects and repositories; on any failure deletes it again.
import type { Env } from "../../env";
import { tenantMigrationsOf } from "../tenant-schema";
import { migrate } from "../../db/migrate";
import type { TenantRecord } from "../../storage/directory";
import { backupKeys, doNames, r2Keys } from "../../storage/keys";
import { randomId } from "../../utils/crypto";
import { badRequest, ForgeError } from "../../utils/errors";
import { audit, control, createTenant, deleteTenant, setSuspended } from "../tenants";
import { auditLog } from "../../db/control-schema";
import { decodeValue, OBJECT_ENTRY, REPO_ENTRY, ROWS_ENTRY, type RepoEntry } from "./format";
import { badArchive, readAll, readTar } from "./tar";
import { dataTables, emptyTenantDatabase, insertRows, PAGE_BYTES, tenantHandle } from "./tables";
import { JSON_ENTRY_LIMIT, verifyArchive, type VerifiedArchive } from "./verify";

export interface ImportOptions {
  /** Restore under this slug instead of the archive's. */
  slug?: string;
  /** Restore with these hosts instead of the archive's. */
  hosts?: string[];
}

export interface ImportResult {
  tenant: TenantRecord;
  rows: number;
  objects: number;
  repositories: number;
}

const decoder = new TextDecoder();
const RESTORING = "being restored from a backup";

/** Writes `length` bytes of `body` to R2 (a body that ends early or runs long is refused). */
async function putStream(
  bucket: R2Bucket,
  key: string,
  length: number,
  chunks: AsyncIterable<Uint8Array>,
  options?: R2PutOptions,
): Promise<void> {
  const fixed = new FixedLengthStream(length);
  const writing = bucket.put(key, fixed.readable, options);
  const writer = fixed.writable.getWriter();
  try {
    for await (const chunk of chunks) await writer.write(chunk);
    await writer.close();
  } catch (err) {
    await writer.abort(err).catch(() => undefined);
    await writing.catch(() => undefined);
    throw err;
  }
  await writing;
}

async function* streamChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

async function staged(env: Env, key: string): Promise<ReadableStream<Uint8Array>> {
  const object = await env.OBJECTS.get(key);
  if (!object) throw new ForgeError("internal", "the staged archive vanished during the import");
  return object.body;
}

/**
 * Imports the archive in `body` (`length` bytes). 400 for a broken archive, 409 when the slug or a
 * host is taken; in both cases, and on any other failure, no tenant is left behind.
 */
export async function importTenant(
  env: Env,
  body: ReadableStream<Uint8Array>,
  length: number,
  options: ImportOptions,
  actor: string,
): Promise<ImportResult> {
  const key = backupKeys.staging(randomId(16));
  try {
    try {
      await putStream(env.OBJECTS, key, length, streamChunks(body));
    } catch {
      throw badRequest(`the upload ended before its ${length} bytes (Content-Length) arrived; send the whole archive again`);
    }
  } catch (err) {
    await env.OBJECTS.delete(key);
    throw err;
  }
  return restoreStaged(env, key, options, actor);
}

/** Verifies and restores the archive staged at `key` (uploaded whole or in parts), then deletes it. */
export async function restoreStaged(env: Env, key: string, options: ImportOptions, actor: string): Promise<ImportResult> {
  try {
    const archive = await verifyArchive(await staged(env, key), tenantMigrationsOf(env));
    return await restore(env, key, archive, options, actor);
  } finally {
    await env.OBJECTS.delete(key);
  }
}

async function restore(
  env: Env,
  stagingKey: string,
  archive: VerifiedArchive,
  options: ImportOptions,
  actor: string,
): Promise<ImportResult> {
  const slug = options.slug ?? archive.tenant.slug;
  const hosts = options.hosts?.length ? options.hosts : archive.tenant.hosts;
  // The creation service checks slug and hosts (409) before it creates anything. Its owner account
  // goes with the emptied database: the archive brings the real accounts.
  const created = await createTenant(
    env,
    {
      slug,
      name: archive.tenant.name,
      hosts,
      owner: { username: "restore", email: "restore@invalid" },
      plan: archive.tenant.plan,
    },
    actor,
  );
  const restoredRepos: string[] = [];
  try {
    await setSuspended(env, slug, true, RESTORING, actor);
    const db = tenantHandle(env, created.tenant);
    await emptyTenantDatabase(db);
    await migrate(db, tenantMigrationsOf(env).slice(0, archive.schema.version));
    const tables = new Set(await dataTables(db));
    const oldPrefix = r2Keys.tenantPrefix(archive.tenant.id);
    const newPrefix = r2Keys.tenantPrefix(created.tenant.id);
    // Stored R2 keys (avatars, attachments, whatever other areas keep) name the tenant's prefix.
    const value = (v: unknown) =>
      typeof v === "string" && v.startsWith(oldPrefix) ? newPrefix + v.slice(oldPrefix.length) : decodeValue(v);
    let rows = 0;
    let objects = 0;
    for await (const entry of readTar(await staged(env, stagingKey))) {
      const rowsOf = ROWS_ENTRY.exec(entry.name);
      const objectOf = OBJECT_ENTRY.exec(entry.name);
      const repoOf = REPO_ENTRY.exec(entry.name);
      if (rowsOf) {
        const table = rowsOf[1]!;
        if (!tables.has(table)) throw badArchive(`it has rows of table ${table}, which its schema version does not have`);
        const lines = decoder
          .decode(await readAll(entry, PAGE_BYTES * 2))
          .split("\n")
          .filter(Boolean);
        let parsed: Record<string, unknown>[];
        try {
          parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
          await insertRows(db, table, parsed, value);
        } catch (err) {
          throw badArchive(`the rows of ${entry.name} could not be restored (${(err as Error).message})`);
        }
        rows += parsed.length;
      } else if (objectOf) {
        const meta = archive.entries.get(entry.name);
        await putStream(env.OBJECTS, newPrefix + objectOf[1]!, entry.size, entry.body, {
          ...(meta?.contentType ? { httpMetadata: { contentType: meta.contentType } } : {}),
          ...(meta?.customMetadata ? { customMetadata: meta.customMetadata } : {}),
        });
        objects++;
      } else if (repoOf) {
        const repo = JSON.parse(decoder.decode(await readAll(entry, JSON_ENTRY_LIMIT))) as RepoEntry;
        if (repo.repoId !== repoOf[1]) throw badArchive(`${entry.name} describes repository ${repo.repoId}`);
        restoredRepos.push(repo.repoId);
        await env.REPO.get(env.REPO.idFromName(doNames.repo(created.tenant.id, repo.repoId))).restore({
          repo: { tenantId: created.tenant.id, repoId: repo.repoId },
          head: repo.head,
          refs: repo.refs,
          packs: repo.packs,
          purges: repo.purges,
        });
      }
    }
    await migrate(db, tenantMigrationsOf(env));
    const tenant = await setSuspended(env, slug, false, null, actor);
    const from = { slug: archive.tenant.slug, id: archive.tenant.id, exportedAt: archive.manifest.createdAt };
    await control(env)
      .insert(auditLog)
      .values(audit(actor, "tenant.restore", tenant.id, from));
    return { tenant, rows, objects, repositories: restoredRepos.length };
  } catch (err) {
    await rollBack(env, created.tenant, restoredRepos, actor);
    throw err;
  }
}

/** Deletes the half-restored tenant: its repositories' objects, then the tenant with all it owns. */
async function rollBack(env: Env, tenant: TenantRecord, repoIds: string[], actor: string): Promise<void> {
  for (const repoId of repoIds) {
    await env.REPO.get(env.REPO.idFromName(doNames.repo(tenant.id, repoId)))
      .destroy()
      .catch(() => undefined);
  }
  // Deleting reads the projects table and drops tables in its own order: hand it a fresh, empty
  // schema rather than a half-restored one.
  const db = tenantHandle(env, tenant);
  await emptyTenantDatabase(db).catch(() => undefined);
  await migrate(db, tenantMigrationsOf(env)).catch(() => undefined);
  await deleteTenant(env, tenant.slug, tenant.slug, actor);
}
