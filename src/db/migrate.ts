// Applies bundled SQL migrations to a D1 database, each migration in one atomic batch.

export interface Migration {
  tag: string;
  statements: string[];
}

/** Where a database stands against a bundle of migrations. */
export interface MigrationState {
  /** Tags of the migrations applied, in order. */
  applied: string[];
  /** Migrations of the bundle not applied yet, in order. */
  pending: Migration[];
}

/** What one run did: versions are counts of applied migrations. */
export interface MigrationResult {
  before: number;
  after: number;
  /** Tags this run applied, in order. */
  applied: string[];
}

/** A run that stopped on a failing migration; what it applied before that stays applied. */
export class MigrationError extends Error {
  constructor(
    message: string,
    readonly result: MigrationResult,
  ) {
    super(message);
    this.name = "MigrationError";
  }
}

const TRACKING_TABLE = "_forge_migrations";

interface AppliedRow {
  id: number;
  tag: string;
}

function stateOf(rows: AppliedRow[], migrations: Migration[]): MigrationState {
  for (const row of rows) {
    const bundled = migrations[row.id];
    // Ids are places in the bundle: a bundle whose order changed would skip or repeat migrations.
    if (bundled && bundled.tag !== row.tag) {
      throw new Error(
        `migration ${row.id} of this database is "${row.tag}" but the bundle has "${bundled.tag}" there: ` +
          "migrations may only be appended; restore the bundle's order",
      );
    }
  }
  const ids = new Set(rows.map((r) => r.id));
  return {
    applied: rows.map((r) => r.tag),
    pending: migrations.filter((_, id) => !ids.has(id)),
  };
}

async function appliedRows(db: D1Database): Promise<AppliedRow[]> {
  const { results } = await db.prepare(`SELECT id, tag FROM ${TRACKING_TABLE} ORDER BY id`).all<AppliedRow>();
  return results;
}

/** Reads what `db` has applied without writing anything (for dry runs and status pages). */
export async function migrationState(db: D1Database, migrations: Migration[]): Promise<MigrationState> {
  const tracked = await db
    .prepare("SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?")
    .bind(TRACKING_TABLE)
    .first<{ found: number }>();
  return stateOf(tracked ? await appliedRows(db) : [], migrations);
}

/**
 * Brings `db` to the latest of `migrations`. Safe to run from several isolates at once: a
 * migration and its bookkeeping row commit together, so a racing runner's batch fails whole and
 * it re-reads what is applied; no migration is ever applied twice. Throws MigrationError (with
 * what it did apply) when a migration keeps failing.
 */
export async function migrateDatabase(db: D1Database, migrations: Migration[]): Promise<MigrationResult> {
  await db
    .prepare(`CREATE TABLE IF NOT EXISTS ${TRACKING_TABLE} (id INTEGER PRIMARY KEY, tag TEXT NOT NULL, applied_at TEXT NOT NULL)`)
    .run();
  const done: string[] = [];
  let before: number | undefined;
  // Failed attempts since the applied count last moved: a racer that keeps applying migrations
  // beats our batches again and again through a long list, and that is no failure of ours.
  let stalled = 0;
  let seen = -1;
  for (;;) {
    const rows = await appliedRows(db);
    const state = stateOf(rows, migrations);
    before ??= state.applied.length;
    if (rows.length > seen) [seen, stalled] = [rows.length, 0];
    if (state.pending.length === 0) return { before, after: state.applied.length, applied: done };
    let failing: Migration | undefined;
    try {
      for (const m of state.pending) {
        failing = m;
        await db.batch([
          ...m.statements.map((s) => db.prepare(s)),
          db
            .prepare(`INSERT INTO ${TRACKING_TABLE} (id, tag, applied_at) VALUES (?, ?, ?)`)
            .bind(migrations.indexOf(m), m.tag, new Date().toISOString()),
        ]);
        done.push(m.tag);
      }
      return { before, after: state.applied.length + state.pending.length, applied: done };
    } catch (err) {
      if (++stalled >= 3) {
        const after = (await appliedRows(db).catch(() => rows)).length;
        throw new MigrationError(`migration ${failing?.tag} failed: ${(err as Error).message}`, { before, after, applied: done });
      }
    }
  }
}

/** Brings `db` to the latest of `migrations` and returns how many are applied. */
export async function migrate(db: D1Database, migrations: Migration[]): Promise<number> {
  return (await migrateDatabase(db, migrations)).after;
}
