// `npm run bench:tenants`: what the number of tenants costs. Two local forges run side by side,
// one with 1 tenant and one with N (default 1,000), and a tenant page of each is requested in
// turn (A, B, A, B...), so that whatever else the machine does weighs on both alike.
//
//   npm run bench:tenants -- [--tenants N] [--samples S] [--concurrency C]
//
// Prints: tenant creation (each POST /api/v1/tenants, C at a time: median, p95, total), then the
// home page latency of one tenant on each forge (median, p95) and the ratio N-forge / 1-forge.
import { parseArgs } from "node:util";
import { readFileSync, rmSync } from "node:fs";
import { request } from "../bin/cli/http";
import { startForge, type RunningForge } from "../test/e2e/runner";
import { LoadClient } from "./lib/load";
import { median, percentile } from "./lib/report";
import { treePids } from "./lib/rss";

const { values } = parseArgs({
  options: {
    tenants: { type: "string", default: "1000" },
    samples: { type: "string", default: "400" },
    concurrency: { type: "string", default: "8" },
  },
});
const TENANTS = Number(values.tenants);
const SAMPLES = Number(values.samples);
const CONCURRENCY = Number(values.concurrency);

/** Creates tenant `slug` and answers how long the POST took (ms); throws unless it is 201. */
async function createTenant(forge: RunningForge, slug: string): Promise<number> {
  const start = performance.now();
  const res = await request(forge.url("admin.localhost", "/api/v1/tenants"), {
    method: "POST",
    headers: { authorization: `Bearer ${forge.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({
      slug,
      name: `Forge ${slug}`,
      hosts: [`${slug}.localhost`],
      owner: { username: "owner", email: "owner@example.com" },
    }),
  });
  if (res.status !== 201) throw new Error(`creating ${slug}: HTTP ${res.status} ${res.text()}`);
  return performance.now() - start;
}

/** Creates tenants t0001..tN, C at a time; answers each creation's time. */
async function createMany(forge: RunningForge, count: number): Promise<number[]> {
  const times: number[] = [];
  let next = 1;
  const worker = async () => {
    for (let i = next++; i <= count; i = next++) {
      times.push(await createTenant(forge, `t${String(i).padStart(4, "0")}`));
      if (times.length % 100 === 0) process.stdout.write(`  ${times.length} tenants\n`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return times;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

/** Summed VmRSS of a forge's workerd processes, in MiB. */
function workerdRssMiB(forge: RunningForge): number {
  let kb = 0;
  for (const pid of treePids(forge.child.pid!, /workerd/)) {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    kb += Number(m?.[1] ?? 0);
  }
  return kb / 1024;
}

async function main(): Promise<void> {
  const one = await startForge();
  const many = await startForge();
  try {
    console.log(`creating 1 tenant on forge A and ${TENANTS} on forge B (${CONCURRENCY} at a time)...`);
    await createMany(one, 1);
    const started = performance.now();
    const times = await createMany(many, TENANTS);
    const total = performance.now() - started;
    console.log(
      `tenant creation: median ${ms(median(times))}, p95 ${ms(percentile(times, 95))}, ` +
        `${TENANTS} in ${(total / 1000).toFixed(1)} s (${((TENANTS * 1000) / total).toFixed(1)}/s)`,
    );

    // The same tenant page on both: t0001's home page (host resolution, the tenant's database).
    const a = new LoadClient({ port: one.port, host: `t0001.localhost:${one.port}` }, 1);
    const b = new LoadClient({ port: many.port, host: `t0001.localhost:${many.port}` }, 1);
    for (let i = 0; i < 20; i++) {
      await a.get("/");
      await b.get("/");
    }
    const onA: number[] = [];
    const onB: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      for (const [client, into] of [
        [a, onA],
        [b, onB],
      ] as const) {
        const res = await client.get("/");
        if (res.status !== 200) throw new Error(`tenant page: HTTP ${res.status}`);
        into.push(res.ms);
      }
    }
    a.close();
    b.close();
    // Pages of many different tenants of forge B, each asked once (nothing of them cached yet).
    const others: number[] = [];
    for (let i = 0; i < Math.min(200, TENANTS); i++) {
      const slug = `t${String(1 + Math.floor((i * TENANTS) / Math.min(200, TENANTS))).padStart(4, "0")}`;
      const client = new LoadClient({ port: many.port, host: `${slug}.localhost:${many.port}` }, 1);
      const res = await client.get("/");
      client.close();
      if (res.status !== 200) throw new Error(`${slug}: HTTP ${res.status}`);
      others.push(res.ms);
    }
    console.log(`tenant page, forge A (1 tenant):          median ${ms(median(onA))}, p95 ${ms(percentile(onA, 95))}`);
    console.log(`tenant page, forge B (${TENANTS} tenants):  median ${ms(median(onB))}, p95 ${ms(percentile(onB, 95))}`);
    console.log(`ratio B / A (median): ${(median(onB) / median(onA)).toFixed(3)}`);
    console.log(
      `first page of ${others.length} different tenants on forge B: median ${ms(median(others))}, p95 ${ms(percentile(others, 95))}`,
    );
    console.log(`workerd RSS: forge A ${workerdRssMiB(one).toFixed(0)} MiB, forge B ${workerdRssMiB(many).toFixed(0)} MiB`);
  } finally {
    for (const forge of [one, many]) {
      await forge.stop();
      rmSync(forge.stateDir, { recursive: true, force: true });
    }
  }
}

await main();
