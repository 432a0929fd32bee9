// `npm run bench:scale`: a repository of git/git's shape (bench:gen-large) through the whole forge,
// under a 100 MB isolate heap: import, push --mirror, clone and incremental fetch against C git's
// git-http-backend, then cold pages of every kind at old commits (against cgit where it has the
// page) while a second client loads a warm page, and the used V8 heap of each isolate.
//
//   npm run bench:gen-large -- --size-mb 500 --commits 70000 --branches 700 --depth 6 --out /tmp/big.git
//   npm run bench:scale -- --repo /tmp/big.git [--samples 30] [--seconds 5] [--warm-samples 500] [--alone-seconds 5]
//     [--skip-git] [--skip-cgit] [--skip-pages] [--only-blame] [--profile] [--phase-limit 1200]
//     [--state <dir>] [--port N] [--inspector-port N] [--storage-process]
//
// --storage-process: the forge runs with FORGE_STORAGE_PROCESS=1 (R2, KV and D1 simulators in a
// second workerd, scripts/local/storage-process.ts), so the warm page waits behind the forge's own
// work and not the R2 simulator's, as on Cloudflare; the warm table and line say so. The storage
// workerd runs at nice 19 (STORAGE_NICE=<n> for another value, 0 for none): storage on Cloudflare
// takes no core of the forge's, and on a 2-core machine the simulators' CPU otherwise competed with
// the forge's thread for one. With --state, a run with it and one without on the same state give
// the two sets of warm rows.
//
// --state: a kept forge state folder with the repository imported as project "repo" (bench/tree-probe.ts
// STATE makes one): the run copies it, skips the uploads, the import and the git rows, and goes
// straight to the pages. --port / --inspector-port: the forge's ports (default: free ones).
//
// Uploads: a second client loads the blob page of a small project alone (for --seconds), then
// during the import and during push --mirror; its p50/p99 and the delay they add (issue 19's
// "uploads never block": at most 100 ms p99).
//
// Cold: --samples different old commits (spread over the older two thirds of master's first-parent
// history), one URL each per kind, requested once, one at a time. Warm: the blob page of a file at
// master, already rendered once, requested in a loop by a second client: its p50 alone, then during
// the cold run, then alone again. "Alone" starts only once every isolate is idle (CPU profiles
// through the inspector: the work left by the import has finished) and lasts --alone-seconds and
// at least --warm-samples requests. Heap: peak of Runtime.getHeapUsage per isolate and phase.
// Blame: when the repository has bench:gen-large's --long-file, cold blame of it at master and
// older commits against git blame and cgit (bench/lib/long-file-blame.ts), before the cold pages;
// --only-blame stops after it. Calls: each cold page's R2 calls (ranged and whole GETs, bytes,
// heads, lists), Cache API, KV, D1, Durable Object and service calls, p50 and max per kind, from
// its Server-Timing.
import { parseArgs } from "node:util";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { workerdV8Flags } from "../scripts/local/config";
import { freePort } from "../test/e2e/runner";
import { startCgit, cgitPages } from "./lib/cgit";
import { HOST, importProject, startEdgeforge, type Edgeforge } from "./lib/edgeforge";
import { startGitHttpBackend } from "./lib/git-http-backend";
import { sampleHeap, type HeapPeak } from "./lib/heap";
import { mergeSlices, printSlices, profileCpu, waitForIdle, type Slice } from "./lib/cpu-slices";
import { printCalls } from "./lib/calls";
import { LoadClient, type Response } from "./lib/load";
import { oldCommitPicks } from "./lib/probe";
import { longFileBlameTable } from "./lib/long-file-blame";
import { basicAuthArgs, CommitMaker, initEmptyBare, mirror, repoInfo } from "./lib/repo";
import { percentile, printTable, format, type Cell, type Row } from "./lib/report";
import { git, gitEnv, run, tempDir } from "./lib/run";
import { storageNice } from "./lib/sched";
import { longestWarm, smallProject, warmAlone, warmDuring, warmRows, warmUntilSettled } from "./lib/warm";
import { WarmThread } from "./lib/warm-thread";
import { workerdPids } from "./lib/rss";
import { killWorkerdBelow, watchdog } from "./lib/watchdog";

const { values: opts } = parseArgs({
  options: {
    repo: { type: "string" },
    samples: { type: "string", default: "30" },
    seconds: { type: "string", default: "5" },
    /** The warm page's requests alone (before and after the cold pages): at least this many. */
    "warm-samples": { type: "string", default: "500" },
    /** ... and for at least this many seconds before each kind. */
    "alone-seconds": { type: "string", default: "5" },
    /** A phase that runs longer fails the run, after a CPU profile of every isolate (a hang says where). */
    "phase-limit": { type: "string", default: "1200" },
    "skip-git": { type: "boolean" },
    "skip-cgit": { type: "boolean" },
    /** Only the uploads and git rows: no cold pages, no wait for derived data. */
    "skip-pages": { type: "boolean" },
    /** Only the import and the blame row (with --skip-git): no cold pages. */
    "only-blame": { type: "boolean" },
    /** CPU-profile each isolate during the import, the push and the cold pages: print the longest synchronous slices. */
    profile: { type: "boolean" },
    state: { type: "string" },
    port: { type: "string" },
    "inspector-port": { type: "string" },
    "storage-process": { type: "boolean" },
  },
});
if (!opts.repo) throw new Error("--repo <bare repository> is required (make one with npm run bench:gen-large)");
const repo = opts.repo;
const samples = Number(opts.samples);
const seconds = Number(opts.seconds);
const warmSamples = Number(opts["warm-samples"]);
const aloneSeconds = Number(opts["alone-seconds"]);
// Cloudflare gives an isolate 128 MB; 100 keeps a margin (the runner passes it to workerd).
process.env.MINIFLARE_WORKERD_V8_FLAGS ??= "--max-old-space-size=100";

const KINDS = ["tree", "blob", "blame", "log", "log of a path", "commit", "compare"] as const;
type Kind = (typeof KINDS)[number];

const enc = (path: string) => path.split("/").map(encodeURIComponent).join("/");
const ef = (project: string) => {
  const base = `/p/${project}/source`;
  return {
    tree: (c: string) => `${base}/tree/${c}/`,
    blob: (c: string, p: string) => `${base}/blob/${c}/${enc(p)}`,
    blame: (c: string, p: string) => `${base}/blame/${c}/${enc(p)}`,
    log: (c: string) => `${base}/log/${c}`,
    pathLog: (c: string, p: string) => `${base}/log/${c}/${enc(p)}`,
    commit: (c: string) => `${base}/commit/${c}`,
    compare: (a: string, b: string) => `${base}/compare/${a}...${b}`,
  };
};

const heapRows: Row[] = [];
const peaks = (label: string, p: Record<string, HeapPeak>) => {
  for (const [isolate, peak] of Object.entries(p))
    heapRows.push({ label: `${label}: ${isolate}`, unit: "bytes", values: [peak.used] });
};

const info = await repoInfo(repo);
console.log(`repository ${repo}: ${info.objects} objects, pack ${format(info.packBytes, "bytes")}, ${info.refs} refs`);
// What the runner hands workerd: the value above plus the livelock flag (scripts/local/config.ts).
console.log(`workerd V8 flags: ${workerdV8Flags()}`);

// Old commits and, for each, a file it changed (for blob, blame and path logs).
const picks = await oldCommitPicks(repo, samples);
const tipFile = (await git(["-C", repo, "ls-tree", "-r", "--name-only", "master"])).stdout
  .split("\n")
  .find((f) => f.endsWith(".ts"))!;

const inspector = opts["inspector-port"] ? Number(opts["inspector-port"]) : await freePort();
// A kept state is copied: the run's forge writes to its state (caches, derived data).
const stateCopy = opts.state ? mkdtempSync(join(tmpdir(), "scale-state-")) : undefined;
if (opts.state && stateCopy) cpSync(opts.state, stateCopy, { recursive: true });
// Progress on stderr, so a phase that hangs is named (the tables print at the end), and a phase
// past --phase-limit is profiled before the run fails.
let heldSampler: { stop(): Promise<unknown> } | undefined;
const dog = watchdog({
  inspectorPort: inspector,
  limitS: Number(opts["phase-limit"]),
  dir: tempDir("scale-hang-"),
  release: async () => {
    await heldSampler?.stop();
  },
  fail: (message) => {
    console.error(message);
    killWorkerdBelow(process.pid);
    process.exit(2);
  },
});
const step = dog.step;
// Its own phase: one run's forge never became ready (workerd spinning during the demo import).
step("starting the forge");
// The watchdog looks first: the runner stops a forge that does not start in time.
const forge: Edgeforge = await startEdgeforge(
  { FORGE_INSPECTOR_PORT: String(inspector), ...(opts["storage-process"] ? { FORGE_STORAGE_PROCESS: "1" } : {}) },
  (Number(opts["phase-limit"]) + 300) * 1000,
  { stateDir: stateCopy, port: opts.port ? Number(opts.port) : undefined },
);
const timings: Row[] = [];
// workerd's inspector takes one session per isolate: no heap samples while profiling.
const heapSampler = async () => {
  const s = opts.profile ? { stop: async () => ({}) as Record<string, HeapPeak> } : await sampleHeap(inspector);
  heldSampler = s;
  return s;
};
try {
  if (stateCopy) await pagesAndWarm();
  else await uploadsAndGit();
} finally {
  dog.stop();
  await forge.stop();
  if (stateCopy) rmSync(stateCopy, { recursive: true, force: true });
}

async function uploadsAndGit() {
  // ---- A small project's warm page alone, then during the import and push --mirror.
  const uploadClient = new LoadClient({ port: forge.port, host: `${HOST}:${forge.port}` }, 1);
  step("small project and its warm page alone");
  const smallUrl = await smallProject(forge, uploadClient);
  const uploads: { alone: number[]; import?: number[]; push?: number[] } = {
    alone: await warmAlone(uploadClient, smallUrl, seconds),
  };

  // ---- Import, push --mirror, clone, incremental fetch.
  const profiled = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    if (!opts.profile) return work();
    const profiler = await profileCpu(inspector);
    try {
      return await work();
    } finally {
      printSlices(label, await profiler.stop());
    }
  };
  // workerd's inspector takes one session per isolate: no heap samples while profiling.
  let sampler = await heapSampler();
  step("forge repos import, with the warm page");
  const t = performance.now();
  const imported = await warmDuring(uploadClient, smallUrl, () => profiled("import", () => importProject(forge, "repo", repo)));
  uploads.import = imported.ms;
  console.error(`longest warm requests during the import: ${longestWarm(imported)}`);
  const importMs = performance.now() - t;
  peaks("import", await sampler.stop());
  timings.push({ label: "forge repos import", unit: "ms", values: [importMs, "-"] });

  const auth = { username: "bench", password: forge.token };
  const gitRows: Row[] = [];
  if (!opts["skip-git"]) {
    const root = tempDir("scale-ghb-");
    await mirror(repo, join(root, "repo.git"));
    const ghb = await startGitHttpBackend(root, "repo.git");
    try {
      const timeGit = async (args: string[]) => {
        const start = performance.now();
        const r = await run("git", args, { env: gitEnv });
        if (r.code !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
        return performance.now() - start;
      };
      // push --mirror into an empty repository.
      step("push --mirror, with the warm page");
      await initEmptyBare(join(root, "push.git"));
      await forge.cli("projects", "create", "bench", "mirror");
      sampler = await heapSampler();
      const pushed = await warmDuring(uploadClient, smallUrl, () =>
        profiled("push --mirror", () =>
          timeGit([...basicAuthArgs(auth), "-C", repo, "push", "--mirror", `http://${HOST}:${forge.port}/mirror.git`]),
        ),
      );
      const pushEf = pushed.result;
      uploads.push = pushed.ms;
      console.error(`longest warm requests during push --mirror: ${longestWarm(pushed)}`);
      peaks("push --mirror", await sampler.stop());
      const pushGhb = await timeGit(["-C", repo, "push", "--mirror", `${ghb.url}/push.git`]);
      gitRows.push({ label: "push --mirror to an empty repository", unit: "ms", values: [pushEf, pushGhb] });
      // clone.
      step("clone");
      const dir = tempDir("scale-clone-");
      sampler = await heapSampler();
      const cloneEf = await timeGit([
        ...basicAuthArgs(auth),
        "clone",
        "--bare",
        "-q",
        `http://${HOST}:${forge.port}/repo.git`,
        join(dir, "ef.git"),
      ]);
      peaks("clone", await sampler.stop());
      const cloneGhb = await timeGit(["clone", "--bare", "-q", `${ghb.url}/repo.git`, join(dir, "ghb.git")]);
      gitRows.push({ label: "clone", unit: "ms", values: [cloneEf, cloneGhb] });
      // Incremental fetch: one new commit on master, pushed to each, fetched by the clone. A
      // failure is a row of its own: the upload rows above must still print.
      step("incremental fetch");
      try {
        const maker = await CommitMaker.create(repo);
        try {
          await maker.commit();
          await maker.push(`http://${HOST}:${forge.port}/repo.git`, basicAuthArgs(auth));
          await maker.push(`${ghb.url}/repo.git`);
        } finally {
          maker.dispose();
        }
        const fetchEf = await timeGit([
          ...basicAuthArgs(auth),
          "-C",
          join(dir, "ef.git"),
          "fetch",
          "-q",
          "origin",
          "+master:master",
        ]);
        const fetchGhb = await timeGit(["-C", join(dir, "ghb.git"), "fetch", "-q", "origin", "+master:master"]);
        gitRows.push({ label: "incremental fetch (one new commit)", unit: "ms", values: [fetchEf, fetchGhb] });
      } catch (err) {
        const reason = String((err as Error).message ?? err).slice(-120);
        console.error(`incremental fetch failed: ${reason}`);
        gitRows.push({ label: "incremental fetch (one new commit)", unit: "ms", values: [`failed: ${reason}`, "-"] });
      }
      rmSync(dir, { recursive: true, force: true });
    } finally {
      await ghb.stop();
      rmSync(root, { recursive: true, force: true });
    }
    printTable("git (wall time)", ["edgeforge", "git-http-backend"], gitRows, [[0, 1]]);
  }
  const uploadColumns = [uploads.alone, uploads.import, ...(uploads.push ? [uploads.push] : [])];
  printTable(
    "warm page (blob of a small project) from a second client, during uploads",
    ["alone", "during the import", ...(uploads.push ? ["during push --mirror"] : [])],
    warmRows(uploadColumns),
    uploads.push
      ? [
          [1, 0],
          [2, 0],
        ]
      : [[1, 0]],
  );
  uploadClient.close();
  if (opts["skip-pages"]) {
    printTable("set-up (wall time)", ["edgeforge", ""], timings);
    printTable("used V8 heap, peak per isolate", ["peak"], heapRows);
  } else await pagesAndWarm();
}

async function pagesAndWarm() {
  // ---- Derived data: the tree page at master until it is final (its last-commit walk ran).
  const client = new LoadClient({ port: forge.port, host: `${HOST}:${forge.port}` }, 1);
  const pages = ef("repo");
  step("tree page at master until final");
  const t = performance.now();
  for (;;) {
    const r = await client.get(pages.tree("master"));
    if (r.status === 200 && r.cacheControl !== "no-store") break;
    if (performance.now() - t > 1_200_000) throw new Error("the tree page at master was not final after 20 minutes");
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  timings.push({ label: "tree page at master final after the import", unit: "ms", values: [performance.now() - t, "-"] });

  step("cold blame of the long file");
  await longFileBlameTable(repo, client, pages.blame, { cgit: !opts["skip-cgit"] });
  if (opts["only-blame"]) {
    printTable("set-up (wall time)", ["edgeforge", ""], timings);
    return client.close();
  }

  // ---- The warm page, alone and during the cold pages, in turns: before each kind's cold pages,
  // once every isolate is idle (the work left by the import or by the last kind has finished), the
  // warm page alone for at least --warm-samples requests and --alone-seconds; then that kind's cold
  // pages with the warm page loading beside them. Taking "alone" in turns with "during" lets a
  // machine whose load changes weigh on both alike. Before the first, a warm-up until the forge's
  // memory settles: while workerd's RSS grows a warm request cost the forge's thread twice the CPU
  // (bench/scale-results.md, session 19), and "alone" taken then read up to twice the settled p50.
  const warm = new LoadClient({ port: forge.port, host: `${HOST}:${forge.port}` }, 1);
  const warmUrl = pages.blob("master", tipFile);
  const once = async () => {
    const r = await warm.get(warmUrl);
    if (r.status !== 200) throw new Error(`the warm page ${warmUrl} answered HTTP ${r.status}`);
    return r.ms;
  };
  // Measured: on a thread of its own, so that the bench's handling of the cold pages' answers is
  // not counted in the warm page's (bench/lib/warm-thread.ts).
  const warmThread = WarmThread.start({ port: forge.port, host: `${HOST}:${forge.port}` }, warmUrl);
  // Unmeasured: the first requests compile the page's code (V8's tiers) and fill its caches, and
  // go on until workerd's resident memory has settled (warmUntilSettled).
  step("the warm page, unmeasured warm-up until the forge's memory settles");
  const warmedUp = await warmUntilSettled(once, workerdPids(forge.pid).forge, warmSamples);
  console.error(
    `warm-up: ${warmedUp.requests} requests in ${warmedUp.seconds.toFixed(0)} s, the forge's workerd at ${warmedUp.rssMiB.toFixed(0)} MiB` +
      (warmedUp.settled ? "" : " (still growing: alone may read high)"),
  );
  const aloneNow = async (label: string) => {
    step(`waiting until every isolate is idle (${label})`);
    const t = performance.now();
    const idle = await waitForIdle(inspector);
    idleWaits.push({ label, ms: performance.now() - t, windows: idle.windows });
    step(`the warm page alone (${label})`);
    warmThread.begin();
    await new Promise((resolve) => setTimeout(resolve, aloneSeconds * 1000));
    return warmThread.end(warmSamples);
  };
  const idleWaits: { label: string; ms: number; windows: number }[] = [];
  const urls: Record<Kind, string[]> = {
    tree: picks.map((p) => pages.tree(p.commit)),
    blob: picks.map((p) => pages.blob(p.commit, p.file)),
    blame: picks.map((p) => pages.blame(p.commit, p.file)),
    log: picks.map((p) => pages.log(p.commit)),
    "log of a path": picks.map((p) => pages.pathLog(p.commit, p.file)),
    commit: picks.map((p) => pages.commit(p.commit)),
    compare: picks.map((p, i) => pages.compare(picks[Math.min(picks.length - 1, i + 1)]!.commit, p.commit)),
  };
  const cold: Record<string, Response[]> = {};
  const alone: Record<string, number[]> = {};
  const during: Record<string, number[]> = {};
  const heapPeaks: Record<string, HeapPeak> = {};
  const slices: Record<string, { busyMs: number; slices: Slice[] }> = {};
  for (const kind of KINDS) {
    alone[kind] = await aloneNow(`before the ${kind} pages`);
    step(`cold ${kind} pages at old commits, with the warm client running`);
    warmThread.begin();
    const sampler = await heapSampler();
    const profiler = opts.profile ? await profileCpu(inspector, 1000, true) : null;
    cold[kind] = [];
    try {
      for (const u of urls[kind]) cold[kind].push(await client.get(u));
    } finally {
      during[kind] = await warmThread.end();
    }
    if (profiler) {
      const report = await profiler.stop();
      console.log(
        `busy during the cold ${kind} pages: ${Object.entries(report)
          .filter(([, r]) => r.busyMs >= 1)
          .map(([id, r]) => `${id} ${r.busyMs.toFixed(0)} ms`)
          .join(", ")}`,
      );
      mergeSlices(slices, report);
    }
    for (const [isolate, peak] of Object.entries(await sampler.stop()))
      if (!heapPeaks[isolate] || heapPeaks[isolate]!.used < peak.used) heapPeaks[isolate] = peak;
  }
  if (opts.profile) printSlices("cold pages (with the warm client)", slices);
  peaks("cold pages", heapPeaks);
  const aloneAfter = await aloneNow("after the cold pages");

  // ---- cgit on the same pages where it has them (cache off).
  step("cgit on the same pages where it has them (cache off)");
  const cgitCold: Partial<Record<Kind, Response[]>> = {};
  if (!opts["skip-cgit"]) {
    const cgit = await startCgit(repo, { cache: false, repoName: "repo", blame: true });
    try {
      const u = new URL(cgit.url);
      const c = new LoadClient({ port: Number(u.port) }, 1);
      const cg: Partial<Record<Kind, (p: { commit: string; file: string }) => string>> = {
        tree: (p) => u.pathname + cgitPages.tree("repo", p.commit, ""),
        blob: (p) => u.pathname + cgitPages.blob("repo", p.commit, p.file),
        blame: (p) => `${u.pathname}/repo/blame/${enc(p.file)}?id=${p.commit}`,
        log: (p) => u.pathname + cgitPages.log("repo", p.commit),
        "log of a path": (p) => `${u.pathname}/repo/log/${enc(p.file)}?id=${p.commit}`,
        commit: (p) => u.pathname + cgitPages.commit("repo", p.commit),
      };
      for (const kind of KINDS) {
        const make = cg[kind];
        if (!make) continue;
        cgitCold[kind] = [];
        for (const p of picks) cgitCold[kind]!.push(await c.get(make(p)));
      }
      c.close();
    } finally {
      await cgit.stop();
    }
  }

  const pageRows: Row[] = [];
  const ms = (rs: Response[] | undefined, p: number): Cell => {
    if (!rs) return "-";
    const bad = rs.filter((r) => r.status !== 200);
    if (bad.length) return `HTTP ${bad[0]!.status} (${bad.length})`;
    return percentile(
      rs.map((r) => r.ms),
      p,
    );
  };
  for (const kind of KINDS) {
    const partial = cold[kind]!.filter((r) => r.cacheControl === "no-store").length;
    pageRows.push({
      label: `${kind} p50${partial ? ` (${partial} partial)` : ""}`,
      unit: "ms",
      values: [ms(cold[kind], 50), ms(cgitCold[kind], 50)],
    });
    pageRows.push({ label: `${kind} p99`, unit: "ms", values: [ms(cold[kind], 99), ms(cgitCold[kind], 99)] });
  }
  printTable(`cold pages at ${samples} old commits`, ["edgeforge", "cgit"], pageRows, [[0, 1]]);
  printCalls(
    `calls per cold page at ${samples} old commits (Server-Timing), p50 and max`,
    Object.fromEntries(KINDS.map((k) => [k, cold[k]!.map((r) => r.calls)])),
  );
  for (const w of idleWaits)
    timings.push({ label: `forge idle ${w.label}`, unit: "ms", values: [w.ms, `${w.windows} windows of 1 s`] });
  printTable("set-up (wall time)", ["edgeforge", ""], timings);
  const all = (m: Record<string, number[]>) => KINDS.flatMap((k) => m[k]!);
  const warmTable: Row[] = [];
  for (const kind of [...KINDS, "all kinds"] as const) {
    const a = kind === "all kinds" ? all(alone) : alone[kind]!;
    const d = kind === "all kinds" ? all(during) : during[kind]!;
    warmTable.push({ label: `${kind}: p50`, unit: "ms", values: [percentile(a, 50), percentile(d, 50)] });
    warmTable.push({ label: `${kind}: p99`, unit: "ms", values: [percentile(a, 99), percentile(d, 99)] });
    warmTable.push({ label: `${kind}: requests`, unit: "count", values: [a.length, d.length] });
  }
  warmTable.push({ label: "alone after the cold pages: p50", unit: "ms", values: [percentile(aloneAfter, 50), "-"] });
  warmTable.push({ label: "alone after the cold pages: requests", unit: "count", values: [aloneAfter.length, "-"] });
  // Which storage the warm rows waited behind: the simulators on the forge's thread, or not.
  const nice = storageNice();
  const storageLabel = opts["storage-process"]
    ? ` (storage process: R2, KV and D1 in a second workerd${nice ? ` at nice ${nice}` : ""})`
    : " (R2, KV and D1 simulators on the forge's workerd thread)";
  printTable(
    `warm page (blob at master) from a second client: alone just before each kind's cold pages, and during them${storageLabel}`,
    ["alone", "during the cold pages"],
    warmTable,
    [[1, 0]],
  );
  const a = all(alone);
  const d = all(during);
  console.log(
    `\nwarm p50 during the cold pages / alone${storageLabel}: ${(percentile(d, 50) / percentile(a, 50)).toFixed(2)}x ` +
      `(${percentile(d, 50).toFixed(1)} ms over ${d.length} requests / ${percentile(a, 50).toFixed(1)} ms over ${a.length}; target 1.2x); ` +
      `alone after the cold pages: ${percentile(aloneAfter, 50).toFixed(1)} ms over ${aloneAfter.length}`,
  );
  printTable("used V8 heap, peak per isolate", ["peak"], heapRows);
  client.close();
  warm.close();
  await warmThread.close();
}
