// Where a first commit-graph build of a large repository goes: runs the forge's own build
// (git/commit-graph-build.ts) in Node over the repository's pack and index read by ranges from
// disk, as the push worker reads them from R2 (same ranged index, same page cache budget), and
// counts what it does per phase (index lookups and reads, entries inflated, trees read, turns
// given to other tasks) and its R2 writes,
// with Node's heap and array buffers sampled; then times `git commit-graph write --reachable
// --changed-paths` on the same repository (through an alternate, so the repository is only read).
//
//   REPO=/tmp/s4-big/big.git node --import tsx bench/graph-build-probe.ts
//   ROOT=/work/wt/base ...   runs another checkout's build code (before/after back to back)
//   SKIP_GIT=1 ...           leaves out git's run
// Node is not workerd: the times say where the work is, the workerd figures come from the forge.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const repo = process.env.REPO ?? "/tmp/g-bench/large.git";
const root = resolve(process.env.ROOT ?? ".");
const mod = (p: string) => import(pathToFileURL(join(root, p)).href);
const { extendCommitGraph } = await mod("src/git/commit-graph-build.ts");
const { ObjectStore, Pack } = await mod("src/git/object-store.ts");
const { RangedPackIndex } = await mod("src/git/pack-index-ranged.ts");
const { WindowedSource } = await mod("src/git/range-source.ts");
const { GraphLayer } = await mod("src/git/commit-graph-file.ts");

const counts = { idxReads: 0, idxBytes: 0, packReads: 0, packBytes: 0, lookups: 0, inflates: 0, readAt: 0, trees: 0, turns: 0 };
// Turns given to other tasks: the build's yields are zero-delay timers (utils/pace.ts).
const timer = globalThis.setTimeout;
globalThis.setTimeout = ((fn: () => void, ms?: number, ...rest: unknown[]) => {
  if (!ms) counts.turns++;
  return timer(fn, ms, ...rest);
}) as typeof setTimeout;
const packDir = join(repo, "objects/pack");
const packs = [];
for (const f of readdirSync(packDir).filter((n) => n.endsWith(".pack"))) {
  const base = join(packDir, f.slice(0, -5));
  const fileSource = async (path: string, kind: "idx" | "pack") => {
    const fh = await open(path);
    const size = statSync(path).size;
    return {
      id: path,
      size,
      async read(start: number, end: number) {
        end = Math.min(end, size);
        const buf = new Uint8Array(Math.max(0, end - start));
        await fh.read(buf, 0, buf.length, start);
        if (kind === "idx") {
          counts.idxReads++;
          counts.idxBytes += buf.length;
        } else {
          counts.packReads++;
          counts.packBytes += buf.length;
        }
        return buf;
      },
    };
  };
  const index = await RangedPackIndex.open(await fileSource(`${base}.idx`, "idx"));
  const lookup = index.lookup.bind(index);
  index.lookup = (oid: string) => {
    counts.lookups++;
    return lookup(oid);
  };
  // The push worker reads its packs through the isolate's 64 KiB window cache: packReads here
  // are the windows it missed (each an R2 request there).
  const pack = new Pack(f, index, new WindowedSource(await fileSource(`${base}.pack`, "pack")));
  const inflate = pack.inflateEntry.bind(pack);
  pack.inflateEntry = (...a: unknown[]) => {
    counts.inflates++;
    return inflate(...a);
  };
  packs.push(pack);
}
const store = new ObjectStore(packs);
const readAt = store.readAt.bind(store);
store.readAt = async (...a: unknown[]) => {
  counts.readAt++;
  const o = await readAt(...a);
  if (o.type === "tree") counts.trees++;
  return o;
};

// Peak memory, sampled every 100 ms (Node's heap and array buffers: what a worker's limit counts).
let peakHeap = 0;
let peakBuffers = 0;
let peakBoth = 0;
const sample = () => {
  const m = process.memoryUsage();
  peakHeap = Math.max(peakHeap, m.heapUsed);
  peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
  peakBoth = Math.max(peakBoth, m.heapUsed + m.arrayBuffers);
};
const sampler = setInterval(sample, 100);

const t0 = performance.now();
let last = t0;
let lastCounts = { ...counts };
const phase = (name: string) => {
  const now = performance.now();
  const d = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v - lastCounts[k as keyof typeof counts]]));
  console.log(`${name.padEnd(28)} ${((now - last) / 1000).toFixed(1).padStart(7)} s  ${JSON.stringify(d)}`);
  last = now;
  lastCounts = { ...counts };
};
const tips = execFileSync("git", ["-C", repo, "for-each-ref", "--format=%(objectname) %(objecttype) %(*objectname)"], {
  encoding: "utf8",
  maxBuffer: 1 << 26,
})
  .trim()
  .split("\n")
  .map((l) => l.split(" "))
  .map(([oid, type, peeled]) => (type === "tag" ? peeled! : oid!));
let layers = 0;
let layerBytes = 0;
let chains = 0;
const added = await extendCommitGraph(
  {
    store,
    graph: null,
    writeLayer: async (bytes: Uint8Array) => {
      layers++;
      layerBytes += bytes.length;
      const src = { id: `layer-${layers}`, size: bytes.length, read: async (s: number, e: number) => bytes.slice(s, e) };
      return GraphLayer.open(src);
    },
    saveChain: async () => {
      chains++;
    },
    onPhase: phase,
  },
  [...new Set(tips)],
);
phase("end");
clearInterval(sampler);
sample();
const ms = performance.now() - t0;
const mib = (b: number) => (b / 1048576).toFixed(1);
console.log(
  `build: ${added} commits in ${(ms / 1000).toFixed(1)} s; R2 puts: ${layers} layers (${mib(layerBytes)} MiB) and ${chains} chains`,
);
console.log(`totals ${JSON.stringify(counts)}`);
console.log(`peak heap ${mib(peakHeap)} MiB, array buffers ${mib(peakBuffers)} MiB, both ${mib(peakBoth)} MiB (Node)`);

if (!process.env.SKIP_GIT) {
  // git writes its file into a scratch repository that borrows big.git's objects.
  const scratch = mkdtempSync(join(tmpdir(), "graph-probe-"));
  try {
    execFileSync("git", ["init", "-q", "--bare", scratch]);
    writeFileSync(join(scratch, "objects/info/alternates"), `${join(repo, "objects")}\n`);
    const refs = execFileSync("git", ["-C", repo, "for-each-ref", "--format=%(objectname) %(refname)"], {
      encoding: "utf8",
      maxBuffer: 1 << 26,
    });
    writeFileSync(join(scratch, "packed-refs"), `# pack-refs with: peeled fully-peeled sorted \n${refs}`);
    const g0 = performance.now();
    execFileSync("git", ["-C", scratch, "commit-graph", "write", "--reachable", "--changed-paths", "--no-progress"]);
    console.log(`git commit-graph write --reachable --changed-paths: ${((performance.now() - g0) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
