// `npm run bench:import-large -- [--repo <bare dir>] [--only import|push|clone|pages] [--trace] [--live]
//   [--root <another checkout>] [--port <n>] [--inspector-port <n>] [--forge-log <file>] [--promoted <dir>]
//   [--promoted-isolate edge|push] [--baseline] [--state <kept forge state> [--project <name>]]`
//
// Imports a large repository (default: the one `npm run bench:gen-large` writes) into the local
// forge with `forge repos import`, then `git push --mirror`s it into another empty project, clones
// the imported one and loads 30 cold pages of it (trees and commits at old commits, blobs), and
// prints each step's wall time, the peak used V8 heap of each worker's isolate, sampled through
// workerd's inspector, and what each isolate still holds after the step once garbage is collected. workerd runs with the local runner's isolate heap cap (128 MB unless
// MINIFLARE_WORKERD_V8_FLAGS says otherwise), so an operation that needs more fails here.
// --trace prints the heaps once a second; --live collects garbage before each sample (what is
// really held, at the cost of speed). --snapshots <dir> writes a heap snapshot of each isolate after
// each step and prints what retains its largest array buffers (bench/lib/heap-snapshot.ts).
// --baseline also clones the repository from C git's git-http-backend (behind lighttpd), for the
// clone's ratio. --root runs another checkout's forge (before/after from one bench); --port and --inspector-port
// fix the ports (default: free ones), for machines where several benchmarks run at once.
// --promoted <dir> runs V8's sampling heap profiler in the push isolate (or the one
// --promoted-isolate names: edge) during each step, keeping only what outlived a scavenge (the old
// generation's garbage and what is held), writes the profile there and prints the sites that
// allocated most of it.
// --forge-log writes everything the forge printed to a file at the end: with
// MINIFLARE_WORKERD_V8_FLAGS="--max-old-space-size=100 --trace-gc" that is every collection of
// every isolate, with its reason and the heap before and after (what V8 lets pile up).
import { parseArgs } from "node:util";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, root } from "../test/e2e/runner";
import { HOST, startEdgeforge, TENANT } from "./lib/edgeforge";
import { sampleHeap } from "./lib/heap";
import { startPromotedSampling, topSites } from "./lib/promoted-sampling";
import { retainersOfBuffers, takeHeapSnapshots } from "./lib/heap-snapshot";
import { LoadClient } from "./lib/load";
import { basicAuthArgs } from "./lib/repo";
import { median } from "./lib/report";
import { firstLine, run, tempDir } from "./lib/run";
import { startGitHttpBackend } from "./lib/git-http-backend";

const { values: opts } = parseArgs({
  options: {
    repo: { type: "string", default: join(root, ".forge", "bench", "large-320mb.git") },
    only: { type: "string", multiple: true },
    trace: { type: "boolean" },
    live: { type: "boolean" },
    snapshots: { type: "string" },
    root: { type: "string" },
    port: { type: "string" },
    "inspector-port": { type: "string" },
    "forge-log": { type: "string" },
    promoted: { type: "string" },
    "promoted-isolate": { type: "string", default: "push" },
    baseline: { type: "boolean" },
    state: { type: "string" },
    project: { type: "string" },
  },
});
const repo = resolve(opts.repo!);
if (!existsSync(repo)) throw new Error(`${repo} does not exist: run npm run bench:gen-large first, or pass --repo`);
const wanted = (step: string) => !opts.only?.length || opts.only.includes(step);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

// --state: a kept forge state folder (READ-ONLY: a copy of it is used) whose project --project
// (default "repo", as bench/tree-probe.ts names it) already holds the repository: clone and pages
// without an import, and without the background work that follows one.
const stateCopy = opts.state ? mkdtempSync(join(tmpdir(), "bench-state-")) : undefined;
if (opts.state && stateCopy) cpSync(resolve(opts.state), stateCopy, { recursive: true });
const project = opts.project ?? (opts.state ? "repo" : "big");
const inspectorPort = opts["inspector-port"] ? Number(opts["inspector-port"]) : await freePort();
const ef = await startEdgeforge(
  // The runner prints workerd's own lines (V8's --trace-gc) only when not quiet.
  { FORGE_INSPECTOR_PORT: String(inspectorPort), ...(opts["forge-log"] ? { FORGE_LOG: "all" } : {}) },
  undefined,
  {
    root: opts.root && resolve(opts.root),
    port: opts.port ? Number(opts.port) : undefined,
    stateDir: stateCopy,
  },
);
const rows: string[] = [];
/** Runs one step while sampling the isolates' heaps. */
async function measure(name: string, step: () => Promise<string | null>): Promise<void> {
  // workerd's inspector takes one connection per isolate: profiling replaces the heap samples.
  const isolate = opts["promoted-isolate"]!;
  const promoted = opts.promoted ? await startPromotedSampling(inspectorPort, `core:user:${isolate}`) : null;
  const sampler = promoted ? null : await sampleHeap(inspectorPort, opts.live ? 250 : 100, opts.trace, opts.live);
  const start = performance.now();
  const error = await step();
  if (promoted) {
    const file = join(opts.promoted!, `${name.replace(/[^a-z0-9]+/gi, "-")}-${isolate}.heapprofile`);
    mkdirSync(opts.promoted!, { recursive: true });
    const head = await promoted.stop(file);
    console.log(`  ${name}: what the ${isolate} isolate allocated that outlived a scavenge (${file}):`);
    for (const s of topSites(head, 30)) console.log(`    ${mib(s.bytes)} ${(100 * s.share).toFixed(1)}% ${s.site}`);
  }
  const seconds = (performance.now() - start) / 1000;
  const peaks = sampler ? await sampler.stop() : {};
  const heaps = Object.entries(peaks)
    .map(([title, peak]) => `${title.replace(/^core:user:/, "")} ${mib(peak.used)} (${mib(peak.withBuffers)} with array buffers)`)
    .join(", ");
  // What each isolate holds once the step is over and garbage is collected: caches and leaks.
  // Collections as a heap snapshot runs them (HeapProfiler.collectGarbage alone leaves tens of
  // MiB of garbage in workerd), the last of a few samples read.
  const held = await sampleHeap(inspectorPort, 250, false, true, true);
  await new Promise((r) => setTimeout(r, 1000));
  const after = Object.entries(await held.stop())
    .map(([title, h]) => `${title.replace(/^core:user:/, "")} ${mib(h.lastUsed)} (${mib(h.lastWithBuffers)})`)
    .join(", ");
  if (opts.snapshots) await reportSnapshots(name);
  rows.push(
    `${name}: ${error ? `FAILED (${error})` : "ok"} in ${seconds.toFixed(1)} s; peak used heap: ${heaps}; held after GC: ${after}`,
  );
  console.log(rows[rows.length - 1]);
}
/** Snapshots each isolate and prints its largest array buffers by what retains them. */
async function reportSnapshots(step: string): Promise<void> {
  mkdirSync(opts.snapshots!, { recursive: true });
  const files = await takeHeapSnapshots(inspectorPort, opts.snapshots!, step.replace(/[^a-z0-9]+/gi, "-"));
  for (const [target, file] of Object.entries(files)) {
    const groups = retainersOfBuffers(JSON.parse(readFileSync(file, "utf8")));
    const total = groups.reduce((n, g) => n + g.bytes, 0);
    console.log(`  ${step}: ${target} holds ${mib(total)} in array buffers of 16 KiB or more (${file})`);
    for (const g of groups.slice(0, 12)) console.log(`    ${mib(g.bytes)} in ${g.count}: ${g.path}`);
  }
}
/** The same clone from C git's git-http-backend (the repository linked, not copied), for the ratio. */
async function cloneFromGitHttpBackend(): Promise<string> {
  const projects = tempDir("bench-ghb-");
  symlinkSync(repo, join(projects, "repo.git"));
  const ghb = await startGitHttpBackend(projects, "repo.git");
  const into = mkdtempSync(join(tmpdir(), "bench-clone-"));
  try {
    const start = performance.now();
    const r = await run("git", ["clone", "--quiet", "--bare", `${ghb.url}/repo.git`, join(into, "repo.git")]);
    const seconds = (performance.now() - start) / 1000;
    const line = `git clone (bare) from git-http-backend: ${r.code === 0 ? "ok" : `FAILED (${firstLine(r.stderr)})`} in ${seconds.toFixed(1)} s`;
    console.log(line);
    return line;
  } finally {
    await ghb.stop();
    rmSync(into, { recursive: true, force: true });
    rmSync(projects, { recursive: true, force: true });
  }
}
try {
  console.log(
    `heap cap: ${process.env.MINIFLARE_WORKERD_V8_FLAGS ?? "(runner default)"}; repository ${repo}; forge ${opts.root ?? root}`,
  );
  if (wanted("import") && !opts.state) {
    await ef.cli("projects", "create", TENANT, "big");
    await measure("forge repos import", async () => {
      const r = await ef.forge.cli("repos", "import", TENANT, "big", repo);
      return r.code === 0 ? null : firstLine(r.stderr || r.stdout);
    });
  }
  if (wanted("push")) {
    await ef.cli("projects", "create", TENANT, "mirror");
    await measure("git push --mirror", async () => {
      const auth = basicAuthArgs({ username: "bench", password: ef.token });
      const r = await run("git", [...auth, "-C", repo, "push", "--quiet", "--mirror", `http://${HOST}:${ef.port}/mirror.git`]);
      return r.code === 0
        ? null
        : firstLine(
            r.stderr
              .split("\n")
              .filter((l) => /fatal|error/.test(l))
              .join("\n") || r.stderr,
          );
    });
  }
  if (wanted("clone")) {
    const into = mkdtempSync(join(tmpdir(), "bench-clone-"));
    await measure("git clone (bare)", async () => {
      const r = await run("git", [
        "clone",
        "--quiet",
        "--bare",
        `http://${HOST}:${ef.port}/${project}.git`,
        join(into, "big.git"),
      ]);
      return r.code === 0 ? null : firstLine(r.stderr || r.stdout);
    });
    rmSync(into, { recursive: true, force: true });
    if (opts.baseline) rows.push(await cloneFromGitHttpBackend());
  }
  if (wanted("pages")) {
    // Cold pages of the imported repository: trees and commits at commits spread over the whole
    // history (old ones too), and blobs at the tip, each requested once.
    const commits = (await run("git", ["-C", repo, "rev-list", "--first-parent", "HEAD"])).stdout.trim().split("\n");
    const files = (await run("git", ["-C", repo, "ls-tree", "-r", "--name-only", "HEAD"])).stdout.trim().split("\n");
    const spread = <T>(xs: T[], n: number) => Array.from({ length: n }, (_, i) => xs[Math.floor(((i + 0.5) * xs.length) / n)]!);
    const base = `/p/${project}/source`;
    const enc = (path: string) => path.split("/").map(encodeURIComponent).join("/");
    const urls = [
      ...spread(commits, 10).map((c) => `${base}/tree/${c}/`),
      ...spread(commits, 10).map((c) => `${base}/commit/${c}`),
      ...spread(files, 10).map((f) => `${base}/blob/HEAD/${enc(f)}`),
    ];
    const client = new LoadClient({ port: ef.port, host: `${HOST}:${ef.port}` }, 1);
    const r2: number[] = [];
    await measure(`${urls.length} cold pages`, async () => {
      for (const url of urls) {
        const r = await client.get(url);
        if (r.status !== 200) return `${url}: ${r.status}`;
        r2.push(r.r2Calls ?? 0);
      }
      return null;
    });
    client.close();
    rows.push(`  R2 requests per cold page: p50 ${median(r2)}, max ${Math.max(...r2)}, total ${r2.reduce((a, b) => a + b, 0)}`);
    console.log(rows[rows.length - 1]);
  }
} finally {
  await ef.stop();
  if (stateCopy) rmSync(stateCopy, { recursive: true, force: true });
  if (opts["forge-log"]) writeFileSync(opts["forge-log"], ef.forge.output);
}
console.log(`\n${rows.join("\n")}`);
