// Writes a repository restored from a tenant backup into its new Durable Object's SQLite tables:
// refs, HEAD, purge count and the live packs (already in R2 under the new tenant's keys).
import type { PackEntry, RefEntry } from "./snapshot";

export interface RestoredRepo {
  /** Who the repository is now (the new tenant's id): upkeep builds its R2 keys from this. */
  repo: { tenantId: string; repoId: string };
  head: string;
  refs: RefEntry[];
  packs: PackEntry[];
  purges: number;
}

const setMeta = (sql: SqlStorage, key: string, value: string) =>
  sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value);

/** Runs inside the object's transaction; refuses an object that already holds refs or packs. */
export function writeRestoredRepo(sql: SqlStorage, state: RestoredRepo): void {
  const used = sql.exec<{ n: number }>("SELECT (SELECT count(*) FROM refs) + (SELECT count(*) FROM packs) AS n").one().n;
  if (used > 0) throw new Error("this repository already has refs or packs; a backup restores only into an empty one");
  setMeta(sql, "repo", JSON.stringify(state.repo));
  setMeta(sql, "head", state.head);
  setMeta(sql, "purges", String(state.purges));
  for (const r of state.refs) sql.exec("INSERT INTO refs (name, oid, peeled) VALUES (?, ?, ?)", r.name, r.oid, r.peeled ?? null);
  for (const p of state.packs) {
    sql.exec(
      "INSERT INTO packs (name, objects, bytes, created_at, closure) VALUES (?, ?, ?, ?, ?)",
      p.name,
      p.objects,
      p.bytes,
      p.createdAt,
      p.closure ?? null,
    );
  }
}
