// The Repo Durable Object: the one authority for a repository's refs, HEAD and catalog of packs,
// and the bookkeeping of resumable imports. Every change is one SQLite transaction; ref updates
// compare-and-swap on each ref's old value.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { ZERO_OID } from "../git/oid";

export interface PackEntry {
  name: string;
  objects: number;
  bytes: number;
  createdAt: number;
  /** Hash of the sorted ref tips whose closure is exactly this pack's objects (clone fast path). */
  closure?: string | null;
}

export interface RefEntry {
  name: string;
  oid: string;
  /** What an annotated tag finally points at. */
  peeled?: string | null;
}

export interface RepoSnapshot {
  /** Increases with every committed change; caches of refs are validated against it. */
  version: number;
  /** The ref HEAD points at (e.g. refs/heads/main), whether or not that ref exists yet. */
  head: string;
  refs: RefEntry[];
  packs: PackEntry[];
}

export interface RefUpdate {
  name: string;
  /** Expected current value; ZERO_OID for "must not exist". */
  old: string;
  /** New value; ZERO_OID deletes the ref. */
  new: string;
  peeled?: string | null;
}

export type RefUpdateResult = { name: string; ok: true } | { name: string; ok: false; reason: string };

export interface ImportRecord {
  id: string;
  key: string;
  uploadId: string;
  size: number;
  partSize: number;
  checksum: string;
  /** Part number -> etag of the parts uploaded so far. */
  parts: Record<string, string>;
  /** Refs the imported pack brings, and where HEAD should point. */
  refs: { name: string; oid: string }[];
  head: string;
  createdAt: number;
}

const DEFAULT_HEAD = "refs/heads/main";

/** Schema changes of the object's own SQLite database, applied in order on start. */
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS refs (name TEXT PRIMARY KEY, oid TEXT NOT NULL, peeled TEXT);
   CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE IF NOT EXISTS packs (
     name TEXT PRIMARY KEY, objects INTEGER NOT NULL, bytes INTEGER NOT NULL,
     created_at INTEGER NOT NULL, closure TEXT, retired_at INTEGER
   );
   CREATE TABLE IF NOT EXISTS imports (id TEXT PRIMARY KEY, record TEXT NOT NULL);`,
];

export class RepoObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.storage.transactionSync(() => {
      this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      const applied = Number(this.meta("schema") ?? "0");
      for (let v = applied; v < SCHEMA.length; v++) this.sql.exec(SCHEMA[v]!);
      if (applied < SCHEMA.length) this.setMeta("schema", String(SCHEMA.length));
    });
  }

  private meta(key: string): string | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row ? row.value : null;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value);
  }

  private version(): number {
    return Number(this.meta("version") ?? "0");
  }

  private bumpVersion(): number {
    const version = this.version() + 1;
    this.setMeta("version", String(version));
    return version;
  }

  snapshot(): RepoSnapshot {
    return {
      version: this.version(),
      head: this.meta("head") ?? DEFAULT_HEAD,
      refs: this.sql
        .exec<{ name: string; oid: string; peeled: string | null }>("SELECT name, oid, peeled FROM refs ORDER BY name")
        .toArray(),
      packs: this.sql
        .exec<{ name: string; objects: number; bytes: number; created_at: number; closure: string | null }>(
          "SELECT name, objects, bytes, created_at, closure FROM packs WHERE retired_at IS NULL ORDER BY created_at DESC, name",
        )
        .toArray()
        .map((p) => ({ name: p.name, objects: p.objects, bytes: p.bytes, createdAt: p.created_at, closure: p.closure })),
    };
  }

  /**
   * Applies ref updates with compare-and-swap on each old value, registering the pack that
   * carries their objects in the same transaction. With `atomic`, one failure fails all.
   */
  update(
    updates: RefUpdate[],
    opts: { atomic?: boolean; pack?: PackEntry; headIfEmpty?: string } = {},
  ): { version: number; results: RefUpdateResult[] } {
    return this.ctx.storage.transactionSync(() => {
      const current = (name: string) =>
        this.sql.exec<{ oid: string }>("SELECT oid FROM refs WHERE name = ?", name).toArray()[0]?.oid ?? ZERO_OID;
      const results: RefUpdateResult[] = updates.map((u) =>
        current(u.name) === u.old ? { name: u.name, ok: true } : { name: u.name, ok: false, reason: "stale info" },
      );
      if (opts.atomic && results.some((r) => !r.ok)) {
        return {
          version: this.version(),
          results: results.map((r) => (r.ok ? { name: r.name, ok: false, reason: "atomic push failed" } : r)),
        };
      }
      const applied = updates.filter((_, i) => results[i]!.ok);
      if (applied.length === 0 && !opts.pack) return { version: this.version(), results };
      const wasEmpty = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM refs").one().n === 0;
      for (const u of applied) {
        if (u.new === ZERO_OID) this.sql.exec("DELETE FROM refs WHERE name = ?", u.name);
        else {
          this.sql.exec(
            "INSERT INTO refs (name, oid, peeled) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET oid = excluded.oid, peeled = excluded.peeled",
            u.name,
            u.new,
            u.peeled ?? null,
          );
        }
      }
      if (opts.pack) {
        this.sql.exec(
          "INSERT OR IGNORE INTO packs (name, objects, bytes, created_at, closure) VALUES (?, ?, ?, ?, ?)",
          opts.pack.name,
          opts.pack.objects,
          opts.pack.bytes,
          opts.pack.createdAt,
          opts.pack.closure ?? null,
        );
      }
      if (wasEmpty && opts.headIfEmpty) this.setMeta("head", opts.headIfEmpty);
      return { version: this.bumpVersion(), results };
    });
  }

  setHead(ref: string): number {
    return this.ctx.storage.transactionSync(() => {
      this.setMeta("head", ref);
      return this.bumpVersion();
    });
  }

  /** Imports: an upload in progress is found again by its pack checksum (resume). */
  findImport(checksum: string): ImportRecord | null {
    for (const row of this.sql.exec<{ record: string }>("SELECT record FROM imports").toArray()) {
      const rec = JSON.parse(row.record) as ImportRecord;
      if (rec.checksum === checksum) return rec;
    }
    return null;
  }

  getImport(id: string): ImportRecord | null {
    const row = this.sql.exec<{ record: string }>("SELECT record FROM imports WHERE id = ?", id).toArray()[0];
    return row ? (JSON.parse(row.record) as ImportRecord) : null;
  }

  saveImport(record: ImportRecord): void {
    this.sql.exec(
      "INSERT INTO imports (id, record) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET record = excluded.record",
      record.id,
      JSON.stringify(record),
    );
  }

  recordPart(id: string, part: number, etag: string): ImportRecord | null {
    return this.ctx.storage.transactionSync(() => {
      const rec = this.getImport(id);
      if (!rec) return null;
      rec.parts[String(part)] = etag;
      this.saveImport(rec);
      return rec;
    });
  }

  dropImport(id: string): void {
    this.sql.exec("DELETE FROM imports WHERE id = ?", id);
  }

  /** Forgets everything (the repository's project or tenant is being deleted). */
  async destroy(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
