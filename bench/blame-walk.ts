// The blame walk alone, in Node, on a bare repository's pack (issue 19): no forge, no storage round
// trips, so that its CPU time and what it allocates can be measured and profiled quickly
// (`node --cpu-prof` / `--heap-prof`). Reads the pack and its .idx whole, builds the commit-graph
// (Bloom filters included) in memory, then blames the file at each commit COLD times (a new object
// store each time: nothing resolved kept) and checks each answer against `git blame --porcelain`.
//
//   REPO=/tmp/s5-blame/long.git FILE=src/core/dispatch-table.ts node --import tsx bench/blame-walk.ts [commit...]
// COLD=<n> runs per commit (3), GRAPH_CACHE=<dir> keeps the built commit-graph there, HEAP=<file>.
/// <reference path="../src/pako-lib.d.ts" />
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { blame } from "../src/git/blame";
import { startHeapSampling } from "./lib/heap-sampling";
import { CommitGraph } from "../src/git/commit-graph";
import { extendCommitGraph } from "../src/git/commit-graph-build";
import { GraphLayer, PersistedGraph } from "../src/git/commit-graph-file";
import { ObjectStore, Pack } from "../src/git/object-store";
import type { Oid } from "../src/git/oid";
import { PackIndex } from "../src/git/pack-index";
import { MemorySource } from "../src/git/range-source";
import { LONG_FILE } from "./lib/long-file";
import { git } from "./lib/run";

const repo = process.env.REPO ?? "/tmp/s5-blame/long.git";
const file = process.env.FILE ?? LONG_FILE;
const runs = Number(process.env.COLD ?? 3);
const dir = join(repo, "objects/pack");
const base = readdirSync(dir)
  .find((f) => f.endsWith(".pack"))!
  .replace(/\.pack$/, "");
const packBytes = readFileSync(join(dir, `${base}.pack`));
const idx = new PackIndex(new Uint8Array(readFileSync(join(dir, `${base}.idx`))));
let opened = 0;
const newStore = () => new ObjectStore([new Pack(base, idx, new MemorySource(`pack-${opened++}`, packBytes))]);

const master = (await git(["-C", repo, "rev-parse", "master"])).stdout.trim() as Oid;
const commits = (process.argv.slice(2).length ? process.argv.slice(2) : [master]) as Oid[];
let t = performance.now();
// The commit-graph layers are kept beside the run's other files (GRAPH_CACHE) between runs: building
// them takes most of a run.
const cached = process.env.GRAPH_CACHE ? `${process.env.GRAPH_CACHE}/${master}.layer` : null;
let chain: GraphLayer[] = [];
let n = 0;
if (cached && existsSync(cached))
  chain = [await GraphLayer.open(new MemorySource("layer-0", new Uint8Array(readFileSync(cached))))];
else {
  let written: Uint8Array | null = null;
  await extendCommitGraph(
    {
      store: newStore(),
      graph: null,
      writeLayer: async (bytes) => {
        written = bytes;
        return GraphLayer.open(new MemorySource(`layer-${n++}`, bytes));
      },
      saveChain: async (layers) => {
        chain = layers;
      },
    },
    [master],
  );
  if (cached && written && chain.length === 1) writeFileSync(cached, written);
}
const persisted = new PersistedGraph(chain);
console.log(`commit-graph ${(performance.now() - t).toFixed(0)} ms`);

// HEAP=<file>: a sampling heap profile of the runs, with what the collector freed (what allocates,
// not what stays).
const heapSampling = await startHeapSampling(process.env.HEAP);
for (const commit of commits) {
  const expected = porcelain((await git(["-C", repo, "blame", "--porcelain", commit, "--", file])).stdout);
  for (let i = 0; i < runs; i++) {
    const graph = new CommitGraph(newStore());
    graph.usePersisted(async () => persisted);
    t = performance.now();
    const cpu = process.cpuUsage();
    const r = await blame(graph, commit, file.split("/"));
    const ms = performance.now() - t;
    const used = process.cpuUsage(cpu);
    const differ = r.lines.filter((l, k) => l.commit !== expected[k]![0] || l.line !== expected[k]![1]).length;
    console.log(
      `${commit.slice(0, 10)} cold #${i}: ${ms.toFixed(0)} ms (CPU ${((used.user + used.system) / 1000).toFixed(0)} ms), ${r.lines.length} lines, ${differ} differ from git blame, steps ${r.steps}, ${JSON.stringify(r.work)}`,
    );
  }
}

/** [commit, line in it] per line of `git blame --porcelain`. */
function porcelain(out: string): [string, number][] {
  const lines: [string, number][] = [];
  for (const l of out.split("\n")) {
    const m = /^([0-9a-f]{40}) (\d+) \d+/.exec(l);
    if (m) lines.push([m[1]!, Number(m[2])]);
  }
  return lines;
}

await heapSampling.stop();
