// Issue 19's incremental fetch: on a kept forge state with a repository imported as project `repo`,
// pushes one new commit and fetches it into a clone that has every other ref, timing the push and
// the fetch apart, with git's packet and HTTP traces (timestamped) and the forge's request log.
// MIRROR=1 first pushes REPO with `git push --mirror` into an empty project, so that its post-push
// work (commit-graph build, checkpoints) runs meanwhile, as in bench:scale. VISIT=1 first loads the
// tree page at master: on a state without last-commit checkpoints that starts the checkpoint run, so
// the push's commit-graph update waits behind it and the fetch meets a commit the graph lacks.
// NO_GRAPH=1 removes the commit-graph's chain from the state's copy (needs the sqlite3 command):
// the fetch then walks without a graph, as when its build has not run or its read failed, while
// the push's post-push work builds it again from the start.
//   STATE=/tmp/s8-big-ckpt-state REPO=/tmp/s4-big/big.git PORT=8100 node --import tsx bench/fetch-after-push.ts
// ROOT=<another checkout> runs that checkout's forge on the same state (before/after); TRACES=<dir>
// keeps git's traces and the forge's output there.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEdgeforge } from "./lib/edgeforge";
import { pageAt } from "./lib/probe";
import { basicAuthArgs, CommitMaker } from "./lib/repo";
import { git, gitEnv, run } from "./lib/run";

process.env.MINIFLARE_WORKERD_V8_FLAGS ??= "--max-old-space-size=100";
const repo = process.env.REPO ?? "/tmp/s4-big/big.git";
const kept = process.env.STATE;
if (!kept || !existsSync(join(kept, "bench-imported"))) throw new Error("STATE must be a kept state with REPO imported");
const port = Number(process.env.PORT ?? 8100);
const traces = process.env.TRACES ?? mkdtempSync(join(tmpdir(), "fetch-after-push-"));
mkdirSync(traces, { recursive: true });
const stateDir = mkdtempSync(join(tmpdir(), "fetch-after-push-state-"));
cpSync(kept, stateDir, { recursive: true });
if (process.env.NO_GRAPH) {
  const bucket = join(stateDir, "data", "r2", "miniflare-R2BucketObject");
  for (const f of readdirSync(bucket).filter((n) => n.endsWith(".sqlite") && n !== "metadata.sqlite")) {
    const r = await run("sqlite3", [
      join(bucket, f),
      "DELETE FROM _mf_objects WHERE key LIKE '%/derived/commit-graph/v1/chain.json'; SELECT changes();",
    ]);
    if (r.code !== 0) throw new Error(`sqlite3: ${r.stderr.trim()}`);
    console.log(`commit-graph chains removed from the copy: ${r.stdout.trim()}`);
  }
}
const work = mkdtempSync(join(tmpdir(), "fetch-after-push-work-"));

const ef = await startEdgeforge(
  { FORGE_LOG: "verbose", ...(process.env.INSPECTOR ? { FORGE_INSPECTOR_PORT: process.env.INSPECTOR } : {}) },
  600_000,
  { stateDir, root: process.env.ROOT, port },
);
const started = Date.now();
const stamp = (m: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${m}`);
const auth = basicAuthArgs({ username: "bench", password: ef.token });
const url = (project: string) => `http://bench.localhost:${ef.port}/${project}.git`;
/** Runs git with its traces in `<traces>/<name>.*`; returns the wall time. */
const traced = async (name: string, args: string[]) => {
  const env = {
    ...gitEnv,
    GIT_TRACE: join(traces, `${name}.trace`),
    GIT_TRACE_PACKET: join(traces, `${name}.packet`),
    GIT_TRACE_CURL: join(traces, `${name}.curl`),
    GIT_TRACE_CURL_NO_DATA: "1",
  };
  const r = await run("git", [...auth, ...args], { env });
  if (r.code !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.ms;
};
try {
  // The fetching clone: every ref of REPO (what a clone of the project has), sharing its objects.
  const client = join(work, "client.git");
  await git(["clone", "--quiet", "--bare", "--shared", repo, client]);
  await git(["-C", client, "remote", "set-url", "origin", url("repo")]);
  if (process.env.MIRROR) {
    await ef.cli("projects", "create", "bench", "mirror");
    stamp("push --mirror");
    await git([...auth, "-C", repo, "push", "--mirror", url("mirror")]);
    stamp("pushed --mirror");
  }
  if (process.env.VISIT) {
    const page = await pageAt(ef.port, "/p/repo/source/tree/master/");
    stamp(`tree page at master: ${page.status} in ${page.ms.toFixed(0)} ms`);
  }
  const rounds = Number(process.env.ROUNDS ?? 1);
  const maker = await CommitMaker.create(repo);
  try {
    for (let i = 1; i <= rounds; i++) {
      await maker.commit();
      stamp(`push ${i}`);
      // Forced: the kept state may hold an earlier run's commits on master.
      const pushMs = await traced(`push-${i}`, [
        "-C",
        maker.dir,
        "push",
        url("repo"),
        `+refs/heads/${maker.branch}:refs/heads/${maker.branch}`,
      ]);
      stamp(`push ${i}: ${pushMs.toFixed(0)} ms`);
      const fetchMs = await traced(`fetch-${i}`, ["-C", client, "fetch", "-q", "origin", `+${maker.branch}:${maker.branch}`]);
      stamp(`fetch ${i}: ${fetchMs.toFixed(0)} ms`);
    }
  } finally {
    maker.dispose();
  }
} finally {
  writeFileSync(join(traces, "forge-output.txt"), ef.forge.output);
  // The forge's request log for this run: git's requests and the queue's work, with their times.
  const lines = readFileSync(join(stateDir, "logs", "requests.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean);
  const mine = lines.filter((l) => {
    const t = /"t":"([^"]+)"/.exec(l)?.[1];
    return t && Date.parse(t) >= started && !l.includes('"level"');
  });
  writeFileSync(join(traces, "requests.jsonl"), `${mine.join("\n")}\n`);
  // The whole log too: the queue's lines (checkpoint steps, commit-graph builds) carry no time.
  writeFileSync(join(traces, "requests-all.jsonl"), `${lines.join("\n")}\n`);
  for (const l of mine) {
    const r = JSON.parse(l) as { t: string; component: string; method: string; path: string; status: number; ms: number };
    console.log(`${r.t.slice(11, 23)} ${r.status} ${String(r.ms).padStart(7)} ms ${r.component} ${r.method} ${r.path}`);
  }
  await ef.stop();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
  console.log(`traces and the forge's output: ${traces}`);
}
