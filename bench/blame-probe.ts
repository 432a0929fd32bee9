// Where the time of a cold blame page of the long file goes (issue 19): imports a repository made
// with bench:gen-large --long-file into a local forge, waits for the tree page at master to be
// final (the commit-graph is built), then asks for the blame page of the long file at master and at
// older commits as bench:scale does: once, then again every second until complete, printing each
// response's time, whether it was partial and its Server-Timing (blame: the walk's time in that
// request; blame-reads, -diffs, -steps: what it did), and the CPU time workerd used from the first
// request to the complete page (from /proc: on a loaded machine the wall times move by 2x, the CPU
// time much less; workerd's CPU in the 2 s before is printed too, to see background work). PROFILE=<file> records a CPU profile of the
// edge isolate from the first request to the last complete page (open it in Chrome's DevTools).
//
//   REPO=/tmp/s5-blame/long.git POINTS=1 PROFILE=/tmp/blame.cpuprofile node --import tsx bench/blame-probe.ts
//   PORT=8600 INSPECTOR_PORT=9600: fixed ports instead of free ones; STATE=<dir>: keep and reuse a state folder
//   (PREPARE=1 STATE=<dir>: import and wait for the commit-graph only, then copy the folder per run).
//   JOIN=300 POINTS=2 node --import tsx bench/blame-probe.ts   (a second request joins the first's run)
//   EVERY=100: ask again 100 ms after a partial page (default 1,000 ms).
//   HEAP=1: the edge isolate's peak used heap, and with array buffers, sampled every 100 ms from the
//   first request to the last (not with PROFILE: both use the inspector); HEAP=live collects garbage
//   before each sample (every 250 ms): what is held, not what the collector has not reclaimed yet.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../test/e2e/runner";
import { importProject, startEdgeforge } from "./lib/edgeforge";
import { LONG_FILE } from "./lib/long-file";
import { longFilePoints } from "./lib/long-file-blame";
import { cachesLine, sampleHeap } from "./lib/heap";
import { masterFinal, pageAt, profileEdge } from "./lib/probe";
import { treePids } from "./lib/rss";

const repo = process.env.REPO ?? "/tmp/s5-blame/long.git";
// EVERY=<ms>: the wait before asking again after a partial page (1,000 as bench:scale; a short one
// times the complete page closely, as the next request waits for the run up to 1.5 s).
const every = Number(process.env.EVERY ?? 1000);
process.env.MINIFLARE_WORKERD_V8_FLAGS ??= "--max-old-space-size=100";
const points = (await longFilePoints(repo))?.slice(0, Number(process.env.POINTS ?? 5));
if (!points) throw new Error(`${repo} has no ${LONG_FILE} (bench:gen-large --long-file)`);

// PORT / INSPECTOR_PORT: fixed ports (helpers sharing a machine keep to their own ranges).
const inspector = Number(process.env.INSPECTOR_PORT ?? (await freePort()));
// STATE=<dir>: a forge state folder to use and keep; the repository is imported into it only once
// (copy a prepared one per run: the first run caches the blame pages it makes).
const stateDir = process.env.STATE;
const forge = await startEdgeforge({ FORGE_INSPECTOR_PORT: String(inspector) }, undefined, {
  stateDir,
  port: process.env.PORT ? Number(process.env.PORT) : undefined,
});
const get = (path: string) => pageAt(forge.port, path);
try {
  let t = performance.now();
  const marker = stateDir ? join(stateDir, "blame-probe-imported") : null;
  if (!marker || !existsSync(marker)) {
    await importProject(forge, "repo", repo);
    if (marker) writeFileSync(marker, `${repo}\n`);
  }
  console.log(`import ${(performance.now() - t).toFixed(0)} ms`);
  t = performance.now();
  await masterFinal(get);
  console.log(`master final ${(performance.now() - t).toFixed(0)} ms`);
  // PREPARE=1: only import, wait for the commit-graph and for the background work to end (no blame page
  // is asked for), to keep the state folder for later runs.
  const profiler = process.env.PROFILE ? await profileEdge(inspector) : null;
  // CPU seconds (user + system) of the forge's workerd processes, from /proc/<pid>/stat.
  const cpu = () =>
    treePids(forge.pid, /workerd/).reduce((sum, pid) => {
      try {
        const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
        return sum + (Number(fields[11]) + Number(fields[12])) / 100;
      } catch {
        return sum;
      }
    }, 0);
  // PREPARE: wait (up to 15 minutes) for the background work the import started (the last-commit
  // checkpoints, on the edge's thread) to end, so that runs on copies of the folder measure blame alone.
  for (let idle = 0, waited = 0; process.env.PREPARE && idle < 2 && waited < 900; waited += 5) {
    const before = cpu();
    await new Promise((res) => setTimeout(res, 5000));
    const used = cpu() - before;
    idle = used < 0.25 ? idle + 1 : 0;
    console.log(`background: workerd CPU ${(used * 1000).toFixed(0)} ms in 5 s`);
  }
  const quiet = cpu();
  await new Promise((res) => setTimeout(res, 2000));
  console.log(`workerd CPU in the 2 s before: ${((cpu() - quiet) * 1000).toFixed(0)} ms`);
  const live = process.env.HEAP === "live";
  const heap = process.env.HEAP ? await sampleHeap(inspector, live ? 250 : 100, false, live) : null;
  const enc = (p: string) => p.split("/").map(encodeURIComponent).join("/");
  for (const p of process.env.PREPARE ? [] : points) {
    const url = `/p/repo/source/blame/${p.commit}/${enc(LONG_FILE)}`;
    const started = performance.now();
    const cpuAtStart = cpu();
    // JOIN=<ms>: a second request for the same page that long after the first, while it runs
    // (its Server-Timing says blame-joined=1 when it joined the first one's blame run).
    if (process.env.JOIN)
      setTimeout(async () => {
        const r = await get(url);
        console.log(
          `${p.label} joining request ${r.status} ${r.ms.toFixed(0)} ms${r.cc === "no-store" ? " PARTIAL" : ""} | ${r.st}`,
        );
      }, Number(process.env.JOIN));
    for (let n = 0; ; n++) {
      const r = await get(url);
      const partial = r.cc === "no-store";
      console.log(
        `${p.label} (${p.revisions} revisions) #${n} ${r.status} ${r.ms.toFixed(0)} ms${partial ? " PARTIAL" : ""}, ${(performance.now() - started).toFixed(0)} ms since the first | ${r.st}`,
      );
      if (!partial || r.status !== 200 || performance.now() - started > 60_000) {
        console.log(`${p.label}: workerd CPU ${((cpu() - cpuAtStart) * 1000).toFixed(0)} ms from the first request to the last`);
        break;
      }
      await new Promise((res) => setTimeout(res, every));
    }
  }
  await profiler?.stop(process.env.PROFILE!);
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  for (const [worker, peak] of Object.entries((await heap?.stop()) ?? {})) {
    console.log(`${worker}: peak used heap ${mib(peak.used)}, with array buffers ${mib(peak.withBuffers)}`);
    if (peak.caches) console.log(`  its caches then: ${cachesLine(peak.caches)}`);
  }
} finally {
  await forge.stop();
}
