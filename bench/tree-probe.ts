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
import http from "node:http";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocket } from "undici";
import { freePort } from "../test/e2e/runner";
import { HOST, importProject, startEdgeforge } from "./lib/edgeforge";
import { git } from "./lib/run";

const repo = process.env.REPO ?? "/tmp/g-bench/large.git";
const samples = Number(process.env.SAMPLES ?? 30);
const kinds = (process.env.KINDS ?? "tree").split(",");
process.env.MINIFLARE_WORKERD_V8_FLAGS ??= "--max-old-space-size=100";

const firstParent = (await git(["-C", repo, "rev-list", "--first-parent", "master"])).stdout.trim().split("\n");
const old = firstParent.slice(Math.floor(firstParent.length / 3));
const picks: { commit: string; file: string }[] = [];
for (let i = 0; i < samples; i++) {
  const commit = old[Math.floor((i * old.length) / samples)]!;
  const changed = (await git(["-C", repo, "diff-tree", "--no-commit-id", "--name-only", "-r", commit])).stdout.split("\n");
  picks.push({ commit, file: changed.find((f) => /\.(ts|md)$/.test(f)) ?? "README.md" });
}
const getAt = (port: number, path: string) =>
  new Promise<{ ms: number; status: number; cc: string; st: string }>((resolve, reject) => {
    const t = performance.now();
    http
      .get({ host: "127.0.0.1", port, path, headers: { host: `${HOST}:${port}`, accept: "text/html" } }, (res) => {
        res.resume();
        res.on("end", () =>
          resolve({
            ms: performance.now() - t,
            status: res.statusCode ?? 0,
            cc: String(res.headers["cache-control"] ?? ""),
            st: String(res.headers["server-timing"] ?? ""),
          }),
        );
      })
      .on("error", reject);
  });
// MASTER_WAIT_S: give up waiting for the final page after that long (code where it never comes).
const masterWait = Number(process.env.MASTER_WAIT_S ?? Infinity) * 1000;
/** Whether the tree page at master became final (its last-commit column complete) within MASTER_WAIT_S. */
const finalAt = async (port: number): Promise<boolean> => {
  const t = performance.now();
  while (performance.now() - t < masterWait) {
    const r = await getAt(port, "/p/repo/source/tree/master/");
    if (r.status === 200 && r.cc !== "no-store") return true;
    await new Promise((res) => setTimeout(res, 1000));
  }
  return false;
};
const inspector = await freePort();
const kept = process.env.STATE;
if (kept && !existsSync(join(kept, "bench-imported"))) {
  const first = await startEdgeforge({}, 600_000, { stateDir: kept, root: process.env.ROOT });
  await importProject(first, "repo", repo);
  await finalAt(first.port);
  await first.stop();
  writeFileSync(join(kept, "bench-imported"), "");
}
const copy = kept ? mkdtempSync(join(tmpdir(), "tree-probe-")) : undefined;
if (kept && copy) cpSync(kept, copy, { recursive: true });
const forge = await startEdgeforge({ FORGE_INSPECTOR_PORT: String(inspector) }, 600_000, {
  stateDir: copy,
  root: process.env.ROOT,
});
const get = (path: string) => getAt(forge.port, path);
try {
  let t = performance.now();
  if (!kept) await importProject(forge, "repo", repo);
  console.log(`import ${(performance.now() - t).toFixed(0)} ms`);
  t = performance.now();
  // A kept state waited once, when it was made (and log and compare pages need only the graph).
  if (!kept) {
    const final = await finalAt(forge.port);
    console.log(`master ${final ? "final" : "NOT final"} after ${(performance.now() - t).toFixed(0)} ms`);
  }
  let ws: WebSocket | undefined;
  let id = 0;
  const pending = new Map<number, (v: { profile?: unknown }) => void>();
  const send = (method: string, params = {}) =>
    new Promise<{ profile?: unknown }>((resolve) => {
      const n = ++id;
      pending.set(n, resolve);
      ws!.send(JSON.stringify({ id: n, method, params }));
    });
  if (process.env.PROFILE) {
    const list = (await (await fetch(`http://127.0.0.1:${inspector}/json/list`)).json()) as {
      id: string;
      webSocketDebuggerUrl: string;
    }[];
    const edge = list.find((x) => x.id === "core:user:edge")!;
    ws = new WebSocket(edge.webSocketDebuggerUrl);
    await new Promise((r) => (ws!.onopen = r));
    ws.onmessage = (m) => {
      const msg = JSON.parse(String(m.data));
      if (msg.id) pending.get(msg.id)?.(msg.result);
    };
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: 200 });
    await send("Profiler.start");
  }
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
  for (const kind of kinds) {
    const ms: number[] = [];
    let partial = 0;
    for (const p of picks) {
      const url =
        kind === "tree"
          ? `/p/repo/source/tree/${p.commit}/`
          : kind === "blame"
            ? `/p/repo/source/blame/${p.commit}/${enc(p.file)}`
            : kind === "compare"
              ? `/p/repo/source/compare/${picks[Math.min(picks.length - 1, picks.indexOf(p) + 1)]!.commit}...${p.commit}`
              : `/p/repo/source/log/${p.commit}/${enc(p.file)}`;
      const r = await get(url);
      ms.push(r.ms);
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
  warmDone = true;
  await warm;
  if (warmMs.length)
    console.log(`warm page: ${warmMs.length} requests, p50 ${warmMs.sort((a, b) => a - b)[warmMs.length >> 1]!.toFixed(1)} ms`);
  if (ws) {
    const { profile } = await send("Profiler.stop");
    writeFileSync(process.env.PROFILE!, JSON.stringify(profile));
    ws.close();
  }
} finally {
  await forge.stop();
  if (copy) rmSync(copy, { recursive: true, force: true });
}
