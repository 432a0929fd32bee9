// Issue 19's HTTP 502: imports a large repository, then pushes one new commit over HTTP with the
// real git client right away, while the import's post-push work still runs; prints what git and
// workerd said. STATE=<dir> keeps the import (a copy is used per run when KEEP is unset).
// REPO=/tmp/s4-big/large-320.git node --import tsx bench/push-after-import.ts
// PORT / INSPECTOR_PORT: fixed ports; ROOT: another checkout's forge (a "before" worktree);
// SNAPSHOT_AT=20,40 (seconds from the start): heap snapshots of the isolates then, each printed as
// what retains its array buffers (into SNAPSHOT_DIR, default /tmp); FSCK=1: clone at the end and run
// git fsck on the clone; WAIT_COMPACTION_S=<s>: after the pushes, wait for the compaction's log line;
// PROFILE_S=<s>: a CPU profile of every workerd isolate (Miniflare's simulators too) for the first
// s seconds, printed as self time by function (SLICES_DIR=<dir> also keeps the .cpuprofile files).
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/e2e/runner";
import { importProject, startEdgeforge } from "./lib/edgeforge";
import { profileCpu } from "./lib/cpu-slices";
import { sampleHeap } from "./lib/heap";
import { retainersOfBuffers, takeHeapSnapshots } from "./lib/heap-snapshot";
import { basicAuthArgs, CommitMaker } from "./lib/repo";
import { git, run } from "./lib/run";

process.env.MINIFLARE_WORKERD_V8_FLAGS ??= "--max-old-space-size=100";
const repo = process.env.REPO ?? "/tmp/s4-big/large-320.git";
const kept = process.env.STATE;
let stateDir: string | undefined;
/** A state that holds the import already (its tenant's token is there). */
const reused = Boolean(kept && existsSync(join(kept, "bench-token")));
if (reused && !process.env.KEEP) {
  stateDir = mkdtempSync(join(tmpdir(), "b502-state-"));
  cpSync(kept!, stateDir, { recursive: true });
} else stateDir = kept;
// TRACE_HEAP=1: each isolate's used heap (with array buffers) every second, through the inspector.
const snapshotAt = (process.env.SNAPSHOT_AT ?? "").split(",").filter(Boolean).map(Number);
const profileS = Number(process.env.PROFILE_S ?? 0);
const inspector =
  process.env.TRACE_HEAP || snapshotAt.length || profileS ? Number(process.env.INSPECTOR_PORT ?? 0) || (await freePort()) : 0;
const ef = await startEdgeforge(
  { FORGE_LOG: "verbose", ...(inspector ? { FORGE_INSPECTOR_PORT: String(inspector) } : {}) },
  600_000,
  { stateDir, root: process.env.ROOT, port: process.env.PORT ? Number(process.env.PORT) : undefined },
);
// LIVE_HEAP=1: collect garbage before each sample, so array buffers count only while held.
const sampler = process.env.TRACE_HEAP ? await sampleHeap(inspector, 500, true, Boolean(process.env.LIVE_HEAP)) : null;
// Interrupted: keep what the forge printed (OUT), stop it and drop the state copy too.
process.once("SIGINT", () => {
  writeFileSync(process.env.OUT ?? "/tmp/b502-forge-output.txt", ef.forge.output);
  void ef.stop().finally(() => {
    if (kept && stateDir !== kept) rmSync(stateDir!, { recursive: true, force: true });
    process.exit(130);
  });
});
const started = Date.now();
/** PROFILE_S: where the isolates' time goes while the run's first seconds pass (a compaction at start). */
const profiled = profileS
  ? (async () => {
      const profiler = await profileCpu(inspector, 1000, true);
      await new Promise((r) => setTimeout(r, profileS * 1000));
      for (const [target, p] of Object.entries(await profiler.stop())) {
        if (p.busyMs < 100) continue;
        console.log(`profile ${target}: busy ${(p.busyMs / 1000).toFixed(1)} s of ${profileS} s`);
        for (const line of (p.byFunction ?? []).slice(0, 25)) console.log(`  ${line}`);
      }
    })()
  : null;
const stamp = (m: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${m}`);
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
/** Snapshots in turn (one at a time: each stops the isolate while it is written). */
const snapshots = (async () => {
  for (const at of snapshotAt) {
    const wait = started + at * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    stamp(`heap snapshot at ${at} s`);
    let files: Record<string, string> = {};
    try {
      files = await takeHeapSnapshots(inspector, process.env.SNAPSHOT_DIR ?? "/tmp", `paf-${at}s`);
    } catch (err) {
      stamp(`snapshot failed: ${(err as Error).message}`);
    }
    for (const [target, file] of Object.entries(files)) {
      const groups = retainersOfBuffers(JSON.parse(readFileSync(file, "utf8")));
      const total = groups.reduce((n, g) => n + g.bytes, 0);
      console.log(`  ${at} s: ${target} holds ${mib(total)} in array buffers of 16 KiB or more (${file})`);
      for (const g of groups.slice(0, 15))
        console.log(`    ${mib(g.bytes)} in ${g.count}: ${g.path.split("\n")[0]!.slice(0, 300)}`);
      if (!process.env.KEEP_SNAPSHOTS) rmSync(file, { force: true });
    }
  }
})();
try {
  if (!reused) {
    stamp("import");
    await importProject(ef, "repo", repo);
    stamp("imported");
  }
  const auth = basicAuthArgs({ username: "bench", password: ef.token });
  if (process.env.MIRROR) {
    // bench:scale's order: push --mirror into an empty project, whose post-push work then runs.
    await ef.cli("projects", "create", "bench", "mirror");
    stamp("push --mirror");
    await git([...auth, "-C", repo, "push", "--mirror", `http://bench.localhost:${ef.port}/mirror.git`]);
    stamp("pushed --mirror");
  }
  const maker = await CommitMaker.create(repo);
  try {
    for (let i = 1; i <= Number(process.env.PUSHES ?? 3); i++) {
      await maker.commit();
      // Spread over the window where the upload's post-push work runs (bench:scale pushed after a clone).
      await new Promise((r) => setTimeout(r, Number(process.env.GAP_MS ?? 0)));
      stamp(`push ${i}`);
      try {
        // Forced: a kept state may hold an earlier run's commits on master.
        const r = await run("git", [
          ...auth,
          "-C",
          maker.dir,
          "push",
          `http://bench.localhost:${ef.port}/repo.git`,
          `+refs/heads/${maker.branch}:refs/heads/${maker.branch}`,
        ]);
        if (r.code !== 0) throw new Error(r.stderr.trim());
        stamp(`push ${i} ok`);
      } catch (err) {
        stamp(`push ${i} FAILED: ${String((err as Error).message)}`);
      }
    }
  } finally {
    maker.dispose();
  }
  const waitS = Number(process.env.WAIT_COMPACTION_S ?? 0);
  if (waitS > 0) {
    // WAIT_COMPACTION_S=<s>: after the pushes, until the push worker logs a compaction (or s pass).
    const until = Date.now() + waitS * 1000;
    while (Date.now() < until && !/(info: compaction |error: compaction of )/.test(ef.forge.output)) {
      await new Promise((r) => setTimeout(r, 1000));
    }
    const line = /(info: compaction |error: compaction of ).*/.exec(ef.forge.output)?.[0];
    stamp(line ?? `no compaction logged within ${waitS} s`);
  }
  await snapshots;
  await profiled;
  if (process.env.FSCK) {
    // FSCK=1: after the pushes (and the compaction the run waited for), a clone must be whole.
    const dir = mkdtempSync(join(tmpdir(), "paf-clone-"));
    try {
      stamp("clone");
      await git([...auth, "clone", "--bare", "--quiet", `http://bench.localhost:${ef.port}/repo.git`, `${dir}/c.git`]);
      stamp("cloned; git fsck --full");
      const fsck = await run("git", ["-C", `${dir}/c.git`, "fsck", "--full", "--no-progress"]);
      stamp(`git fsck: ${fsck.code === 0 ? "ok" : `FAILED (${fsck.code}) ${fsck.stderr.trim().slice(0, 500)}`}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  const peaks = await sampler?.stop().catch(() => undefined);
  for (const [target, p] of Object.entries(peaks ?? {})) {
    console.log(
      `peak ${target}: used heap ${mib(p.used)}, with array buffers ${mib(p.withBuffers)} (at ${(p.withBuffersAt ?? 0).toFixed(1)} s)`,
    );
  }
  writeFileSync(process.env.OUT ?? "/tmp/b502-forge-output.txt", ef.forge.output);
  await ef.stop();
  if (kept && stateDir !== kept) rmSync(stateDir!, { recursive: true, force: true });
}
