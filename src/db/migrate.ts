// Applies bundled SQL migrations to a D1 database, each migration in one atomic batch.

export interface Migration {
  tag: string;
  statements: string[];
}

const TRACKING_TABLE = "_forge_migrations";

/**
 * Brings `db` to the latest of `migrations` and returns how many are applied. Safe to run from
 * several isolates at once: a migration and its bookkeeping row commit together, so a racing
 * runner's batch fails whole and it re-reads what is applied.
 */
export async function migrate(db: D1Database, migrations: Migration[]): Promise<number> {
  await db
    .prepare(`CREATE TABLE IF NOT EXISTS ${TRACKING_TABLE} (id INTEGER PRIMARY KEY, tag TEXT NOT NULL, applied_at TEXT NOT NULL)`)
    .run();
  for (let attempt = 0; ; attempt++) {
    const { results } = await db.prepare(`SELECT id FROM ${TRACKING_TABLE}`).all<{ id: number }>();
    const applied = new Set(results.map((r) => r.id));
    const pending = migrations.map((m, id) => ({ ...m, id })).filter((m) => !applied.has(m.id));
    if (pending.length === 0) return migrations.length;
    try {
      for (const m of pending) {
        await db.batch([
          ...m.statements.map((s) => db.prepare(s)),
          db
            .prepare(`INSERT INTO ${TRACKING_TABLE} (id, tag, applied_at) VALUES (?, ?, ?)`)
            .bind(m.id, m.tag, new Date().toISOString()),
        ]);
      }
      return migrations.length;
    } catch (err) {
      if (attempt >= 2) throw err;
    }
  }
}
