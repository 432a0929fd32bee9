// A D1-shaped handle on a tenant's SQLite Durable Object: drizzle, migrations and every service
// keep the D1 interface, and each statement (or batch) is one call to the object, as with D1.
import type { SqlOutcome, SqlStatement, SqlValue } from "./tenant-store";

/** What the handle needs of the object's stub. */
export interface SqlRunner {
  query(statements: SqlStatement[]): Promise<SqlOutcome[]>;
}

/** D1 refuses what it cannot store; so does this handle, with D1's words. */
function toSqlValue(value: unknown): SqlValue {
  if (value === null || typeof value === "string" || typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "bigint") return Number(value);
  if (value instanceof ArrayBuffer) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice().buffer;
  throw new TypeError(
    `D1_TYPE_ERROR: Type '${value === undefined ? "undefined" : typeof value}' not supported for value '${value}'`,
  );
}

/** D1 answers blobs as arrays of byte values. */
const fromSqlValue = (value: SqlValue): unknown => (value instanceof ArrayBuffer ? [...new Uint8Array(value)] : value);

function toObjects(outcome: SqlOutcome): Record<string, unknown>[] {
  return outcome.rows.map((row) => {
    const object: Record<string, unknown> = {};
    outcome.columns.forEach((column, i) => {
      object[column] = fromSqlValue(row[i]!);
    });
    return object;
  });
}

function toResult<T>(outcome: SqlOutcome): D1Result<T> {
  return {
    success: true,
    results: toObjects(outcome) as T[],
    meta: {
      duration: 0,
      size_after: 0,
      rows_read: outcome.rowsRead,
      rows_written: outcome.rowsWritten,
      last_row_id: outcome.lastRowId,
      changed_db: outcome.rowsWritten > 0,
      changes: outcome.changes,
    },
  };
}

class Statement {
  constructor(
    readonly runner: SqlRunner,
    readonly statement: SqlStatement,
  ) {}

  bind(...values: unknown[]): Statement {
    return new Statement(this.runner, { sql: this.statement.sql, params: values.map(toSqlValue) });
  }

  private async one(): Promise<SqlOutcome> {
    return (await this.runner.query([this.statement]))[0]!;
  }

  async first<T>(column?: string): Promise<T | null> {
    const row = toObjects(await this.one())[0];
    if (!row) return null;
    if (column === undefined) return row as T;
    if (!(column in row)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
    return row[column] as T;
  }

  async all<T>(): Promise<D1Result<T>> {
    return toResult<T>(await this.one());
  }

  run<T>(): Promise<D1Result<T>> {
    return this.all<T>();
  }

  async raw<T>(options?: { columnNames?: boolean }): Promise<unknown[]> {
    const outcome = await this.one();
    const rows = outcome.rows.map((row) => row.map(fromSqlValue)) as T[];
    return options?.columnNames ? [outcome.columns, ...rows] : rows;
  }
}

/** The tenant database behind `runner`, as a D1Database. */
export function sqliteD1(runner: SqlRunner): D1Database {
  const handle = {
    prepare: (sql: string) => new Statement(runner, { sql, params: [] }),
    async batch<T>(statements: Statement[]): Promise<D1Result<T>[]> {
      if (statements.length === 0) return [];
      const outcomes = await runner.query(statements.map((s) => s.statement));
      return outcomes.map((o) => toResult<T>(o));
    },
    async exec(sql: string): Promise<D1ExecResult> {
      await runner.query([{ sql, params: [] }]);
      return { count: 1, duration: 0 };
    },
    dump(): Promise<ArrayBuffer> {
      throw new Error("a tenant database in a Durable Object has no dump(); export it with SELECTs");
    },
    withSession() {
      return handle;
    },
  };
  return handle as unknown as D1Database;
}
