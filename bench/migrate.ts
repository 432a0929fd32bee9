// `npm run bench:migrate`: the fleet-migration acceptance run. A local forge gets N tenants (the
// admin API), is restarted as the next release (one more, harmless migration: the probe), and
// `forge migrate` runs, is killed half-way and runs again while a load generator reads tenant
// pages. Prints the times, the load's errors and the routing latency at 1 vs N tenants, then reads
// every tenant database: every tenant migrated, none twice.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { request } from "../bin/cli/http";
import { PROBE_MIGRATIONS, PROBE_TAG } from "../test/e2e/fleet-probe";
import { root, startForge, type RunningForge } from "../test/e2e/runner";
import { migrationRecord, withTenantDatabases } from "../test/e2e/tenant-databases";
import { percentile } from "./lib/report";

const { values: opts } = parseArgs({
  options: {
    tenants: { type: "string", default: "1000" },
    "create-concurrency": { type: "string", default: "4" },
    concurrency: { type: "string", default: "4" },
    "load-clients": { type: "string", default: "2" },
    "latency-requests": { type: "string", default: "200" },
    signal: { type: "string", default: "SIGKILL" },
    keep: { type: "boolean" },
  },
});
const N = Number(opts.tenants);
const createConcurrency = Number(opts["create-concurrency"]);
const migrateConcurrency = String(Number(opts.concurrency));
const loadClients = Number(opts["load-clients"]);
const latencyRequests = Number(opts["latency-requests"]);
const signal = opts.signal as NodeJS.Signals;
if (!(N >= 2)) throw new Error("--tenants must be at least 2");
if (signal !== "SIGKILL" && signal !== "SIGINT") throw new Error("--signal is SIGKILL or SIGINT");

const slug = (i: number) => `fleet-${String(i).padStart(5, "0")}`;
const host = (i: number) => `${slug(i)}.localhost`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

async function createTenants(forge: RunningForge, from: number, to: number): Promise<void> {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const i = next++;
      const res = await forge.admin("POST", "/api/v1/tenants", {
        slug: slug(i),
        name: `Fleet ${i}`,
        hosts: [host(i)],
        owner: { username: "owner", email: "owner@example.com" },
      });
      if (res.status !== 201) throw new Error(`creating ${slug(i)}: HTTP ${res.status} ${res.text().slice(0, 200)}`);
      if ((i + 1) % 100 === 0) log(`created ${i + 1} tenants`);
    }
  };
  await Promise.all(Array.from({ length: createConcurrency }, worker));
}

/** Waits until the tenants' home pages answer 200 (those created during a reload finish after it). */
async function waitServing(forge: RunningForge, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    while ((await request(forge.url(host(i)))).status !== 200) await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sequential GETs of one tenant's home page after a warm-up: milliseconds each. */
async function latency(forge: RunningForge, pick: (k: number) => number): Promise<number[]> {
  for (let k = 0; k < 20; k++) await request(forge.url(host(pick(k))));
  const times: number[] = [];
  for (let k = 0; k < latencyRequests; k++) {
    const t = performance.now();
    const res = await request(forge.url(host(pick(k))));
    times.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`latency probe: HTTP ${res.status} from ${host(pick(k))}`);
  }
  return times;
}

const summary = (xs: number[]) =>
  `p50 ${percentile(xs, 50).toFixed(1)} ms, p95 ${percentile(xs, 95).toFixed(1)} ms, mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1)} ms`;

/** Reads random tenants' home pages until stopped; every answer but a 200 counts as an error. */
function loadGenerator(forge: RunningForge) {
  let running = true;
  const times: number[] = [];
  const errors: string[] = [];
  let seed = 1;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const client = async () => {
    while (running) {
      const i = Math.floor(random() * N);
      const t = performance.now();
      try {
        const res = await request(forge.url(host(i)));
        if (res.status !== 200) errors.push(`${host(i)}: HTTP ${res.status}`);
      } catch (err) {
        errors.push(`${host(i)}: ${(err as Error).message}`);
      }
      times.push(performance.now() - t);
    }
  };
  const done = Promise.all(Array.from({ length: loadClients }, client));
  return {
    times,
    errors,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

const REPORT_LINE = /^\S+: (version|up to date|FAILED)/gm;

/** Runs `forge migrate`; with `killAfter`, sends the signal once that many tenants are reported. */
function runMigrate(forge: RunningForge, killAfter?: number): Promise<{ code: number | null; out: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, "bin", "forge.js"), "migrate", "--concurrency", migrateConcurrency], {
      cwd: root,
      env: { ...process.env, FORGE_URL: forge.url("admin.localhost", ""), FORGE_STATE: forge.stateDir, FORGE_ADMIN_TOKEN: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let sent = false;
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (killAfter !== undefined && !sent && (out.match(REPORT_LINE)?.length ?? 0) >= killAfter) {
        sent = true;
        child.kill(signal);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once("exit", (code) => resolve({ code, out, ms: performance.now() - started }));
  });
}

interface Status {
  target: number;
  total: number;
  versions: { version: number; tenants: number }[];
  pending: number;
  failed: number;
}
const status = async (forge: RunningForge) =>
  JSON.parse((await forge.admin("GET", "/api/v1/migrations/status")).text()) as Status;

// 1. A forge of the current release, one tenant: routing latency at 1 tenant.
let forge = await startForge();
const stateDir = forge.stateDir;
process.once("exit", () => forge.child.kill("SIGINT"));
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));
log(`local forge on port ${forge.port}, state in ${stateDir}`);
await createTenants(forge, 0, 1);
await waitServing(forge, 1);
const at1 = await latency(forge, () => 0);
log(`routing latency, 1 tenant: ${summary(at1)}`);

// 2. N tenants through the admin API.
let t = performance.now();
await createTenants(forge, 1, N);
const createMs = performance.now() - t;
log(`created ${N - 1} tenants in ${seconds(createMs)}`);
t = performance.now();
await waitServing(forge, N);
const settleMs = performance.now() - t;
const atN = await latency(forge, () => 0);
const atNSpread = await latency(forge, (k) => Math.floor((k * 7919) % N));
log(`routing latency, ${N} tenants: same tenant ${summary(atN)}; spread over all ${summary(atNSpread)}`);

// 3. The next release: restart with the probe migration appended (a deploy of the new bundle).
await forge.stop();
t = performance.now();
forge = await startForge({ stateDir, env: { FORGE_EXTRA_TENANT_MIGRATIONS: PROBE_MIGRATIONS } });
const restartMs = performance.now() - t;
log(`restarted with ${N} tenant databases in ${seconds(restartMs)}`);
const before = await status(forge);
log(`before: ${before.pending} of ${before.total} tenants to migrate to version ${before.target}`);

// 4. forge migrate, killed half-way, then again, under load.
const load = loadGenerator(forge);
const first = await runMigrate(forge, Math.floor(N / 2));
const firstReports = first.out.match(REPORT_LINE)?.length ?? 0;
const mid = await status(forge);
log(`first run: ${signal} after ${firstReports} tenants reported, ${seconds(first.ms)}; ${mid.pending} left`);
const second = await runMigrate(forge);
const secondReports = second.out.match(REPORT_LINE)?.length ?? 0;
log(`second run: exit ${second.code}, ${secondReports} tenants, ${seconds(second.ms)}`);
await load.stop();
const after = await status(forge);
log(`after: ${after.pending} pending, ${after.failed} failed; versions ${JSON.stringify(after.versions)}`);
if (second.code !== 0) console.log(second.out.split("\n").slice(-20).join("\n"));

// 5. Every tenant database, read from the stopped forge's state: migrated, and none twice.
await forge.stop();
// Every tenant database: the N tenants and the demo tenant.
const counts = { once: 0, twice: 0, missing: 0, badTracking: 0 };
const databases = await withTenantDatabases(stateDir, async (open, tenantIds) => {
  for (const id of tenantIds) {
    const r = await migrationRecord(open(id));
    const ids = r.tracked.map((x) => x.id);
    if (new Set(ids).size !== ids.length || r.tracked.length !== after.target || r.tracked.at(-1)?.tag !== PROBE_TAG)
      counts.badTracking++;
    if (r.probeRuns === 1) counts.once++;
    else if ((r.probeRuns ?? 0) > 1) counts.twice++;
    else counts.missing++;
  }
  return tenantIds;
});

console.log(`
Fleet migration, ${N} tenants (forge migrate --concurrency ${migrateConcurrency}, ${loadClients} load clients)
  tenant creation (admin API, ${createConcurrency} at a time): ${seconds(createMs)} (+ ${seconds(settleMs)} until all serve)
  restart with ${N} tenant databases:    ${seconds(restartMs)}
  forge migrate, first run (${signal} after ${firstReports} reported): ${seconds(first.ms)}
  forge migrate, second run (${secondReports} tenants):  ${seconds(second.ms)}, exit ${second.code}
  tenant databases (with the demo tenant's) migrated once: ${counts.once} of ${databases.length}, twice: ${counts.twice}, not migrated: ${counts.missing}, tracking wrong: ${counts.badTracking}
  load during the migration: ${load.times.length} requests, ${load.errors.length} errors, ${summary(load.times)}
  routing latency (tenant home page), 1 tenant:      ${summary(at1)}
  routing latency, ${N} tenants, same tenant:  ${summary(atN)}
  routing latency, ${N} tenants, spread:       ${summary(atNSpread)}
  p50 ratio ${N} / 1 tenants: ${(percentile(atN, 50) / percentile(at1, 50)).toFixed(2)}x (same tenant), ${(percentile(atNSpread, 50) / percentile(at1, 50)).toFixed(2)}x (spread)`);
for (const e of load.errors.slice(0, 10)) console.log(`  load error: ${e}`);
if (!opts.keep) rmSync(stateDir, { recursive: true, force: true });
const ok =
  counts.once === databases.length &&
  counts.twice === 0 &&
  counts.badTracking === 0 &&
  load.errors.length === 0 &&
  second.code === 0;
process.exitCode = ok ? 0 : 1;
