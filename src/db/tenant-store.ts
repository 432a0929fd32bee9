// The tenant database as a SQLite Durable Object: one object per tenant (named by tenant id) in one
// namespace, so there is no per-Worker binding to add and no ceiling on tenants (docs/deploy.md).
import { DurableObject } from "cloudflare:workers";

/** A bound value as it crosses the RPC boundary (what the object's SQLite accepts). */
export type SqlValue = string | number | null | ArrayBuffer;

export interface SqlStatement {
  sql: string;
  params: SqlValue[];
}

export interface SqlOutcome {
  columns: string[];
  rows: SqlValue[][];
  rowsRead: number;
  rowsWritten: number;
  changes: number;
  lastRowId: number;
}

export class TenantDatabase extends DurableObject {
  /**
   * Runs statements in order and answers each one's rows. Several run in one transaction (D1's
   * batch is atomic too): if one fails, none of them took effect.
   */
  query(statements: SqlStatement[]): SqlOutcome[] {
    const run = () => statements.map((s) => this.execute(s));
    return statements.length === 1 ? run() : this.ctx.storage.transactionSync(run);
  }

  /** Deletes every table and row: the tenant is gone. */
  async destroy(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  private execute(s: SqlStatement): SqlOutcome {
    const sql = this.ctx.storage.sql;
    const cursor = sql.exec(s.sql, ...s.params);
    const rows = [...cursor.raw()] as SqlValue[][];
    const after = sql.exec("SELECT changes() AS c, last_insert_rowid() AS r").one() as { c: number; r: number };
    return {
      columns: cursor.columnNames,
      rows,
      rowsRead: cursor.rowsRead,
      rowsWritten: cursor.rowsWritten,
      changes: cursor.rowsWritten > 0 ? after.c : 0,
      lastRowId: after.r,
    };
  }
}
