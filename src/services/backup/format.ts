// What a tenant backup archive holds and how its entries are named (docs/storage.md, "Backups").
import type { Plan } from "../../storage/directory";
import type { PackEntry, RefEntry } from "../../repo/snapshot";
import { hex } from "../../utils/crypto";

export const BACKUP_FORMAT = "edgeforge-tenant-backup";
export const BACKUP_VERSION = 1;

/**
 * Entry names, in archive order: the tenant, the database's schema, its rows (tables in
 * foreign-key order, pages in rowid order), the R2 objects, each repository's refs and packs
 * (after its packs, so a restore lists only packs it has written), and the manifest last.
 */
export const entryNames = {
  tenant: "tenant.json",
  schema: "db/schema.json",
  rows: (table: string, page: number) => `db/rows/${table}/${String(page).padStart(6, "0")}.jsonl`,
  object: (relativeKey: string) => `objects/${relativeKey}`,
  repo: (repoId: string) => `repos/${repoId}.json`,
  manifest: "manifest.json",
};

export const ROWS_ENTRY = /^db\/rows\/([A-Za-z0-9_]+)\/\d{6}\.jsonl$/;
export const REPO_ENTRY = /^repos\/([A-Za-z0-9_-]+)\.json$/;
export const OBJECT_ENTRY = /^objects\/(.+)$/;

export interface TenantEntry {
  id: string;
  slug: string;
  name: string;
  hosts: string[];
  plan: Plan;
}

export interface SchemaEntry {
  /** How many of the build's tenant migrations the database had. */
  version: number;
  /** The applied migrations (id and tag), checked against the importing build's. */
  migrations: { id: number; tag: string }[];
  /** Tables in the order their rows appear (foreign-key order). */
  tables: string[];
}

export interface RepoEntry {
  repoId: string;
  head: string;
  refs: RefEntry[];
  packs: PackEntry[];
  purges: number;
}

export interface ManifestEntry {
  name: string;
  size: number;
  sha256: string;
  /** R2 objects: what R2 kept beside the bytes. */
  contentType?: string;
  customMetadata?: Record<string, string>;
}

export interface Manifest {
  format: typeof BACKUP_FORMAT;
  version: number;
  tenant: { id: string; slug: string };
  schemaVersion: number;
  createdAt: string;
  entries: ManifestEntry[];
}

/** SHA-256 computed chunk by chunk (workerd's DigestStream), for entries streamed through. */
export class StreamHash {
  private readonly stream = new crypto.DigestStream("SHA-256");
  private readonly writer = this.stream.getWriter();
  size = 0;

  async update(chunk: Uint8Array): Promise<void> {
    this.size += chunk.length;
    // A copy: the digest stream may take ownership of what it is given, and the chunk goes on.
    await this.writer.write(chunk.slice());
  }

  async hex(): Promise<string> {
    await this.writer.close();
    return hex(await this.stream.digest);
  }
}

/** A database value as JSON: blobs become {"$blob": base64}, everything else is as SQLite gave it. */
export function encodeValue(value: unknown): unknown {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value) || Array.isArray(value)) {
    const bytes =
      value instanceof ArrayBuffer
        ? new Uint8Array(value)
        : Array.isArray(value)
          ? Uint8Array.from(value as number[])
          : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return { $blob: btoa(s) };
  }
  return value;
}

export function decodeValue(value: unknown): unknown {
  if (value && typeof value === "object" && typeof (value as { $blob?: unknown }).$blob === "string") {
    const s = atob((value as { $blob: string }).$blob);
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  }
  return value;
}
