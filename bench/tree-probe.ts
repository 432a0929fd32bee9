// Where the time of cold source pages at old commits goes: imports a repository into a local forge,
// waits for the tree page at master to be final, then requests tree (and blame, log of a path)
// pages at 30 old commits as bench:scale picks them, one at a time, and prints each page's time,
// whether it was partial and its Server-Timing (rev: resolving the revision; last-commits: the
// column; walk-*: what its walk did, as counts). PROFILE=<file> also records a CPU profile of the
// edge isolate through workerd's inspector (open it in Chrome's DevTools).
//
//   REPO=/tmp/g-bench/large.git KINDS=tree,blame,log node --import tsx bench/tree-probe.ts   (log: of a path)
//   SAMPLES=30 PROFILE=/tmp/edge.cpuprofile node --import tsx bench/tree-probe.ts
//   KINDS=log,compare STATE=/tmp/big-state ROOT=/work/wt/base ...   (compare: each pick against the next older one)
// STATE keeps the imported repository in that folder and runs each probe on a fresh copy of it;
// ROOT runs another checkout's forge on it (before/after on the same import).
//   MASTER_WAIT_S=900 ...: stop waiting for the tree page at master to be final after 15 minutes
//   KINDS=tree,blob,blame,log,full-log,commit,compare ...: every cold page kind of bench:scale (full-log:
//   the log of the commit, log: of a path); at the end, the calls each kind's pages made (p50, max)
//   PORT=8200 INSPECTOR_PORT=9200 ...: the forge's ports (default: free ones)
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/e2e/runner";
import { callsOf, printCalls, type PageCalls } from "./lib/calls";
import { importProject, startEdgeforge } from "./lib/edgeforge";
import { masterFinal, oldCommitPicks, pageAt, profileEdge } from "./lib/probe";
import { git } from "./lib/run";

const repo = process.env.REPO ?? "/tmp/g-bench/large.git";
const samples = Number(process.env.SAMPLES ?? 30);
const kinds = (process.env.KINDS ?? "tree").split(",");
process.env.MINIFLARE_WORKERD_V8_FLAGS ??= "--max-old-space-size=100";

const picks = await oldCommitPicks(repo, samples);
// MASTER_WAIT_S: give up waiting for the final page after that long (code where it never comes).
const masterWait = Number(process.env.MASTER_WAIT_S ?? Infinity) * 1000;
const inspector = process.env.INSPECTOR_PORT ? Number(process.env.INSPECTOR_PORT) : await freePort();
const port = process.env.PORT ? Number(process.env.PORT) : undefined;
const kept = process.env.STATE;
if (kept && !existsSync(join(kept, "bench-imported"))) {
  const first = await startEdgeforge({}, 600_000, { stateDir: kept, root: process.env.ROOT, port });
  await importProject(first, "repo", repo);
  await masterFinal((path) => pageAt(first.port, path), masterWait);
  await first.stop();
  writeFileSync(join(kept, "bench-imported"), "");
}
const copy = kept ? mkdtempSync(join(tmpdir(), "tree-probe-")) : undefined;
if (kept && copy) cpSync(kept, copy, { recursive: true });
const forge = await startEdgeforge({ FORGE_INSPECTOR_PORT: String(inspector) }, 600_000, {
  stateDir: copy,
  root: process.env.ROOT,
  port,
});
const get = (path: string) => pageAt(forge.port, path);
try {
  let t = performance.now();
  if (!kept) await importProject(forge, "repo", repo);
  console.log(`import ${(performance.now() - t).toFixed(0)} ms`);
  t = performance.now();
  // A kept state waited once, when it was made (and log and compare pages need only the graph).
  if (!kept) {
    const final = await masterFinal(get, masterWait);
    console.log(`master ${final ? "final" : "NOT final"} after ${(performance.now() - t).toFixed(0)} ms`);
  }
  const profiler = process.env.PROFILE ? await profileEdge(inspector) : null;
  const enc = (p: string) => p.split("/").map(encodeURIComponent).join("/");
  // WARM=1: a second client loads the blob page of a file at master in a loop meanwhile, as
  // bench:scale's warm client does.
  let warmDone = false;
  const warmMs: number[] = [];
  const tipFile = (await git(["-C", repo, "ls-tree", "-r", "--name-only", "master"])).stdout
    .split("\n")
    .find((f) => f.endsWith(".ts"))!;
  const warm = process.env.WARM
    ? (async () => {
        while (!warmDone) warmMs.push((await get(`/p/repo/source/blob/master/${enc(tipFile)}`)).ms);
      })()
    : Promise.resolve();
  const calls: Record<string, (PageCalls | undefined)[]> = {};
  for (const kind of kinds) {
    const ms: number[] = [];
    calls[kind] = [];
    let partial = 0;
    for (const p of picks) {
      const url =
        kind === "tree"
          ? `/p/repo/source/tree/${p.commit}/`
          : kind === "blame"
            ? `/p/repo/source/blame/${p.commit}/${enc(p.file)}`
            : kind === "blob"
              ? `/p/repo/source/blob/${p.commit}/${enc(p.file)}`
              : kind === "commit"
                ? `/p/repo/source/commit/${p.commit}`
                : kind === "full-log"
                  ? `/p/repo/source/log/${p.commit}`
                  : kind === "compare"
                    ? `/p/repo/source/compare/${picks[Math.min(picks.length - 1, picks.indexOf(p) + 1)]!.commit}...${p.commit}`
                    : `/p/repo/source/log/${p.commit}/${enc(p.file)}`;
      const r = await get(url);
      ms.push(r.ms);
      calls[kind].push(callsOf(r.st));
      if (r.cc === "no-store") partial++;
      console.log(
        `${kind} ${p.commit.slice(0, 8)} ${r.status} ${r.ms.toFixed(0)} ms ${r.cc === "no-store" ? "PARTIAL" : ""} | ${r.st}`,
      );
    }
    ms.sort((a, b) => a - b);
    const q = (x: number) => ms[Math.min(ms.length - 1, Math.ceil((x / 100) * ms.length) - 1)]!;
    console.log(
      `== ${kind}: p50 ${q(50).toFixed(0)} ms, p90 ${q(90).toFixed(0)}, p99 ${q(99).toFixed(0)} ms, ${partial} partial`,
    );
  }
  printCalls("calls per page (Server-Timing), p50 and max", calls);
  warmDone = true;
  await warm;
  if (warmMs.length)
    console.log(`warm page: ${warmMs.length} requests, p50 ${warmMs.sort((a, b) => a - b)[warmMs.length >> 1]!.toFixed(1)} ms`);
  await profiler?.stop(process.env.PROFILE!);
} finally {
  await forge.stop();
  if (copy) rmSync(copy, { recursive: true, force: true });
}
