// The Repo Durable Object: the one authority for a repository's refs, HEAD and catalog of packs.
// Every change is one SQLite transaction with compare-and-swap on each ref's old value.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

export const ZERO_OID = "0000000000000000000000000000000000000000";

export interface PackEntry {
  name: string;
  objects: number;
  bytes: number;
  createdAt: number;
}

export interface RepoSnapshot {
  /** Increases with every committed change; caches of refs are validated against it. */
  version: number;
  /** The ref HEAD points at (e.g. refs/heads/main), whether or not that ref exists yet. */
  head: string;
  refs: { name: string; oid: string }[];
  packs: PackEntry[];
}

export interface RefUpdate {
  name: string;
  /** Expected current value; ZERO_OID for "must not exist". */
  old: string;
  /** New value; ZERO_OID deletes the ref. */
  new: string;
}

export type RefUpdateResult = { name: string; ok: true } | { name: string; ok: false; reason: string };

const DEFAULT_HEAD = "refs/heads/main";

export class RepoObject extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS refs (name TEXT PRIMARY KEY, oid TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS packs (
        name TEXT PRIMARY KEY, objects INTEGER NOT NULL, bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL, retired_at INTEGER
      );
    `);
  }

  private meta(key: string): string | null {
    const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
    return row ? row.value : null;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value);
  }

  private bumpVersion(): number {
    const version = Number(this.meta("version") ?? "0") + 1;
    this.setMeta("version", String(version));
    return version;
  }

  snapshot(): RepoSnapshot {
    return {
      version: Number(this.meta("version") ?? "0"),
      head: this.meta("head") ?? DEFAULT_HEAD,
      refs: this.sql.exec<{ name: string; oid: string }>("SELECT name, oid FROM refs ORDER BY name").toArray(),
      packs: this.sql
        .exec<{ name: string; objects: number; bytes: number; created_at: number }>(
          "SELECT name, objects, bytes, created_at FROM packs WHERE retired_at IS NULL ORDER BY created_at DESC, name",
        )
        .toArray()
        .map((p) => ({ name: p.name, objects: p.objects, bytes: p.bytes, createdAt: p.created_at })),
    };
  }

  /**
   * Applies ref updates with compare-and-swap on each old value, optionally registering the pack
   * that carries their objects in the same transaction. With `atomic`, one failure fails all.
   */
  update(updates: RefUpdate[], opts: { atomic?: boolean; pack?: PackEntry; setHeadIfUnborn?: string } = {}): {
    version: number;
    results: RefUpdateResult[];
  } {
    return this.ctx.storage.transactionSync(() => {
      const current = (name: string) =>
        this.sql.exec<{ oid: string }>("SELECT oid FROM refs WHERE name = ?", name).toArray()[0]?.oid ?? ZERO_OID;
      const results: RefUpdateResult[] = updates.map((u) =>
        current(u.name) === u.old ? { name: u.name, ok: true } : { name: u.name, ok: false, reason: "stale info" },
      );
      const failed = results.some((r) => !r.ok);
      if (opts.atomic && failed) {
        return {
          version: Number(this.meta("version") ?? "0"),
          results: results.map((r) => (r.ok ? { name: r.name, ok: false, reason: "atomic push failed" } : r)),
        };
      }
      const applied = updates.filter((_, i) => results[i]!.ok);
      if (applied.length === 0 && !opts.pack) return { version: Number(this.meta("version") ?? "0"), results };
      const wasEmpty = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM refs").one().n === 0;
      for (const u of applied) {
        if (u.new === ZERO_OID) this.sql.exec("DELETE FROM refs WHERE name = ?", u.name);
        else this.sql.exec("INSERT INTO refs (name, oid) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET oid = excluded.oid", u.name, u.new);
      }
      if (opts.pack) {
        this.sql.exec(
          "INSERT OR IGNORE INTO packs (name, objects, bytes, created_at) VALUES (?, ?, ?, ?)",
          opts.pack.name,
          opts.pack.objects,
          opts.pack.bytes,
          opts.pack.createdAt,
        );
      }
      if (wasEmpty && opts.setHeadIfUnborn) this.setMeta("head", opts.setHeadIfUnborn);
      return { version: this.bumpVersion(), results };
    });
  }

  setHead(ref: string): number {
    return this.ctx.storage.transactionSync(() => {
      this.setMeta("head", ref);
      return this.bumpVersion();
    });
  }

  /** Forgets everything (the repository's project or tenant is being deleted). */
  async destroy(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
