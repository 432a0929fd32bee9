// How the warm page alone drifts over time (issue 19: bench:scale's "alone" figure): on a kept
// forge state, the blob page of a file at master (bench:scale's warm page), rendered once, then
// requested back to back by one client for BLOCKS blocks of BLOCK requests. Per block: the time
// since the start, the p50 and p90 of the requests, the p50 of the CPU time the forge's workerd
// thread spent across one request (/proc/<pid>/task/<tid>/schedstat), and the forge workerd's
// resident memory. Then the spread of the p50 over windows of 1, 5, 10 and 20 seconds. While
// workerd's RSS grows, a request costs its thread more (fresh pages are faults): how long that lasts
// is how long bench:scale's warm-up must be before "alone" is a figure (bench/lib/warm.ts).
//
//   REPO=/tmp/s4-big/big.git STATE=/tmp/states/big [STORAGE_PROCESS=1] [BLOCKS=40] [BLOCK=250] \
//     [PORT=8760] [ROOT=/work/wt/<base>] npx tsx bench/warm-drift.ts
//
// ROOT runs another checkout's forge on the same state (before/after). The forge runs under the
// scale benchmark's heap limit (MINIFLARE_WORKERD_V8_FLAGS, default --max-old-space-size=100).
// PROMOTED=<folder>: the edge isolate's allocations that outlived a scavenge while the blocks ran
// (what makes its scavenges long and fills its old generation), by site, and the .heapprofile.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HOST, startEdgeforge } from "./lib/edgeforge";
import { LoadClient } from "./lib/load";
import { percentile } from "./lib/report";
import { rss, workerdPids } from "./lib/rss";
import { threadCpuMs } from "./lib/sched";
import { git } from "./lib/run";
import { freePort } from "../test/e2e/runner";
import { startPromotedSampling, topSites } from "./lib/promoted-sampling";

process.env.MINIFLARE_WORKERD_V8_FLAGS ??= "--max-old-space-size=100";
const repo = process.env.REPO ?? "/tmp/s4-big/big.git";
const state = process.env.STATE;
if (!state) throw new Error("STATE=<a kept forge state folder with REPO imported as project repo> is required");
const blocks = Number(process.env.BLOCKS ?? 40);
const perBlock = Number(process.env.BLOCK ?? 250);

const copy = mkdtempSync(join(tmpdir(), "warm-drift-"));
cpSync(state, copy, { recursive: true });
const storage: Record<string, string> = process.env.STORAGE_PROCESS === "1" ? { FORGE_STORAGE_PROCESS: "1" } : {};
const promotedDir = process.env.PROMOTED;
const inspector = promotedDir ? await freePort() : 0;
const forge = await startEdgeforge({ ...storage, ...(promotedDir ? { FORGE_INSPECTOR_PORT: String(inspector) } : {}) }, 600_000, {
  stateDir: copy,
  port: process.env.PORT ? Number(process.env.PORT) : undefined,
  root: process.env.ROOT,
});
const rssMiB = (pid: number) => (rss(pid)?.rss ?? 0) / 2 ** 20;

const files = (await git(["-C", repo, "ls-tree", "-r", "--name-only", "master"])).stdout.split("\n");
const file = files.find((f) => f.endsWith(".ts")) ?? files[0]!;
const url = `/p/repo/source/blob/master/${file.split("/").map(encodeURIComponent).join("/")}`;
const client = new LoadClient({ port: forge.port, host: `${HOST}:${forge.port}` }, 1);
const pid = workerdPids(forge.pid).forge;
const all: { at: number; ms: number }[] = [];
try {
  const first = await client.get(url);
  if (first.status !== 200) throw new Error(`the warm page ${url} answered HTTP ${first.status}`);
  console.log(`warm page ${url}, ${first.bytes} bytes; ${blocks} blocks of ${perBlock} requests`);
  const promoted = promotedDir ? await startPromotedSampling(inspector, "core:user:edge") : null;
  const t0 = performance.now();
  for (let b = 0; b < blocks; b++) {
    const ms: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < perBlock; i++) {
      const before = threadCpuMs(pid);
      const at = performance.now() - t0;
      const r = await client.get(url);
      if (r.status !== 200) throw new Error(`the warm page answered HTTP ${r.status}`);
      ms.push(r.ms);
      all.push({ at, ms: r.ms });
      cpu.push(threadCpuMs(pid) - before);
    }
    console.log(
      `${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s: p50 ${percentile(ms, 50).toFixed(2)} ms, ` +
        `p90 ${percentile(ms, 90).toFixed(2)} ms, workerd thread CPU p50 ${percentile(cpu, 50).toFixed(2)} ms, ` +
        `RSS ${rssMiB(pid).toFixed(0)} MiB`,
    );
  }
  if (promoted) {
    mkdirSync(promotedDir!, { recursive: true });
    const out = join(promotedDir!, "warm-edge.heapprofile");
    const head = await promoted.stop(out);
    console.log(`\nwhat the edge isolate allocated that outlived a scavenge (${out}):`);
    for (const s of topSites(head, 30))
      console.log(`  ${(s.bytes / 2 ** 20).toFixed(2)} MiB ${(100 * s.share).toFixed(1)}% ${s.site}`);
  }
  console.log(
    `\nall ${all.length} requests: p50 ${percentile(
      all.map((r) => r.ms),
      50,
    ).toFixed(2)} ms`,
  );
  for (const seconds of [1, 5, 10, 20]) {
    const windows = new Map<number, number[]>();
    for (const r of all) {
      const w = Math.floor(r.at / (seconds * 1000));
      const xs = windows.get(w) ?? [];
      xs.push(r.ms);
      windows.set(w, xs);
    }
    // The last window is cut short by the end of the run: left out.
    const p50s = [...windows.values()].slice(0, -1).map((xs) => percentile(xs, 50));
    if (p50s.length < 2) continue;
    console.log(
      `p50 over ${String(seconds).padStart(2)} s windows (${p50s.length}): ` +
        `${Math.min(...p50s).toFixed(2)} to ${Math.max(...p50s).toFixed(2)} ms (max/min ${(Math.max(...p50s) / Math.min(...p50s)).toFixed(2)}x)`,
    );
  }
} finally {
  client.close();
  await forge.stop();
  rmSync(copy, { recursive: true, force: true });
}
