// What holds the warm page during cold pages (issue 19), one kind at a time and quicker than
// bench:scale: imports a repository, waits for the tree page at master to be final, then for each
// kind the warm page (blob at master) alone, then bench:scale's cold pages of that kind with the
// warm page loading beside them, while every workerd isolate (Miniflare's simulators included) is
// CPU-profiled: prints the warm p50 alone and during, each isolate's busy time and the longest
// synchronous slices with the functions that spent them. SLICES_DIR=<folder> keeps the profiles
// (one folder per kind) and prints the thread as one timeline: every isolate's busy samples on the
// shared clock, the stretches in which the thread never went idle, and who spent them.
//
//   REPO=/tmp/g-bench/large.git KINDS=blob,tree,commit npx tsx bench/warm-probe.ts
//   REPO=/tmp/s4-big/big.git STATE=/tmp/s8-big-ckpt-state ROOT=/work/wt/base KINDS=... npx tsx bench/warm-probe.ts
// STATE: a kept forge state folder with REPO imported as project "repo" (made by tree-probe or
// this probe when it has no bench-imported mark): each run works on a fresh copy of it, removed
// after. ROOT runs another checkout's forge on it (before/after on the same state).
import { freePort } from "../test/e2e/runner";
import { mergeSlices, printSlices, profileCpu, waitForIdle, type Slice } from "./lib/cpu-slices";
import { HOST, importProject, startEdgeforge } from "./lib/edgeforge";
import { cachesLine, sampleHeap } from "./lib/heap";
import { LoadClient } from "./lib/load";
import { masterFinal, oldCommitPicks, pageAt } from "./lib/probe";
import { percentile } from "./lib/report";
import { git } from "./lib/run";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { printThreadReport, threadReport } from "./lib/thread-slices";
import { warmUntilSettled } from "./lib/warm";
import { workerdPids } from "./lib/rss";
import { schedLine, schedOf, schedSince, schedTotals, threadCpuMs } from "./lib/sched";

const repo = process.env.REPO ?? "/tmp/g-bench/large.git";
const samples = Number(process.env.SAMPLES ?? 30);
const warmSamples = Number(process.env.WARM_SAMPLES ?? 300);
const kinds = (process.env.KINDS ?? "blob").split(",");
// Kept per kind below; the idle waits' profiles are not kept.
const slicesDir = process.env.SLICES_DIR;
delete process.env.SLICES_DIR;
process.env.MINIFLARE_WORKERD_V8_FLAGS ??= "--max-old-space-size=100";

const enc = (p: string) => p.split("/").map(encodeURIComponent).join("/");
const picks = await oldCommitPicks(repo, samples);
const tipFile = (await git(["-C", repo, "ls-tree", "-r", "--name-only", "master"])).stdout
  .split("\n")
  .find((f) => f.endsWith(".ts"))!;
const base = "/p/repo/source";
const urlsOf: Record<string, (p: { commit: string; file: string }, i: number) => string> = {
  tree: (p) => `${base}/tree/${p.commit}/`,
  blob: (p) => `${base}/blob/${p.commit}/${enc(p.file)}`,
  blame: (p) => `${base}/blame/${p.commit}/${enc(p.file)}`,
  log: (p) => `${base}/log/${p.commit}`,
  pathlog: (p) => `${base}/log/${p.commit}/${enc(p.file)}`,
  commit: (p) => `${base}/commit/${p.commit}`,
  compare: (p, i) => `${base}/compare/${picks[Math.min(picks.length - 1, i + 1)]!.commit}...${p.commit}`,
};

// PORT / INSPECTOR_PORT: ports of one's own on a machine shared with other benchmarks.
const inspector = Number(process.env.INSPECTOR_PORT ?? 0) || (await freePort());
const kept = process.env.STATE;
if (kept && !existsSync(join(kept, "bench-imported"))) {
  const first = await startEdgeforge({}, 600_000, {
    stateDir: kept,
    root: process.env.ROOT,
    port: Number(process.env.PORT ?? 0) || undefined,
  });
  await importProject(first, "repo", repo);
  await masterFinal((path) => pageAt(first.port, path));
  await first.stop();
  writeFileSync(join(kept, "bench-imported"), "");
}
const copy = kept ? mkdtempSync(join(tmpdir(), "warm-probe-")) : undefined;
if (kept && copy) cpSync(kept, copy, { recursive: true });
// A start that hangs (workerd's sweep livelock, bench/scale-results.md) is tried again.
const forge = await (async () => {
  for (let attempt = 1; ; attempt++) {
    try {
      const storage: Record<string, string> = process.env.STORAGE_PROCESS === "1" ? { FORGE_STORAGE_PROCESS: "1" } : {};
      return await startEdgeforge({ FORGE_INSPECTOR_PORT: String(inspector), ...storage }, 600_000, {
        stateDir: copy,
        root: process.env.ROOT,
        port: Number(process.env.PORT ?? 0) || undefined,
      });
    } catch (err) {
      if (attempt >= 3) throw err;
      console.error(`forge start ${attempt} failed, again`);
    }
  }
})();
const client = new LoadClient({ port: forge.port, host: `${HOST}:${forge.port}` }, 1);
const warm = new LoadClient({ port: forge.port, host: `${HOST}:${forge.port}` }, 1);
const warmUrl = `${base}/blob/master/${enc(tipFile)}`;
// workerd's main thread runs every worker, Durable Object and simulator (R2's, KV's and D1's in
// the storage process with STORAGE_PROCESS=1): its CPU time across a warm request is the work the
// request waited behind plus its own, whatever the OS did meanwhile.
const workerds = workerdPids(forge.pid);
const workerdPid = workerds.forge;
let warmCpu: number[] = [];
const loop = async (until: () => boolean) => {
  const out: number[] = [];
  warmCpu = [];
  while (!until()) {
    const cpu = threadCpuMs(workerdPid);
    out.push((await warm.get(warmUrl)).ms);
    warmCpu.push(threadCpuMs(workerdPid) - cpu);
  }
  return out;
};
try {
  let t = performance.now();
  if (!kept) await importProject(forge, "repo", repo);
  console.log(`import ${(performance.now() - t).toFixed(0)} ms`);
  t = performance.now();
  // FINAL_WAIT_S: wait at most this long (a state whose checkpoints are still being made, on a busy
  // machine; the tree page is then partial and its kind not comparable).
  const final = await masterFinal((path) => pageAt(forge.port, path), Number(process.env.FINAL_WAIT_S ?? Infinity) * 1000);
  console.log(`master ${final ? "final" : "NOT final"} after ${(performance.now() - t).toFixed(0)} ms`);
  const warmedUp = await warmUntilSettled(() => warm.get(warmUrl), workerdPid, warmSamples);
  console.log(
    `warm-up ${warmedUp.requests} requests in ${warmedUp.seconds.toFixed(0)} s, workerd ${warmedUp.rssMiB.toFixed(0)} MiB${warmedUp.settled ? "" : " (still growing)"}`,
  );
  for (const kind of kinds) {
    await waitForIdle(inspector);
    let m = 0;
    // What the OS gave workerd (and the forge's other processes: the runner, its front) meanwhile.
    const sched = () => ({
      workerd: schedOf([workerdPid]),
      storage: schedOf(workerds.storage ? [workerds.storage] : []),
      all: schedTotals(forge.pid),
    });
    const s0 = sched();
    const alone = await loop(() => m++ >= warmSamples);
    const aloneCpu = warmCpu;
    const s1 = sched();
    let done = false;
    // NO_WARM=1: the cold pages without the warm client beside them (what the turns cost them).
    const during = process.env.NO_WARM ? Promise.resolve([Number.NaN]) : loop(() => done);
    // HEAP=1: the used heap of each forge isolate instead of CPU profiles (one inspector session each).
    // BARE=1: neither (no inspector session during the cold pages).
    // HEAP=live: collect garbage before each sample (what is held, not what is not reclaimed yet).
    const live = process.env.HEAP === "live";
    const heap = process.env.HEAP ? await sampleHeap(inspector, live ? 250 : 100, false, live) : null;
    const profiler = heap || process.env.BARE ? null : await profileCpu(inspector, 1000, true);
    const cold: number[] = [];
    const coldCpu: number[] = [];
    const coldStorageCpu: number[] = [];
    const coldTurns: number[] = [];
    let r2 = 0;
    let whole = 0;
    let cacheCalls = 0;
    let idxGets = 0;
    let packGets = 0;
    let bytes = 0;
    try {
      for (const [i, p] of picks.entries()) {
        const cpu = threadCpuMs(workerdPid);
        const storageCpu = workerds.storage ? threadCpuMs(workerds.storage) : 0;
        const r = await client.get(urlsOf[kind]!(p, i));
        coldCpu.push(threadCpuMs(workerdPid) - cpu);
        if (workerds.storage) coldStorageCpu.push(threadCpuMs(workerds.storage) - storageCpu);
        cold.push(r.ms);
        r2 += r.r2Calls ?? 0;
        whole += r.calls?.whole ?? 0;
        cacheCalls += r.calls?.cache ?? 0;
        idxGets += r.calls?.idx ?? 0;
        packGets += r.calls?.pack ?? 0;
        bytes += r.calls?.bytes ?? 0;
        coldTurns.push(r.calls?.turns ?? 0);
      }
    } finally {
      done = true;
    }
    const d = await during;
    const duringCpu = warmCpu;
    const s2 = sched();
    const slices: Record<string, { busyMs: number; slices: Slice[] }> = {};
    if (slicesDir) mkdirSync((process.env.SLICES_DIR = join(slicesDir, kind)), { recursive: true });
    if (profiler) mergeSlices(slices, await profiler.stop(), 8);
    delete process.env.SLICES_DIR;
    console.log(
      `\n== ${kind}: cold p50 ${percentile(cold, 50).toFixed(1)} ms, p99 ${percentile(cold, 99).toFixed(1)} ms; warm alone p50 ${percentile(alone, 50).toFixed(1)} ms ` +
        `(${alone.length}), during p50 ${percentile(d, 50).toFixed(1)} ms (${d.length}): ` +
        `${(percentile(d, 50) / percentile(alone, 50)).toFixed(2)}x; warm wall p99 alone ${percentile(alone, 99).toFixed(1)} ms, ` +
        `during ${percentile(d, 99).toFixed(1)} ms; R2 calls per cold page ${(r2 / picks.length).toFixed(1)} ` +
        `(whole GETs ${(whole / picks.length).toFixed(2)}; index GETs ${(idxGets / picks.length).toFixed(1)}, ` +
        `pack GETs ${(packGets / picks.length).toFixed(1)}, ${(bytes / picks.length / 1024).toFixed(0)} KiB), Cache API calls ${(cacheCalls / picks.length).toFixed(2)}`,
    );
    const pct = (xs: number[], p: number) => percentile(xs, p).toFixed(2);
    console.log(
      `  workerd main thread's CPU per warm request: alone p50 ${pct(aloneCpu, 50)} ms, p99 ${pct(aloneCpu, 99)} ms; ` +
        `during p50 ${pct(duringCpu, 50)} ms, p99 ${pct(duringCpu, 99)} ms: ${(percentile(duringCpu, 50) / percentile(aloneCpu, 50)).toFixed(2)}x`,
    );
    // A cold page's work between two of its turns, warm requests' work included: what a warm
    // request arriving meanwhile waits for (on average about half of it).
    const stretches = coldCpu.map((ms, i) => ms / (coldTurns[i]! + 1));
    console.log(
      `  cold page: workerd main thread's CPU p50 ${pct(coldCpu, 50)} ms, turns p50 ${percentile(coldTurns, 50)}, ` +
        `CPU per stretch between turns p50 ${pct(stretches, 50)} ms, max ${Math.max(...stretches).toFixed(2)} ms` +
        (workerds.storage ? `; the storage workerd's main thread's CPU p50 ${pct(coldStorageCpu, 50)} ms` : ""),
    );
    console.log(`  workerd alone: ${schedLine(schedSince(s0.workerd, s1.workerd), alone.length)}`);
    console.log(`  workerd during: ${schedLine(schedSince(s1.workerd, s2.workerd), d.length)}`);
    if (workerds.storage) {
      console.log(`  storage workerd alone: ${schedLine(schedSince(s0.storage, s1.storage), alone.length)}`);
      console.log(`  storage workerd during: ${schedLine(schedSince(s1.storage, s2.storage), d.length)}`);
    }
    console.log(`  whole forge alone: ${schedLine(schedSince(s0.all, s1.all), alone.length)}`);
    console.log(`  whole forge during: ${schedLine(schedSince(s1.all, s2.all), d.length)}`);
    if (heap)
      for (const [isolate, peak] of Object.entries(await heap.stop())) {
        console.log(
          `  peak used heap ${isolate}: ${(peak.used / 2 ** 20).toFixed(1)} MiB (with buffers ${(peak.withBuffers / 2 ** 20).toFixed(1)})`,
        );
        if (peak.caches) console.log(`    its caches then: ${cachesLine(peak.caches)}`);
      }
    else if (profiler) {
      printSlices(`cold ${kind} pages`, slices);
      if (slicesDir) printThreadReport(`cold ${kind} pages`, threadReport(join(slicesDir, kind)));
    }
  }
} finally {
  client.close();
  warm.close();
  await forge.stop();
  if (copy) rmSync(copy, { recursive: true, force: true });
}
