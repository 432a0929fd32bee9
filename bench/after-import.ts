// What the forge does after an import until it is idle: imports REPO into a fresh forge (and, with
// MIRROR=1, pushes it --mirror into a second project, as bench:scale does), asks for the tree page at
// master once a second until it is final (with PUSH=1, first one new commit pushed to master, as
// bench:scale's incremental fetch does; PUSH=2: once idle, a second commit on it, timed the same; with STATE=<kept state folder>, a copy of it instead of the
// import), then waits until every isolate is idle (CPU profiles, as
// bench:scale's "forge idle"), and lays the push worker's background jobs on a timeline from its
// `job` and `checkpoint` log lines (services/background-log.ts): derive steps of pushes, checkpoint
// drive runs, last-commit walks, commit-graph builds, with their storage calls; then counts the
// checkpoint steps and graph builds done more than once for the same repository and depth.
// With MIRROR=1 it samples each isolate's used heap during push --mirror; IDLE_BEFORE_MIRROR=1
// waits until the forge is idle after the import before the push (the import's derived work
// done); GHB=1 then times the same push --mirror into git-http-backend.
//
//   REPO=/tmp/g-bench/large.git [MIRROR=1 [IDLE_BEFORE_MIRROR=1] [GHB=1]] [PUSH=1|2] [IDLE_FIRST=1] [STATE=<dir> [KEEP=1] | SAVE_STATE=<new dir>] \
//     [PORT=8500 INSPECTOR_PORT=9500] [ROOT=/work/wt/<name>-base] node --import tsx bench/after-import.ts
//
// ROOT: another checkout's forge (before/after); one without the `job` lines still gives the times
// and its checkpoint steps.
import { startEdgeforge, HOST, importProject } from "./lib/edgeforge";
import { pageAt } from "./lib/probe";
import { waitForIdle } from "./lib/cpu-slices";
import { cachesLine, sampleHeap } from "./lib/heap";
import { startGitHttpBackend } from "./lib/git-http-backend";
import { freePort } from "../test/e2e/runner";
import { basicAuthArgs, CommitMaker, initEmptyBare, mirror } from "./lib/repo";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { gitEnv, run, tempDir } from "./lib/run";
import { join } from "node:path";

const repo = process.env.REPO ?? "/tmp/g-bench/large.git";
process.env.MINIFLARE_WORKERD_V8_FLAGS ??= "--max-old-space-size=100";
const inspector = process.env.INSPECTOR_PORT ? Number(process.env.INSPECTOR_PORT) : await freePort();
// KEEP=1 with STATE: that folder itself, not a copy (to finish a state whose derived work was cut short).
const stateCopy = process.env.STATE && !process.env.KEEP ? mkdtempSync(join(tmpdir(), "after-import-state-")) : undefined;
if (process.env.STATE && stateCopy) cpSync(process.env.STATE, stateCopy, { recursive: true });
// SAVE_STATE=<new dir> (without STATE): the import goes into that folder, kept once the forge is idle,
// with a READY file: the state later runs copy (STATE=<it>).
const saveState = process.env.STATE ? (process.env.KEEP ? process.env.STATE : undefined) : process.env.SAVE_STATE;
if (saveState && !process.env.KEEP && existsSync(saveState)) throw new Error(`SAVE_STATE ${saveState} exists already`);
const forge = await startEdgeforge({ FORGE_LOG: "", FORGE_INSPECTOR_PORT: String(inspector) }, 600_000, {
  stateDir: stateCopy ?? saveState,
  root: process.env.ROOT,
  port: process.env.PORT ? Number(process.env.PORT) : undefined,
});
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
try {
  const t0 = Date.now();
  if (!process.env.STATE) await importProject(forge, "repo", repo);
  const imported = Date.now();
  console.log(`import: ${s(imported - t0)}`);
  const auth = basicAuthArgs({ username: "bench", password: forge.token });
  let uploaded = imported;
  if (process.env.MIRROR) {
    await forge.cli("projects", "create", "bench", "mirror");
    if (process.env.IDLE_BEFORE_MIRROR) {
      await waitForIdle(inspector);
      console.log(`idle after the import: ${s(Date.now() - 3000 - imported)}`);
    }
    const pushStart = Date.now();
    const heap = await sampleHeap(inspector);
    const r = await run("git", [...auth, "-C", repo, "push", "--mirror", `http://${HOST}:${forge.port}/mirror.git`], {
      env: gitEnv,
    });
    const peaks = await heap.stop();
    if (r.code !== 0) throw new Error(`push --mirror: ${r.stderr}`);
    uploaded = Date.now();
    console.log(`push --mirror: ${s(uploaded - pushStart)}`);
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    for (const [isolate, p] of Object.entries(peaks))
      console.log(
        `  peak heap during it, ${isolate}: ${mib(p.used)} used, ${mib(p.withBuffers)} with array buffers` +
          `${p.caches ? `; caches then ${cachesLine(p.caches)}` : ""}`,
      );
    if (process.env.GHB) {
      const dir = tempDir("after-import-ghb-");
      await mirror(repo, join(dir, "repo.git"));
      await initEmptyBare(join(dir, "push.git"));
      const ghb = await startGitHttpBackend(dir, "repo.git");
      try {
        const t = Date.now();
        const g = await run("git", ["-C", repo, "push", "--mirror", `${ghb.url}/push.git`], { env: gitEnv });
        if (g.code !== 0) throw new Error(`push --mirror to git-http-backend: ${g.stderr}`);
        console.log(`push --mirror to git-http-backend: ${s(Date.now() - t)}`);
      } finally {
        await ghb.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  // PUSH=2: the same clone pushes a second commit later, on the first.
  const maker = process.env.PUSH ? await CommitMaker.create(repo) : undefined;
  if (maker) {
    try {
      await maker.commit();
      await maker.push(`http://${HOST}:${forge.port}/repo.git`, auth);
    } finally {
      if (process.env.PUSH !== "2") maker.dispose();
    }
    uploaded = Date.now();
    console.log("pushed one commit to master");
  }
  // IDLE_FIRST=1: no visit until the forge is idle (what the uploads queued on their own), then
  // the tree page's time to final from there.
  let visitFrom = uploaded;
  if (process.env.IDLE_FIRST) {
    await waitForIdle(inspector);
    console.log(`idle before any visit: ${s(Date.now() - 3000 - uploaded)} after the uploads`);
    visitFrom = Date.now();
  }
  const pages = await untilFinal(forge.port, visitFrom);
  const final = Date.now();
  const idle = await waitForIdle(inspector);
  // The last three windows were the quiet ones.
  const busyEnd = Date.now() - 3000;
  console.log(
    `tree page at master final: ${s(final - visitFrom)} after the ${process.env.IDLE_FIRST ? "first visit" : "uploads"} (${pages} requests)`,
  );
  console.log(
    `idle: ${s(busyEnd - uploaded)} after the uploads, ${s(busyEnd - final)} after the page was final (${idle.windows} windows), ` +
      `${s(busyEnd - t0)} after the import began`,
  );
  // PUSH=2: once idle, a second commit pushed on the first (whose answer its derive step stored).
  if (maker && process.env.PUSH === "2") {
    try {
      await maker.commit();
      await maker.push(`http://${HOST}:${forge.port}/repo.git`, auth);
    } finally {
      maker.dispose();
    }
    const second = Date.now();
    const asked = await untilFinal(forge.port, second);
    const secondFinal = Date.now();
    await waitForIdle(inspector);
    console.log(
      `second push: tree page at master final ${s(secondFinal - second)} after it (${asked} requests), ` +
        `idle ${s(Date.now() - 3000 - second)} after it`,
    );
  }
  report(forge.forge.output, uploaded);
  if (saveState) writeFileSync(join(saveState, "READY"), `${new Date().toISOString()} idle after the import of ${repo}\n`);
} finally {
  await forge.stop();
  if (stateCopy) rmSync(stateCopy, { recursive: true, force: true });
}

/** Asks for the tree page at master once a second until it is final; returns how many requests that took. */
async function untilFinal(port: number, from: number): Promise<number> {
  for (let pages = 1; ; pages++) {
    const page = await pageAt(port, "/p/repo/source/tree/master/");
    if (page.status === 200 && page.cc !== "no-store") return pages;
    if (Date.now() - from > 1_200_000) throw new Error("the tree page at master was not final after 20 minutes");
    await new Promise((r) => setTimeout(r, 1000));
  }
}

interface Job {
  job: string;
  at: number;
  ms: number;
  repo: string;
  [k: string]: unknown;
}

function report(output: string, origin: number) {
  const lines = output.split("\n");
  const parse = (prefix: string) =>
    lines.filter((l) => l.startsWith(prefix)).map((l) => JSON.parse(l.slice(prefix.length)) as Record<string, unknown>);
  const jobs = parse("info: job ").map((j) => j as Job);
  const steps = parse("info: checkpoint ");
  console.log(`\ntimeline (s from the end of the uploads; the job's start .. end)`);
  for (const j of jobs.sort((a, b) => a.at - b.at)) {
    const { job, at, ms, repo: r, ...rest } = j;
    const from = (at - origin) / 1000;
    console.log(
      `  ${from.toFixed(1).padStart(7)} .. ${(from + ms / 1000).toFixed(1).padStart(7)}  ${job.padEnd(6)} ${r.slice(0, 8)}  ${JSON.stringify(rest)}`,
    );
  }
  const byKind = new Map<string, { n: number; ms: number; r2: number }>();
  for (const j of jobs) {
    const k = byKind.get(j.job) ?? { n: 0, ms: 0, r2: 0 };
    k.n++;
    k.ms += j.ms;
    k.r2 += Number(j.r2 ?? 0);
    byKind.set(j.job, k);
  }
  console.log("\njobs by kind:");
  for (const [k, v] of byKind) console.log(`  ${k}: ${v.n} runs, ${s(v.ms)} in all, ${v.r2} R2 calls`);
  const seen = new Map<string, number>();
  for (const st of steps) {
    const key = `${st.repo} ${st.depth}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const twice = [...seen].filter(([, n]) => n > 1);
  const byWho = new Map<string, number>();
  for (const st of steps) {
    const who = String(st.by ?? "?").split(" ")[0]!;
    byWho.set(who, (byWho.get(who) ?? 0) + 1);
  }
  console.log(
    `checkpoint steps: ${steps.length} (${seen.size} distinct repository and depth; ${twice.length} done more than once: ` +
      `${twice
        .slice(0, 10)
        .map(([k, n]) => `${k} x${n}`)
        .join(", ")}${twice.length > 10 ? ", ..." : ""}); by ${[...byWho].map(([k, n]) => `${k} ${n}`).join(", ")}`,
  );
  // What reading the id tables (a run's first step) cost each run, against the run's steps.
  const runs = new Map<string, { steps: number; tableMs: number; ms: number }>();
  for (const st of steps) {
    const key = `${String(st.repo).slice(0, 8)} ${st.by ?? "?"}`;
    const r = runs.get(key) ?? { steps: 0, tableMs: 0, ms: 0 };
    const ms = st.ms as Record<string, number>;
    r.steps++;
    r.tableMs += ms.table ?? 0;
    r.ms += (ms.table ?? 0) + ms.list! + ms.walk! + ms.store!;
    runs.set(key, r);
  }
  const all = [...runs.values()];
  console.log(
    `checkpoint runs: ${all.length}; their steps ${s(all.reduce((n, r) => n + r.ms, 0))}, of which reading id tables ` +
      `${s(all.reduce((n, r) => n + r.tableMs, 0))} (${all.filter((r) => r.tableMs > 0).length} runs read them)`,
  );
  const graphs = jobs.filter((j) => j.job === "graph");
  console.log(`graph builds: ${graphs.map((g) => `${g.repo.slice(0, 8)} +${g.added} in ${s(g.ms)}`).join(", ") || "none"}`);
}
