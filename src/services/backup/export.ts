// Exports one tenant as a streamed tar: its record, database rows page by page, live packs and
// every other R2 object under its prefix, each repository's refs, and a manifest of checksums last.
import type { Env } from "../../env";
import { doNames, r2Keys } from "../../storage/keys";
import type { TenantRecord } from "../../storage/directory";
import { getTenant } from "../tenants";
import { ForgeError } from "../../utils/errors";
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  encodeValue,
  entryNames,
  StreamHash,
  type Manifest,
  type ManifestEntry,
  type RepoEntry,
  type SchemaEntry,
  type TenantEntry,
} from "./format";
import { endOfArchive, entryHeader, padding, smallEntry } from "./tar";
import { appliedMigrations, dataTables, PAGE_BYTES, tableRows, tenantHandle } from "./tables";

const encoder = new TextEncoder();

/**
 * R2 keys under a repository that a restore does not need: derived data (rebuilt on demand),
 * uploads in flight, and packs the repository no longer lists (retired or orphaned).
 */
function skippedRepoKey(relative: string, livePacks: Map<string, Set<string>>): boolean {
  const m = /^r\/([^/]+)\/(.*)$/.exec(relative);
  if (!m) return false;
  const [, repoId, rest] = m as unknown as [string, string, string];
  if (rest.startsWith("derived/") || rest.startsWith("incoming/")) return true;
  const pack = /^objects\/pack\/(.+)\.(pack|idx)$/.exec(rest);
  return !!pack && !livePacks.get(repoId)?.has(pack[1]!);
}

/** The tenant to export (404 if there is none), checked before any byte is sent. */
export async function tenantToExport(env: Env, slug: string): Promise<TenantRecord> {
  const tenant = await getTenant(env, slug);
  if (tenant.status === "provisioning") throw new ForgeError("conflict", `tenant ${slug} is still being set up`);
  tenantHandle(env, tenant);
  return tenant;
}

/** The archive's bytes, produced as they are read (pull-driven: memory stays at one chunk or page). */
export function exportStream(env: Env, tenant: TenantRecord, now = new Date()): ReadableStream<Uint8Array> {
  const chunks = archiveChunks(env, tenant, now);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        await chunks.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

async function* archiveChunks(env: Env, tenant: TenantRecord, now: Date): AsyncGenerator<Uint8Array> {
  const mtime = now.getTime();
  const entries: ManifestEntry[] = [];
  async function* json(name: string, value: unknown): AsyncGenerator<Uint8Array> {
    const data = encoder.encode(JSON.stringify(value));
    const hash = new StreamHash();
    await hash.update(data);
    entries.push({ name, size: data.length, sha256: await hash.hex() });
    yield* smallEntry(name, data, mtime);
  }

  const db = tenantHandle(env, tenant);
  const tenantEntry: TenantEntry = {
    id: tenant.id,
    slug: tenant.slug,
    name: tenant.name,
    hosts: tenant.hosts,
    plan: tenant.plan,
  };
  yield* json(entryNames.tenant, tenantEntry);
  const tables = await dataTables(db);
  const migrations = await appliedMigrations(db);
  const schema: SchemaEntry = { version: migrations.length, migrations, tables };
  yield* json(entryNames.schema, schema);

  for (const table of tables) {
    let page = 0;
    let lines: string[] = [];
    let bytes = 0;
    const flush = async function* () {
      if (lines.length === 0) return;
      const name = entryNames.rows(table, ++page);
      const data = encoder.encode(`${lines.join("\n")}\n`);
      lines = [];
      bytes = 0;
      const hash = new StreamHash();
      await hash.update(data);
      entries.push({ name, size: data.length, sha256: await hash.hex() });
      yield* smallEntry(name, data, mtime);
    };
    for await (const rows of tableRows(db, table)) {
      for (const row of rows) {
        const line = JSON.stringify(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, encodeValue(v)])));
        lines.push(line);
        bytes += line.length;
        if (bytes >= PAGE_BYTES) yield* flush();
      }
      yield* flush();
    }
  }

  // Repositories: the snapshot first (it says which packs are live), the objects, then the refs.
  const repoIds = tables.includes("projects")
    ? (await db.prepare("SELECT repo_id FROM projects ORDER BY id").all<{ repo_id: string }>()).results.map((r) => r.repo_id)
    : [];
  const repos: RepoEntry[] = [];
  const livePacks = new Map<string, Set<string>>();
  for (const repoId of repoIds) {
    const snap = await env.REPO.get(env.REPO.idFromName(doNames.repo(tenant.id, repoId))).snapshot();
    repos.push({ repoId, head: snap.head, refs: snap.refs, packs: snap.packs, purges: snap.purges ?? 0 });
    livePacks.set(repoId, new Set(snap.packs.map((p) => p.name)));
  }

  const prefix = r2Keys.tenantPrefix(tenant.id);
  let cursor: string | undefined;
  do {
    const listed = await env.OBJECTS.list({ prefix, cursor, limit: 1000 });
    for (const listedObject of listed.objects) {
      const relative = listedObject.key.slice(prefix.length);
      if (skippedRepoKey(relative, livePacks)) continue;
      const object = await env.OBJECTS.get(listedObject.key);
      if (!object) continue; // deleted since the listing (a replaced avatar): nothing to keep
      const name = entryNames.object(relative);
      yield* entryHeader(name, object.size, mtime);
      const hash = new StreamHash();
      const reader = object.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        await hash.update(value);
        yield value;
      }
      if (hash.size !== object.size) throw new Error(`R2 object ${listedObject.key} changed size while it was read`);
      const pad = padding(object.size);
      if (pad.length) yield pad;
      entries.push({
        name,
        size: object.size,
        sha256: await hash.hex(),
        ...(object.httpMetadata?.contentType ? { contentType: object.httpMetadata.contentType } : {}),
        ...(object.customMetadata && Object.keys(object.customMetadata).length ? { customMetadata: object.customMetadata } : {}),
      });
    }
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);

  for (const repo of repos) yield* json(entryNames.repo(repo.repoId), repo);

  const manifest: Manifest = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    tenant: { id: tenant.id, slug: tenant.slug },
    schemaVersion: schema.version,
    createdAt: now.toISOString(),
    entries,
  };
  yield* smallEntry(entryNames.manifest, encoder.encode(JSON.stringify(manifest)), mtime);
  yield endOfArchive();
}
