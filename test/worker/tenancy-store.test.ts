// The D1-shaped handle on a tenant's SQLite Durable Object answers as D1 does where the forge
// relies on it: rows, raw rows, first, run meta, atomic batches and SQLite's own error messages.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { tenantD1 } from "../../src/db/tenant-db";

let n = 0;
const fresh = () => tenantD1(env as unknown as Env, { id: "store-test", database: `do:store-test-${Date.now()}-${n++}` })!;

describe("tenant database handle", () => {
  it("runs statements, reads rows as objects, raw arrays and single values", async () => {
    const db = fresh();
    await db.prepare("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, flag INTEGER, data BLOB)").run();
    const inserted = await db
      .prepare("INSERT INTO t (name, flag, data) VALUES (?, ?, ?)")
      .bind("a", true, new Uint8Array([1, 2, 3]))
      .run();
    expect(inserted.meta).toMatchObject({ changes: 1, last_row_id: 1 });
    expect((await db.prepare("SELECT * FROM t").all()).results).toEqual([{ id: 1, name: "a", flag: 1, data: [1, 2, 3] }]);
    expect(await db.prepare("SELECT id, name FROM t").raw()).toEqual([[1, "a"]]);
    expect(await db.prepare("SELECT id, name FROM t").raw({ columnNames: true })).toEqual([
      ["id", "name"],
      [1, "a"],
    ]);
    expect(await db.prepare("SELECT name FROM t WHERE id = ?").bind(1).first("name")).toBe("a");
    expect(await db.prepare("SELECT name FROM t WHERE id = ?").bind(2).first()).toBeNull();
    expect(() => db.prepare("SELECT ?").bind(undefined)).toThrow(/D1_TYPE_ERROR/);
  });

  it("applies a batch whole or not at all, with SQLite's message for the failure", async () => {
    const db = fresh();
    await db.prepare("CREATE TABLE t (name TEXT NOT NULL UNIQUE)").run();
    const insert = (name: string) => db.prepare("INSERT INTO t (name) VALUES (?)").bind(name);
    await expect(db.batch([insert("x"), insert("y"), insert("x")])).rejects.toThrow(/UNIQUE constraint failed/);
    expect((await db.prepare("SELECT count(*) AS n FROM t").first<{ n: number }>())!.n).toBe(0);
    const results = await db.batch([insert("x"), insert("y"), db.prepare("SELECT name FROM t ORDER BY name")]);
    expect(results[2]!.results).toEqual([{ name: "x" }, { name: "y" }]);
  });

  it("keeps each tenant's tables to itself", async () => {
    const a = fresh();
    const b = fresh();
    await a.prepare("CREATE TABLE secrets (v TEXT)").run();
    await a.prepare("INSERT INTO secrets VALUES ('only a')").run();
    await expect(b.prepare("SELECT v FROM secrets").all()).rejects.toThrow(/no such table/);
  });

  it("still opens the D1 binding named by the record of a tenant made before TENANT_DB, and nothing for an unknown name", async () => {
    const bindings = env as unknown as Env;
    // CONTROL stands in for such a binding: a D1 database bound to the edge worker.
    expect(tenantD1(bindings, { id: "old", database: "CONTROL" })).toBe(bindings.CONTROL);
    expect(tenantD1(bindings, { id: "old", database: "DB_NOT_BOUND" })).toBeNull();
    expect(tenantD1(bindings, { id: "old", database: null })).toBeNull();
  });
});
