// The storage reads of one cold blame, in Node, through the stack a page uses (issue 19): the pack
// index read by ranges, the pack through the 64 KiB windows, every read of the index and the pack
// counted with its bytes and the walk's step, and the rounds of reads the walk waited for in turn
// (reads are answered together once the walk waits on nothing else: one storage round trip each),
// the pack entries inflated (distinct and in all) and the commits passed by their Bloom filters.
// No forge: counts, not times (CPU is printed for what it is worth on a loaded machine).
//
//   REPO=/tmp/s5-blame/long70k.git GRAPH_CACHE=/tmp/blame-graph AHEAD=8 node --import tsx bench/blame-reads.ts
// AHEAD: commits read ahead (git/blame-ahead.ts; 0: none). GRAPH_CACHE: a folder keeping the built
// commit-graph's layers between runs (building them takes a minute on long70k).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { blame } from "../src/git/blame";
import { Budget } from "../src/git/budget";
import { CommitGraph } from "../src/git/commit-graph";
import { extendCommitGraph } from "../src/git/commit-graph-build";
import { GraphLayer, PersistedGraph } from "../src/git/commit-graph-file";
import { ObjectStore, Pack } from "../src/git/object-store";
import type { Oid } from "../src/git/oid";
import { PackIndex } from "../src/git/pack-index";
import { RangedPackIndex } from "../src/git/pack-index-ranged";
import { MemorySource, WindowedSource } from "../src/git/range-source";
import { LONG_FILE } from "./lib/long-file";
import { git } from "./lib/run";

const repo = process.env.REPO ?? "/tmp/s5-blame/long.git";
const file = process.env.FILE ?? LONG_FILE;
const dir = join(repo, "objects/pack");
const base = readdirSync(dir)
  .find((f) => f.endsWith(".pack"))!
  .replace(/\.pack$/, "");
const packBytes = new Uint8Array(readFileSync(join(dir, `${base}.pack`)));
const idxBytes = new Uint8Array(readFileSync(join(dir, `${base}.idx`)));
const master = (await git(["-C", repo, "rev-parse", "master"])).stdout.trim() as Oid;

let step = 0;
let rounds = 0;
let waiting: (() => void)[] = [];
const log: { kind: string; step: number; bytes: number }[] = [];
/** Storage: each read waits for the round it falls in (all reads asked before the next turn). */
class Counted extends MemorySource {
  constructor(
    id: string,
    bytes: Uint8Array,
    private readonly kind: string,
  ) {
    super(id, bytes);
  }
  override async read(start: number, end: number) {
    log.push({ kind: this.kind, step, bytes: Math.min(end, this.size) - start });
    await new Promise<void>((resolve) => {
      if (waiting.length === 0)
        setImmediate(() => {
          rounds++;
          const w = waiting;
          waiting = [];
          for (const f of w) f();
        });
      waiting.push(resolve);
    });
    return super.read(start, end);
  }
  // What is in memory is storage here: nothing is there without a read.
  override peek(): Uint8Array | null {
    return null;
  }
}

// The commit-graph, built once and kept (GRAPH_CACHE).
const cache = process.env.GRAPH_CACHE;
let chain: GraphLayer[] = [];
const kept = cache ? readdirSync(cache).filter((f) => f.startsWith(`${master}.`)) : [];
if (kept.length > 0) {
  for (const f of kept.sort())
    chain.push(await GraphLayer.open(new MemorySource(f, new Uint8Array(readFileSync(join(cache!, f))))));
} else {
  const layers = new Map<string, Uint8Array>();
  await extendCommitGraph(
    {
      store: new ObjectStore([new Pack(base, new PackIndex(idxBytes), new MemorySource("build", packBytes))]),
      graph: null,
      writeLayer: async (bytes) => {
        const id = `layer-${layers.size}`;
        layers.set(id, bytes);
        return GraphLayer.open(new MemorySource(id, bytes));
      },
      saveChain: async (saved) => {
        chain = saved;
      },
    },
    [master],
  );
  if (cache) {
    mkdirSync(cache, { recursive: true });
    for (const [i, layer] of chain.entries())
      writeFileSync(join(cache, `${master}.${String(i).padStart(3, "0")}`), layers.get(layer.source.id)!);
  }
}

const index = await RangedPackIndex.open(new Counted(`idx-${Math.random()}`, idxBytes, "idx"));
const store = new ObjectStore([
  new Pack(base, index, new WindowedSource(new Counted(`pack-${Math.random()}`, packBytes, "pack"))),
]);
// Entries inflated (delta chains' bases again when the shared cache let them go), and how many distinct.
const inflated = { entries: 0, distinct: new Set<number>() };
const pack = store.packs[0]!;
const inflateEntry = pack.inflateEntry.bind(pack);
pack.inflateEntry = (offset, known) => {
  inflated.entries++;
  inflated.distinct.add(offset);
  return inflateEntry(offset, known);
};
const graph = new CommitGraph(store);
// Commits passed by their Bloom filters (the walk's and its read-ahead's, CommitGraph.firstMaybeChanged).
let passed = 0;
const firstMaybeChanged = graph.firstMaybeChanged.bind(graph);
graph.firstMaybeChanged = async (...args) => {
  const to = await firstMaybeChanged(...args);
  passed += to.passed;
  return to;
};
const persisted = new PersistedGraph(chain);
graph.usePersisted(async () => persisted);
const budget = new Budget();
const stepOf = budget.step.bind(budget);
budget.step = () => {
  step++;
  return stepOf();
};
const t = performance.now();
const cpu = process.cpuUsage();
const r = await blame(graph, master, file.split("/"), {
  budget,
  readAhead: process.env.AHEAD ? Number(process.env.AHEAD) : undefined,
});
const used = process.cpuUsage(cpu);
console.log(
  `${(performance.now() - t).toFixed(0)} ms (CPU ${((used.user + used.system) / 1000).toFixed(0)} ms), steps ${r.steps}, ${JSON.stringify(r.work)}`,
);
const sum = (kind: string, upto = Infinity) => {
  const l = log.filter((x) => x.kind === kind && x.step <= upto);
  return `${l.length} reads, ${(l.reduce((n, x) => n + x.bytes, 0) / 1048576).toFixed(1)} MiB`;
};
console.log(`rounds of storage reads the walk waited for: ${rounds}`);
console.log(
  `entries inflated: ${inflated.entries} (${inflated.distinct.size} distinct); commits passed by their filters: ${passed}`,
);
console.log(`index: ${sum("idx")} (before the first step: ${sum("idx", 0)}); pack: ${sum("pack")}`);
for (const s of [8, 100, 400, 800]) console.log(`  up to step ${s}: index ${sum("idx", s)}, pack ${sum("pack", s)}`);
