// `forge migrate` end to end on a local forge of its own: tenants made by one release, the forge
// restarted with one more migration (the probe), a run killed after its first tenant and resumed,
// a failing tenant reported and skipped; every database checked afterwards: none migrated twice.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROBE_MIGRATIONS, PROBE_TABLE, PROBE_TAG } from "./fleet-probe";
import { root, startForge, type RunningForge } from "./runner";
import { migrationRecord, withTenantDatabases } from "./tenant-databases";

const TENANTS = 5;
let forge: RunningForge;
let slugs: string[] = [];
let bad = "";
const idOf = new Map<string, string>();

interface Status {
  target: number;
  total: number;
  versions: { version: number; tenants: number }[];
  pending: number;
  failures: { slug: string; error: string }[];
}

async function status(): Promise<Status> {
  const res = await forge.cli("migrate", "status", "--json");
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout) as Status;
}

beforeAll(async () => {
  forge = await startForge();
  for (let i = 0; i < TENANTS; i++) slugs.push((await forge.createTenant(`fleet${i}`)).slug);
  slugs = slugs.sort();
  bad = slugs[TENANTS - 1]!;
  const list = JSON.parse((await forge.admin("GET", "/api/v1/tenants?limit=100")).text()) as { id: string; slug: string }[];
  for (const t of list) idOf.set(t.slug, t.id);
  const { stateDir } = forge;
  await forge.stop();
  // The probe's table already there, in a shape its insert breaks: this tenant's migration fails.
  await withTenantDatabases(stateDir, async (open) => {
    const db = open(idOf.get(bad)!);
    await db.prepare(`CREATE TABLE ${PROBE_TABLE} (applied_at TEXT CHECK (applied_at IS NULL))`).run();
  });
  // The next release: the same forge with one more migration in its bundle.
  forge = await startForge({ stateDir, env: { FORGE_EXTRA_TENANT_MIGRATIONS: PROBE_MIGRATIONS } });
}, 300_000);

afterAll(async () => {
  await forge?.stop();
});

/** Runs `forge migrate --concurrency 1` and kills it (SIGKILL) once it reports its first tenant. */
function migrateKilledAfterFirstTenant(): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, "bin", "forge.js"), "migrate", "--concurrency", "1"], {
      cwd: root,
      env: { ...process.env, FORGE_URL: forge.url("admin.localhost", ""), FORGE_STATE: forge.stateDir, FORGE_ADMIN_TOKEN: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (/^\S+: (version|FAILED)/m.test(out)) child.kill("SIGKILL");
    });
    child.once("exit", () => resolve(out));
  });
}

describe("forge migrate", () => {
  it("shows the fleet behind, and a dry run lists the probe for each tenant without applying it", async () => {
    const before = await status();
    expect(before.pending).toBeGreaterThanOrEqual(TENANTS);
    const behind = before.versions.find((v) => v.version === before.target - 1)?.tenants ?? 0;
    expect(behind).toBeGreaterThanOrEqual(TENANTS);

    const table = await forge.cli("migrate", "status");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${before.target - 1}\\s+${behind}\\s+behind`));
    expect(table.stdout).toContain(`to migrate to version ${before.target}: run forge migrate`);

    const dry = await forge.cli("migrate", "--dry-run");
    expect(dry.code, dry.stderr).toBe(0);
    for (const slug of slugs)
      expect(dry.stdout).toContain(`${slug}: version ${before.target - 1} of ${before.target}: would apply ${PROBE_TAG}`);
    expect(await status()).toEqual(before);
  });

  it("resumes a killed run, reports the failing tenant and skips it, and migrates every other tenant once", async () => {
    const first = await migrateKilledAfterFirstTenant();
    const done = [...first.matchAll(/^(\S+): version \d+ -> \d+/gm)].map((m) => m[1]!);
    const mid = await status();
    expect(mid.pending).toBeGreaterThan(0);

    const second = await forge.cli("migrate", "--concurrency", "2");
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("1 tenants failed to migrate");
    expect(second.stdout).toContain(`${bad}: FAILED`);
    expect(second.stdout).toMatch(/CHECK constraint failed/);
    // The second run only had what the first left: no tenant the first finished comes up again,
    // and every other one is migrated by it, but for the one the kill may have caught under way
    // (its database migrated, its CONTROL row too or not: then it costs the second run one read).
    for (const slug of done) expect(second.stdout).not.toContain(`${slug}:`);
    const unseen = slugs.filter((s) => s !== bad && !done.includes(s) && !second.stdout.includes(`${s}: version`));
    expect(unseen.length).toBeLessThanOrEqual(1);

    const after = await status();
    expect(after.pending).toBe(1);
    expect(after.failures.map((f) => f.slug)).toEqual([bad]);
    expect(after.versions.find((v) => v.version === after.target)?.tenants).toBe(after.total - 1);
    const shown = await forge.cli("migrate", "status");
    expect(shown.stdout).toContain("1 tenants failed their last migration");
    expect(shown.stdout).toContain(bad);

    // Every database: the bundle's migrations once each, in order; the probe ran exactly once.
    const { stateDir } = forge;
    await forge.stop();
    const records = await withTenantDatabases(stateDir, async (open) => {
      const out = new Map<string, Awaited<ReturnType<typeof migrationRecord>>>();
      for (const slug of slugs) out.set(slug, await migrationRecord(open(idOf.get(slug)!)));
      return out;
    });
    for (const slug of slugs) {
      const r = records.get(slug)!;
      const ids = r.tracked.map((t) => t.id);
      expect(new Set(ids).size).toBe(ids.length);
      if (slug === bad) {
        expect(r.tracked.map((t) => t.tag)).not.toContain(PROBE_TAG);
        expect(r.probeRuns).toBe(0);
      } else {
        expect(r.tracked.length).toBe(after.target);
        expect(r.tracked.at(-1)!.tag).toBe(PROBE_TAG);
        expect(r.probeRuns).toBe(1);
      }
    }
  });
});
