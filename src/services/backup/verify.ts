// Checks a staged backup archive end to end before anything is created from it: every entry's
// size and SHA-256 against the manifest, the manifest last and complete, a schema this build knows.
import type { Migration } from "../../db/migrate";
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  entryNames,
  OBJECT_ENTRY,
  REPO_ENTRY,
  ROWS_ENTRY,
  StreamHash,
  type Manifest,
  type ManifestEntry,
  type SchemaEntry,
  type TenantEntry,
} from "./format";
import { badArchive, readTar } from "./tar";

/** The most a JSON entry (tenant, schema, a repository's refs, the manifest) may hold. */
export const JSON_ENTRY_LIMIT = 64 * 1024 * 1024;

export interface VerifiedArchive {
  tenant: TenantEntry;
  schema: SchemaEntry;
  manifest: Manifest;
  /** Manifest entries by name (R2 objects carry their content type and metadata there). */
  entries: Map<string, ManifestEntry>;
}

const decoder = new TextDecoder();

function parseJson<T>(name: string, bytes: Uint8Array): T {
  try {
    return JSON.parse(decoder.decode(bytes)) as T;
  } catch {
    throw badArchive(`${name} is not valid JSON`);
  }
}

const known = (name: string) =>
  name === entryNames.tenant ||
  name === entryNames.schema ||
  ROWS_ENTRY.test(name) ||
  REPO_ENTRY.test(name) ||
  (OBJECT_ENTRY.test(name) && !name.includes("//"));

function checkSchema(schema: SchemaEntry, tenantMigrations: readonly Migration[]): void {
  if (
    !Number.isInteger(schema.version) ||
    schema.version < 0 ||
    !Array.isArray(schema.migrations) ||
    !Array.isArray(schema.tables)
  )
    throw badArchive("db/schema.json does not describe a schema");
  if (schema.version > tenantMigrations.length)
    throw badArchive(
      `its database is at schema version ${schema.version}, newer than this forge's ${tenantMigrations.length}; upgrade the forge first`,
    );
  schema.migrations.forEach((m, i) => {
    if (m.id !== i || m.tag !== tenantMigrations[i]?.tag)
      throw badArchive(
        `its migration ${i} is "${m.tag}", not this forge's "${tenantMigrations[i]?.tag}": it comes from another build`,
      );
  });
  if (schema.migrations.length !== schema.version)
    throw badArchive("db/schema.json lists a different number of migrations than its version");
}

/** Reads the archive once, hashing every entry; throws a precise 400 at the first problem. */
/** Reads and checks a whole archive against this forge's migrations (`tenantMigrations`: the bundle as the tenants get it). */
export async function verifyArchive(
  body: ReadableStream<Uint8Array>,
  tenantMigrations: readonly Migration[],
): Promise<VerifiedArchive> {
  const seen: ManifestEntry[] = [];
  const seenNames = new Set<string>();
  const kept = new Map<string, Uint8Array>();
  let manifestBytes: Uint8Array | null = null;
  for await (const entry of readTar(body)) {
    if (manifestBytes) throw badArchive(`${entry.name} comes after manifest.json, which must be last`);
    const isManifest = entry.name === entryNames.manifest;
    if (!isManifest && !known(entry.name)) throw badArchive(`it holds ${entry.name}, which is not part of a tenant backup`);
    if (seen.length === 0 && entry.name !== entryNames.tenant) throw badArchive("tenant.json must come first");
    const keep = isManifest || entry.name === entryNames.tenant || entry.name === entryNames.schema;
    if (keep && entry.size > JSON_ENTRY_LIMIT) throw badArchive(`${entry.name} is larger than ${JSON_ENTRY_LIMIT} bytes`);
    const hash = new StreamHash();
    const parts: Uint8Array[] = [];
    for await (const part of entry.body) {
      await hash.update(part);
      if (keep) parts.push(part.slice());
    }
    const sha256 = await hash.hex();
    if (keep) {
      const bytes = new Uint8Array(entry.size);
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      if (isManifest) manifestBytes = bytes;
      else kept.set(entry.name, bytes);
    }
    if (!isManifest && seenNames.has(entry.name)) throw badArchive(`it holds ${entry.name} twice`);
    if (!isManifest) seen.push({ name: entry.name, size: entry.size, sha256 });
    seenNames.add(entry.name);
  }
  if (!manifestBytes) throw badArchive("it has no manifest.json (truncated?)");
  const manifest = parseJson<Manifest>(entryNames.manifest, manifestBytes);
  if (manifest.format !== BACKUP_FORMAT || !Array.isArray(manifest.entries))
    throw badArchive("manifest.json is not an Edgeforge tenant backup manifest");
  if (manifest.version !== BACKUP_VERSION)
    throw badArchive(`it is format version ${manifest.version}; this forge reads version ${BACKUP_VERSION}`);

  const entries = new Map<string, ManifestEntry>();
  for (const e of manifest.entries) entries.set(e.name, e);
  if (entries.size !== manifest.entries.length) throw badArchive("manifest.json lists an entry twice");
  for (const s of seen) {
    const m = entries.get(s.name);
    if (!m) throw badArchive(`${s.name} is not in manifest.json`);
    if (m.size !== s.size) throw badArchive(`${s.name} is ${s.size} bytes; manifest.json says ${m.size}`);
    if (m.sha256 !== s.sha256) throw badArchive(`${s.name} does not match its SHA-256 checksum in manifest.json (corrupted)`);
  }
  if (seen.length !== entries.size) {
    const missing = manifest.entries.find((e) => !seenNames.has(e.name));
    throw badArchive(`${missing?.name ?? "an entry"} is listed in manifest.json but missing from the archive`);
  }

  const tenant = parseJson<TenantEntry>(entryNames.tenant, kept.get(entryNames.tenant)!);
  const schemaBytes = kept.get(entryNames.schema);
  if (!schemaBytes) throw badArchive("it has no db/schema.json");
  const schema = parseJson<SchemaEntry>(entryNames.schema, schemaBytes);
  if (
    typeof tenant.id !== "string" ||
    typeof tenant.slug !== "string" ||
    !Array.isArray(tenant.hosts) ||
    tenant.id !== manifest.tenant?.id
  )
    throw badArchive("tenant.json does not match manifest.json");
  if (manifest.schemaVersion !== schema.version)
    throw badArchive("db/schema.json and manifest.json disagree on the schema version");
  checkSchema(schema, tenantMigrations);
  return { tenant, schema, manifest, entries };
}
