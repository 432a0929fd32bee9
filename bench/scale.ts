// `npm run bench:scale`: a repository of git/git's shape (bench:gen-large) through the whole forge,
// under a 100 MB isolate heap: import, push --mirror, clone and incremental fetch against C git's
// git-http-backend, then cold pages of every kind at old commits (against cgit where it has the
// page) while a second client loads a warm page, and the used V8 heap of each isolate.
//
//   npm run bench:gen-large -- --size-mb 500 --commits 70000 --branches 700 --depth 6 --out /tmp/big.git
//   npm run bench:scale -- --repo /tmp/big.git [--samples 30] [--seconds 5] [--skip-git] [--skip-cgit] [--skip-pages] [--only-blame]
//
// Uploads: a second client loads the blob page of a small project alone (for --seconds), then
// during the import and during push --mirror; its p50/p99 and the delay they add (issue 19's
// "uploads never block": at most 100 ms p99).
//
// Cold: --samples different old commits (spread over the older two thirds of master's first-parent
// history), one URL each per kind, requested once, one at a time. Warm: the blob page of a file at
// master, already rendered once, requested in a loop by a second client: its p50 alone (for
// --seconds), then during the cold run. Heap: peak of Runtime.getHeapUsage per isolate and phase.
// Blame: when the repository has bench:gen-large's --long-file, cold blame of it at master and
// older commits against git blame and cgit (bench/lib/long-file-blame.ts), before the cold pages;
// --only-blame stops after it.
import { parseArgs } from "node:util";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../test/e2e/runner";
import { startCgit, cgitPages } from "./lib/cgit";
import { HOST, importProject, startEdgeforge, type Edgeforge } from "./lib/edgeforge";
import { startGitHttpBackend } from "./lib/git-http-backend";
import { sampleHeap, type HeapPeak } from "./lib/heap";
import { printSlices, profileCpu } from "./lib/cpu-slices";
import { LoadClient, type Response } from "./lib/load";
import { longFileBlameTable } from "./lib/long-file-blame";
import { basicAuthArgs, CommitMaker, initEmptyBare, mirror, repoInfo } from "./lib/repo";
import { percentile, printTable, format, type Cell, type Row } from "./lib/report";
import { git, gitEnv, run, tempDir } from "./lib/run";
import { smallProject, warmAlone, warmDuring, warmRows } from "./lib/warm";

const { values: opts } = parseArgs({
  options: {
    repo: { type: "string" },
    samples: { type: "string", default: "30" },
    seconds: { type: "string", default: "5" },
    "skip-git": { type: "boolean" },
    "skip-cgit": { type: "boolean" },
    /** Only the uploads and git rows: no cold pages, no wait for derived data. */
    "skip-pages": { type: "boolean" },
    /** Only the import and the blame row (with --skip-git): no cold pages. */
    "only-blame": { type: "boolean" },
    /** CPU-profile each isolate during the import and the push: print the longest synchronous slices. */
    profile: { type: "boolean" },
  },
});
if (!opts.repo) throw new Error("--repo <bare repository> is required (make one with npm run bench:gen-large)");
const repo = opts.repo;
const samples = Number(opts.samples);
const seconds = Number(opts.seconds);
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
console.log(`workerd V8 flags: ${process.env.MINIFLARE_WORKERD_V8_FLAGS}`);

// Old commits and, for each, a file it changed (for blob, blame and path logs).
const firstParent = (await git(["-C", repo, "rev-list", "--first-parent", "master"])).stdout.trim().split("\n");
const old = firstParent.slice(Math.floor(firstParent.length / 3));
const picks: { commit: string; file: string }[] = [];
for (let i = 0; i < samples; i++) {
  const commit = old[Math.floor((i * old.length) / samples)]!;
  const changed = (await git(["-C", repo, "diff-tree", "--no-commit-id", "--name-only", "-r", commit])).stdout.split("\n");
  const file = changed.find((f) => /\.(ts|md)$/.test(f)) ?? "README.md";
  picks.push({ commit, file });
}
const tipFile = (await git(["-C", repo, "ls-tree", "-r", "--name-only", "master"])).stdout
  .split("\n")
  .find((f) => f.endsWith(".ts"))!;

// Progress on stderr, so a phase that hangs is named (the tables print at the end).
const began = performance.now();
const step = (what: string) => console.error(`[${((performance.now() - began) / 1000).toFixed(1)} s] ${what}`);

const inspector = await freePort();
const forge: Edgeforge = await startEdgeforge({ FORGE_INSPECTOR_PORT: String(inspector) });
const timings: Row[] = [];
try {
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
  const heapSampler = async () => (opts.profile ? { stop: async () => ({}) as Record<string, HeapPeak> } : sampleHeap(inspector));
  let sampler = await heapSampler();
  step("forge repos import, with the warm page");
  const t = performance.now();
  uploads.import = (
    await warmDuring(uploadClient, smallUrl, () => profiled("import", () => importProject(forge, "repo", repo)))
  ).ms;
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
      peaks("push --mirror", await sampler.stop());
      const pushGhb = await timeGit(["-C", repo, "push", "--mirror", `${ghb.url}/push.git`]);
      gitRows.push({ label: "push --mirror to an empty repository", unit: "ms", values: [pushEf, pushGhb] });
      // clone.
      step("clone");
      const dir = tempDir("scale-clone-");
      sampler = await sampleHeap(inspector);
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
      // Incremental fetch: one new commit on master, pushed to each, fetched by the clone.
      step("incremental fetch");
      const maker = await CommitMaker.create(repo);
      await maker.commit();
      await maker.push(`http://${HOST}:${forge.port}/repo.git`, basicAuthArgs(auth));
      await maker.push(`${ghb.url}/repo.git`);
      maker.dispose();
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
} finally {
  await forge.stop();
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
  printTable("set-up (wall time)", ["edgeforge", ""], timings);

  step("cold blame of the long file");
  await longFileBlameTable(repo, client, pages.blame, { cgit: !opts["skip-cgit"] });
  if (opts["only-blame"]) return client.close();

  // ---- The warm page alone.
  step("the warm page alone");
  const warm = new LoadClient({ port: forge.port, host: `${HOST}:${forge.port}` }, 1);
  const warmUrl = pages.blob("master", tipFile);
  await warm.get(warmUrl);
  const loop = async (until: () => boolean) => {
    const out: number[] = [];
    while (!until()) out.push((await warm.get(warmUrl)).ms);
    return out;
  };
  const aloneEnd = performance.now() + seconds * 1000;
  const alone = await loop(() => performance.now() > aloneEnd);

  // ---- Cold pages at old commits, with the warm client running.
  step("cold pages at old commits, with the warm client running");
  const urls: Record<Kind, string[]> = {
    tree: picks.map((p) => pages.tree(p.commit)),
    blob: picks.map((p) => pages.blob(p.commit, p.file)),
    blame: picks.map((p) => pages.blame(p.commit, p.file)),
    log: picks.map((p) => pages.log(p.commit)),
    "log of a path": picks.map((p) => pages.pathLog(p.commit, p.file)),
    commit: picks.map((p) => pages.commit(p.commit)),
    compare: picks.map((p, i) => pages.compare(picks[Math.min(picks.length - 1, i + 1)]!.commit, p.commit)),
  };
  let coldDone = false;
  const during = loop(() => coldDone);
  const sampler = await sampleHeap(inspector);
  const cold: Record<string, Response[]> = {};
  for (const kind of KINDS) {
    cold[kind] = [];
    for (const u of urls[kind]) cold[kind].push(await client.get(u));
  }
  coldDone = true;
  const duringMs = await during;
  peaks("cold pages", await sampler.stop());

  // ---- cgit on the same pages where it has them (cache off).
  step("cgit on the same pages where it has them (cache off)");
  const cgitCold: Partial<Record<Kind, Response[]>> = {};
  if (!opts["skip-cgit"]) {
    const cgit = await startCgit(repo, { cache: false, repoName: "repo" });
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
  printTable(
    "warm page (blob at master) from a second client",
    ["alone", "during the cold pages"],
    [
      { label: "p50", unit: "ms", values: [percentile(alone, 50), percentile(duringMs, 50)] },
      { label: "p99", unit: "ms", values: [percentile(alone, 99), percentile(duringMs, 99)] },
      { label: "requests", unit: "count", values: [alone.length, duringMs.length] },
    ],
    [[1, 0]],
  );
  printTable("used V8 heap, peak per isolate", ["peak"], heapRows);
  client.close();
  warm.close();
}
