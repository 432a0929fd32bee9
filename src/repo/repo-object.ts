// The Repo Durable Object: the one authority for a repository's refs, HEAD and catalog of packs,
// and the bookkeeping of resumable imports. Every change is one SQLite transaction; ref updates
// compare-and-swap on each ref's old value.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { setHash, ZERO_OID } from "../git/oid";
import {
  COMPACT_AT_PACKS,
  ORPHAN_GRACE_MS,
  RETIRED_GRACE_MS,
  compactPacks,
  deletePacks,
  deleteStaleSpills,
  dropDerivedData,
  storedPacks,
} from "./compaction";
import type { PackEntry, RepoSnapshot } from "./snapshot";
import { writeRestoredRepo, type RestoredRepo } from "./restore";

// Callers read the catalog types from here, beside the object that hands them out.
export type { PackEntry, RefEntry, RepoSnapshot } from "./snapshot";

export interface RefUpdate {
  name: string;
  /** Expected current value; ZERO_OID for "must not exist". */
  old: string;
  /** New value; ZERO_OID deletes the ref. */
  new: string;
  peeled?: string | null;
}

export interface PurgeResult {
  /** Whether anything was rewritten (false: the packs held only what the refs reach). */
  purged: boolean;
  /** Packs retired (deleted from R2 after the grace period). */
  retired: number;
  /** Live packs and their objects afterwards. */
  packs: number;
  objects: number;
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

/**
 * Whether the live packs may hold objects no ref reaches: several packs, one that is not exactly
 * the closure of the current tips, or packs with no refs at all.
 */
function holdsUnreachable(s: RepoSnapshot): boolean {
  if (s.packs.length === 0) return false;
  if (s.refs.length === 0 || s.packs.length > 1) return true;
  return s.packs[0]!.closure !== setHash(s.refs.map((r) => r.oid));
}

const objectCount = (s: RepoSnapshot) => s.packs.reduce((n, p) => n + p.objects, 0);

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
    this.sql.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  private version(): number {
    return Number(this.meta("version") ?? "0");
  }

  private bumpVersion(): number {
    const version = this.version() + 1;
    this.setMeta("version", String(version));
    return version;
  }

  /**
   * The snapshot, unless the caller already holds version `known` (then null): edges cache
   * snapshots and ask only whether theirs is current, which keeps the answer small on
   * repositories with thousands of refs while staying exactly as fresh.
   */
  snapshotUnless(known: number): RepoSnapshot | null {
    return known === this.version() ? null : this.snapshot();
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
      purges: Number(this.meta("purges") ?? "0"),
    };
  }

  /**
   * Applies ref updates with compare-and-swap on each old value, registering the pack that
   * carries their objects in the same transaction. With `atomic`, one failure fails all.
   */
  update(
    updates: RefUpdate[],
    opts: {
      atomic?: boolean;
      pack?: PackEntry;
      headIfEmpty?: string;
      /** Packs the caller's checks relied on; if one was retired meanwhile, nothing is applied. */
      requirePacks?: string[];
      /** Who this repository is (kept for upkeep, which needs its R2 keys). */
      repo?: { tenantId: string; repoId: string };
    } = {},
  ): { version: number; results: RefUpdateResult[] } {
    const outcome = this.ctx.storage.transactionSync(() => {
      if (opts.repo && !this.meta("repo")) this.setMeta("repo", JSON.stringify(opts.repo));
      if (opts.requirePacks?.length) {
        const live = new Set(this.livePackNames());
        if (opts.requirePacks.some((n) => !live.has(n))) {
          const reason = "the repository was repacked during the push; push again";
          return { version: this.version(), results: updates.map((u) => ({ name: u.name, ok: false as const, reason })) };
        }
      }
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
      // A pack is listed only with a ref update that needs it.
      if (applied.length === 0) return { version: this.version(), results };
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
    if (opts.pack && this.livePackNames().length >= COMPACT_AT_PACKS) this.scheduleUpkeep(10_000);
    return outcome;
  }

  private livePackNames(): string[] {
    return this.sql
      .exec<{ name: string }>("SELECT name FROM packs WHERE retired_at IS NULL")
      .toArray()
      .map((r) => r.name);
  }

  private scheduleUpkeep(delayMs: number): void {
    void this.ctx.storage.getAlarm().then((at) => {
      const when = Date.now() + delayMs;
      if (at === null || at > when) return this.ctx.storage.setAlarm(when);
    });
  }

  override async alarm(): Promise<void> {
    await this.upkeep();
  }

  /**
   * Compacts the live packs into one when there are several, and deletes packs retired longer
   * than the grace period ago (and orphans: packs in R2 no row names). Returns what it did.
   */
  async upkeep(opts: { force?: boolean /** The clock (tests pass the end of a grace period). */; now?: number } = {}): Promise<{
    compacted: number;
    deleted: number;
  }> {
    const now = opts.now ?? Date.now();
    const repoMeta = this.meta("repo");
    if (!repoMeta) return { compacted: 0, deleted: 0 };
    const repo = JSON.parse(repoMeta) as { tenantId: string; repoId: string };
    let compacted = 0;
    const before = this.snapshot();
    if (opts.force) compacted = (await this.purge(repo)).retired;
    else if (before.packs.length >= COMPACT_AT_PACKS) {
      const outcome = await this.compact(repo, before);
      if (outcome === "moved") this.scheduleUpkeep(60_000);
      else compacted = outcome;
    }
    // Retired packs past their grace, and orphaned uploads.
    const cutoff = now - RETIRED_GRACE_MS;
    const expired = this.sql
      .exec<{ name: string }>("SELECT name FROM packs WHERE retired_at IS NOT NULL AND retired_at < ?", cutoff)
      .toArray()
      .map((r) => r.name);
    const known = new Set(
      this.sql
        .exec<{ name: string }>("SELECT name FROM packs")
        .toArray()
        .map((r) => r.name),
    );
    const orphans = (await storedPacks(this.env, repo))
      .filter((p) => !known.has(p.name) && p.uploaded < now - ORPHAN_GRACE_MS && !this.importing(p.name))
      .map((p) => p.name);
    await deleteStaleSpills(this.env, repo, now - ORPHAN_GRACE_MS);
    if (expired.length || orphans.length) {
      await deletePacks(this.env, repo, [...expired, ...orphans]);
      for (const name of expired) this.sql.exec("DELETE FROM packs WHERE name = ?", name);
    }
    const pending = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM packs WHERE retired_at IS NOT NULL").one().n;
    if (pending > 0) this.scheduleUpkeep(RETIRED_GRACE_MS);
    return { compacted, deleted: expired.length + orphans.length };
  }

  /**
   * Rewrites everything the refs reach into one pack and retires the others (or, with no refs,
   * retires every pack): from the next snapshot on, nothing else is readable. Retired packs stay
   * in R2 for the grace period, for fetches that opened them before. "moved": the refs changed
   * while the pack was written; nothing was applied.
   */
  private async compact(repo: { tenantId: string; repoId: string }, before: RepoSnapshot): Promise<number | "moved"> {
    const pack = before.refs.length ? await compactPacks(this.env, repo, before) : null;
    const committed = this.ctx.storage.transactionSync(() => {
      if (this.version() !== before.version) return false;
      const now = Date.now();
      if (pack) {
        this.sql.exec(
          "INSERT INTO packs (name, objects, bytes, created_at, closure) VALUES (?, ?, ?, ?, ?)",
          pack.name,
          pack.objects,
          pack.bytes,
          pack.createdAt,
          pack.closure ?? null,
        );
      }
      for (const p of before.packs) this.sql.exec("UPDATE packs SET retired_at = ? WHERE name = ?", now, p.name);
      this.bumpVersion();
      return true;
    });
    if (!committed) {
      if (pack) await deletePacks(this.env, repo, [pack.name]);
      return "moved";
    }
    this.scheduleUpkeep(RETIRED_GRACE_MS);
    return before.packs.length;
  }

  /**
   * Purges objects no ref reaches, now (a pushed secret on a deleted branch): compaction on demand.
   * Pages stop showing them at once (they read only live packs, and id-addressed caches are keyed
   * by the purge count); R2 data derived from purged commits is deleted; the retired packs
   * themselves go after the grace period, so a fetch already reading them finishes.
   */
  async purge(repoRef: { tenantId: string; repoId: string }): Promise<PurgeResult> {
    if (!this.meta("repo")) this.setMeta("repo", JSON.stringify(repoRef));
    const repo = JSON.parse(this.meta("repo")!) as { tenantId: string; repoId: string };
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = this.snapshot();
      if (!holdsUnreachable(before))
        return { purged: false, retired: 0, packs: before.packs.length, objects: objectCount(before) };
      const outcome = await this.compact(repo, before);
      if (outcome === "moved") continue; // a push landed meanwhile: compact what it left
      this.ctx.storage.transactionSync(() => {
        this.setMeta("purges", String(Number(this.meta("purges") ?? "0") + 1));
        this.bumpVersion();
      });
      const after = this.snapshot();
      await dropDerivedData(this.env, repo, after);
      return { purged: true, retired: outcome, packs: after.packs.length, objects: objectCount(after) };
    }
    throw new Error("the repository kept changing during the purge; try again");
  }

  private importing(packName: string): boolean {
    return this.sql
      .exec<{ record: string }>("SELECT record FROM imports")
      .toArray()
      .some((r) => (JSON.parse(r.record) as ImportRecord).key.endsWith(`/${packName}.pack`));
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

  /** Restores a repository from a tenant backup into this new, empty object (repo/restore.ts). */
  restore(state: RestoredRepo): number {
    return this.ctx.storage.transactionSync(() => {
      writeRestoredRepo(this.sql, state);
      return this.bumpVersion();
    });
  }

  /** Forgets everything (the repository's project or tenant is being deleted). */
  async destroy(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
