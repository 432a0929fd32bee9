// How long the push worker takes to build the commit-graph of a kept import from nothing: starts a
// forge on a fresh copy of a STATE folder (an import, as bench/tree-probe.ts keeps one) with its
// commit-graph files deleted from the copy's R2, asks for the tree page at master (which has the
// push worker extend the graph before its walk), and polls the copy's R2 until the layers of every
// commit are written, sampling the push isolate's heap and array buffers through the inspector.
//
//   STATE=/tmp/s6log-big-state REPO=/tmp/s4-big/big.git node --import tsx bench/graph-build-rate.ts
//   ROOT=/work/wt/<name>-base ...: the same with another checkout's forge (before/after on one state)
//   SNAPSHOT_AT=40,80 ... (without heap samples: workerd takes one inspector session at a time): heap snapshots of the isolates that many seconds in (after a collection),
//     summed by constructor and array buffers by retainers (files in SNAPSHOT_DIR, default /tmp)
//   ALLOC=1 ...: what the push isolate allocated over the build (V8's sampling heap profiler, dead
//     objects included), bytes per function
//   CPU=1 ...: a CPU profile of the isolates over the build, self time per function (the file in
//     SLICES_DIR when set)
//   TRACE=1 LIVE=1 ...: a collection before each heap sample, so array buffers count only while
//     held (the peak without the garbage V8 has not swept yet); slows the build down
//   PORT=8300 INSPECTOR_PORT=9300 ...: the forge's and the inspector's ports (default: free ones)
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/e2e/runner";
import { startEdgeforge } from "./lib/edgeforge";
import { sampleHeap } from "./lib/heap";
import { inspectorTargets, profileCpu } from "./lib/cpu-slices";
import { retainersOfBuffers, selfSizeByName, takeHeapSnapshots } from "./lib/heap-snapshot";
import { pageAt } from "./lib/probe";
import { git } from "./lib/run";
import { WebSocket } from "undici";

const state = process.env.STATE;
if (!state) throw new Error("STATE=<a kept forge state folder with an imported project 'repo'> is required");
const repo = process.env.REPO ?? "/tmp/s4-big/big.git";
const limitS = Number(process.env.LIMIT_S ?? 1200);
const snapshotsAt = (process.env.SNAPSHOT_AT ?? "").split(",").filter(Boolean).map(Number);
process.env.MINIFLARE_WORKERD_V8_FLAGS ??= "--max-old-space-size=100";

const commits = Number((await git(["-C", repo, "rev-list", "--all", "--count"])).stdout.trim());
// Layers of at most 16,384 commits (git/commit-graph-build.ts LAYER_MAX), written as each fills.
const layersWhenDone = Math.ceil(commits / 16_384);

const sqlite = (dir: string, sql: string): string => {
  const r2 = join(dir, "data", "r2", "miniflare-R2BucketObject");
  const db = readdirSync(r2).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")!;
  const py = `import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nr=c.execute(sys.argv[2]).fetchone()\nc.commit()\nprint(r[0] if r else '')`;
  return execFileSync("python3", ["-c", py, join(r2, db), sql], { encoding: "utf8" }).trim();
};
const layerRows = (dir: string) =>
  Number(sqlite(dir, "select count(*) from _mf_objects where key like '%/derived/commit-graph/v1/layer-%'"));

const copy = mkdtempSync(join(tmpdir(), "graph-build-rate-"));
cpSync(state, copy, { recursive: true });
// The copy starts without a commit-graph (its blobs stay on disk, unreferenced).
sqlite(copy, "delete from _mf_objects where key like '%/derived/commit-graph/%'");
const inspector = Number(process.env.INSPECTOR_PORT ?? 0) || (await freePort());
const live = !!process.env.LIVE;
const forge = await startEdgeforge({ FORGE_INSPECTOR_PORT: String(inspector) }, 600_000, {
  stateDir: copy,
  root: process.env.ROOT,
  port: Number(process.env.PORT ?? 0) || undefined,
});
try {
  // workerd's inspector takes one session per isolate: a profile or snapshots go without samples.
  const cpu = process.env.CPU ? await profileCpu(inspector) : null;
  const alloc = process.env.ALLOC ? await sampleAllocations(inspector, "core:user:push") : null;
  const heap =
    cpu || alloc || snapshotsAt.length > 0 ? null : await sampleHeap(inspector, live ? 250 : 200, !!process.env.TRACE, live);
  const t0 = performance.now();
  const page = await pageAt(forge.port, "/p/repo/source/tree/master/");
  console.log(`tree page at master: ${page.status} ${page.ms.toFixed(0)} ms${page.cc === "no-store" ? " partial" : ""}`);
  let done = false;
  let seen = 0;
  while (!done && performance.now() - t0 < limitS * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    const at = (performance.now() - t0) / 1000;
    if (snapshotsAt.length > 0 && at >= snapshotsAt[0]!) await snapshot(`${snapshotsAt.shift()} s`);
    const n = layerRows(copy);
    if (n !== seen) {
      seen = n;
      console.log(`${((performance.now() - t0) / 1000).toFixed(0)} s: ${n} of ${layersWhenDone} layers`);
    }
    done = n >= layersWhenDone;
  }
  const s = ((performance.now() - t0) / 1000).toFixed(0);
  // Layer files are named by the SHA-1 of their bytes: the same names are the same graph and filters.
  const layerNames = sqlite(
    copy,
    "select group_concat(substr(key, -46, 40), ' ') from (select key from _mf_objects where key like '%/derived/commit-graph/v1/layer-%' order by key)",
  );
  console.log(`layers (named by their SHA-1): ${layerNames}`);
  const peaks = (await heap?.stop()) ?? {};
  if (alloc) {
    console.log("push isolate: bytes allocated per function (sampled, dead objects included):");
    for (const row of await alloc()) console.log(`  ${row}`);
  }
  if (cpu) {
    const profiles = await cpu.stop();
    const push = profiles["core:user:push"];
    if (push) {
      console.log(`push isolate busy ${(push.busyMs / 1000).toFixed(1)} s; self time by function:`);
      for (const row of push.byFunction ?? []) console.log(`  ${row}`);
    }
  }
  const push = peaks["core:user:push"];
  const mib = (b = 0) => (b / 2 ** 20).toFixed(1);
  console.log(
    `== commit-graph of ${commits} commits ${done ? `built in ${s} s` : `NOT built after ${s} s`}; push isolate peak${live ? " (live: collected before each sample)" : ""}: used heap ${mib(push?.used)} MiB, with array buffers ${mib(push?.withBuffers)} MiB`,
  );
} finally {
  await forge.stop();
  rmSync(copy, { recursive: true, force: true });
}

/** Snapshots the isolates and prints what the push isolate holds. */
async function snapshot(label: string): Promise<void> {
  const dir = process.env.SNAPSHOT_DIR ?? tmpdir();
  const files = await takeHeapSnapshots(inspector, dir, `graph-build-${label.replace(/\W+/g, "")}`);
  const file = files["core:user:push"];
  if (!file) return;
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  console.log(`== push isolate at ${label} (${file}): objects by constructor (self size)`);
  for (const g of selfSizeByName(snap, 25)) console.log(`  ${mib(g.bytes)} in ${g.count}: ${g.name}`);
  const buffers = retainersOfBuffers(snap, 4096, 6);
  console.log(`  array buffers of 4 KiB or more: ${mib(buffers.reduce((n, g) => n + g.bytes, 0))}`);
  for (const g of buffers.slice(0, 15)) console.log(`  ${mib(g.bytes)} in ${g.count}: ${g.path}`);
}

/** Starts V8's sampling heap profiler on one isolate; the returned function stops it and sums it per function. */
async function sampleAllocations(port: number, target: string): Promise<() => Promise<string[]>> {
  const list = await inspectorTargets(port);
  const ws = new WebSocket(list.find((t) => t.id === target)!.webSocketDebuggerUrl);
  await new Promise((r) => (ws.onopen = r));
  let id = 0;
  const pending = new Map<number, (v: unknown) => void>();
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown };
    if (msg.id) pending.get(msg.id)?.(msg.result);
  };
  const send = (method: string, params = {}) =>
    new Promise<unknown>((resolve) => {
      const n = ++id;
      pending.set(n, resolve);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  await send("HeapProfiler.enable");
  await send("HeapProfiler.startSampling", {
    samplingInterval: 32768,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return async () => {
    interface Node {
      callFrame: { functionName: string; url: string; lineNumber: number };
      selfSize: number;
      children: Node[];
    }
    const { profile } = (await send("HeapProfiler.stopSampling")) as { profile: { head: Node } };
    ws.close();
    const by = new Map<string, number>();
    let total = 0;
    const walk = (n: Node) => {
      const f = n.callFrame;
      const key = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\//, "")}:${f.lineNumber + 1}`;
      by.set(key, (by.get(key) ?? 0) + n.selfSize);
      total += n.selfSize;
      for (const c of n.children) walk(c);
    };
    walk(profile.head);
    return [
      `total ${(total / 2 ** 20).toFixed(0)} MiB`,
      ...[...by.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 30)
        .map(([k, b]) => `${(b / 2 ** 20).toFixed(1).padStart(8)} MiB ${((100 * b) / total).toFixed(1).padStart(5)} %  ${k}`),
    ];
  };
}
