// How fast the last-commit checkpoints of a kept import get written with no page visits: starts a
// forge on a fresh copy of a STATE folder (an import whose commit-graph is built, as
// bench/tree-probe.ts keeps one), asks for one tree page at an old commit (which starts the
// build's runs in the push worker), then asks for nothing more and counts the stored last-commit
// answers in the copy's R2 every 30 s (checkpoints, plus the few branch tips' answers), and what
// each checkpoint step did as the push worker logs it (commits walked, the base's side of the walk,
// whole-history searches, trees read, listings, the answer's size, time split; code from before
// these lines prints only the counts).
//
//   STATE=/tmp/s6log-big-state REPO=/tmp/s4-big/big.git MINUTES=6 node --import tsx bench/checkpoint-rate.ts
//   ROOT=/work/wt/<name>-base ...: the same with another checkout's forge (before/after on one state)
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEdgeforge } from "./lib/edgeforge";
import { pageAt } from "./lib/probe";
import { git } from "./lib/run";

const state = process.env.STATE;
if (!state) throw new Error("STATE=<a kept forge state folder with an imported project 'repo'> is required");
const repo = process.env.REPO ?? "/tmp/s4-big/big.git";
const minutes = Number(process.env.MINUTES ?? 6);
process.env.MINIFLARE_WORKERD_V8_FLAGS ??= "--max-old-space-size=100";

const firstParent = (await git(["-C", repo, "rev-list", "--first-parent", "master"])).stdout.trim().split("\n");
const commit = firstParent[Math.floor(firstParent.length / 2)]!;

/** Stored last-commit answers (R2 keys under derived/last-commit/v2/) in the copy's local R2. */
function answers(dir: string): number {
  const r2 = join(dir, "data", "r2", "miniflare-R2BucketObject");
  const db = readdirSync(r2).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")!;
  const sql = "select count(*) from _mf_objects where key like '%/derived/last-commit/v2/%'";
  const py = `import sqlite3,sys\nc=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro',uri=True)\nprint(c.execute(sys.argv[2]).fetchone()[0])`;
  return Number(execFileSync("python3", ["-c", py, join(r2, db), sql], { encoding: "utf8" }).trim());
}

const copy = mkdtempSync(join(tmpdir(), "checkpoint-rate-"));
cpSync(state, copy, { recursive: true });
// The runner prints the workers' log lines only when not quiet (the steps' lines are among them).
const forge = await startEdgeforge({ FORGE_LOG: "" }, 600_000, { stateDir: copy, root: process.env.ROOT });
try {
  const start = answers(copy);
  const page = await pageAt(forge.port, `/p/repo/source/tree/${commit}/`);
  console.log(
    `tree page at ${commit.slice(0, 8)}: ${page.status} ${page.ms.toFixed(0)} ms${page.cc === "no-store" ? " partial" : ""}`,
  );
  const t0 = performance.now();
  let printed = 0;
  const printSteps = () => {
    const lines = forge.forge.output.split("\n").filter((l) => l.startsWith("info: checkpoint {"));
    for (const line of lines.slice(printed)) {
      const s = JSON.parse(line.slice("info: checkpoint ".length));
      const w = s.walk;
      console.log(
        `  step depth ${s.depth}: ${w.commits} commits (${w.uninteresting ?? 0} below the base, ${w.fullSearch ?? 0} in a whole-history search), ` +
          `${w.compares} compares, ${w.filters} filters, ${w.trees} trees; ${s.paths} paths, ${s.fullListings} whole listings, ` +
          `${(s.bytes / 1024).toFixed(0)} KiB; ${s.indexReads ?? "?"} index reads, id table ${s.idTable ?? "?"}; ` +
          `${s.ms.table !== undefined ? `table ${s.ms.table} ms, ` : ""}list ${s.ms.list} ms, walk ${s.ms.walk} ms, store ${s.ms.store} ms`,
      );
    }
    printed = lines.length;
  };
  for (let i = 1; i <= minutes * 2; i++) {
    await new Promise((r) => setTimeout(r, 30_000));
    const n = answers(copy) - start;
    console.log(`${((performance.now() - t0) / 60_000).toFixed(1)} min: ${n} answers stored`);
    printSteps();
  }
  const n = answers(copy) - start;
  console.log(`== ${n} answers in ${minutes} min: ${(n / minutes).toFixed(1)} a minute`);
} finally {
  await forge.stop();
  rmSync(copy, { recursive: true, force: true });
}
