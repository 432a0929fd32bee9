// Migrations run by two set-ups at once (two requests or isolates): a runner whose batches keep
// losing to a racer that is further along still reaches the latest schema, without error.
import { env as workerEnv } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { Env } from "../env";
import { migrateDatabase, type Migration } from "./migrate";
import { tenantD1 } from "./tenant-db";

const env = workerEnv as unknown as Env;

it("a runner that loses every batch to a racer ahead of it finishes without error", async () => {
  const db = tenantD1(env, { id: "race", database: `do:migrate-race-${Math.random().toString(36).slice(2)}` })!;
  const migrations: Migration[] = Array.from({ length: 6 }, (_, i) => ({
    tag: `000${i}_t${i}`,
    statements: [`CREATE TABLE t${i} (x INTEGER)`],
  }));
  // Before each of the runner's batches, the racer applies the migration that batch starts with.
  const racing = new Proxy(db, {
    get(target, name) {
      if (name !== "batch") return Reflect.get(target, name).bind(target);
      return async (statements: D1PreparedStatement[]) => {
        const { results } = await db.prepare("SELECT count(*) AS n FROM _forge_migrations").all<{ n: number }>();
        const next = migrations[results[0]!.n]!;
        await db.batch([
          db.prepare(next.statements[0]!),
          db
            .prepare("INSERT INTO _forge_migrations (id, tag, applied_at) VALUES (?, ?, ?)")
            .bind(migrations.indexOf(next), next.tag, new Date().toISOString()),
        ]);
        return db.batch(statements);
      };
    },
  });
  expect(await migrateDatabase(racing, migrations)).toEqual({ before: 0, after: 6, applied: [] });
});
