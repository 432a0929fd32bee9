// A compaction's object walk alone, in Node, on a bare repository's pack (issue 19): the same walk
// as `compactPacks` (its own WalkReader, a graph that remembers no commit), no forge, so that what
// it allocates (garbage included) and its used heap can be measured in minutes. Run it bundled by
// esbuild as the local build is: tsx keeps function names (`__name` on every closure made), which
// made each tree entry's closure cost 20 times its time and most of the walk's allocations.
//
//   npx esbuild bench/compaction-walk.ts --bundle --format=esm --platform=node --outfile=/tmp/cw.mjs
//   REPO=/tmp/s5-blame/long70k.git [HEAP=<file>.heapprofile] node /tmp/cw.mjs
// HEAP: V8's sampling heap profile (collected objects counted too), written there and summed by site.
/// <reference path="../src/pako-lib.d.ts" />
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CommitGraph } from "../src/git/commit-graph";
import { ObjectStore, Pack } from "../src/git/object-store";
import type { Oid } from "../src/git/oid";
import { PackIndex } from "../src/git/pack-index";
import { MemorySource } from "../src/git/range-source";
import { enumerateObjects } from "../src/git/walk";
import { WalkReader } from "../src/git/walk-reader";
import { type HeapNode, startHeapSampling } from "./lib/heap-sampling";

const repo = process.env.REPO ?? "/tmp/s5-blame/long.git";
const dir = join(repo, "objects/pack");
const base = readdirSync(dir)
  .find((f) => f.endsWith(".pack"))!
  .replace(/\.pack$/, "");
const idx = new PackIndex(new Uint8Array(readFileSync(join(dir, `${base}.idx`))));
const store = new ObjectStore([new Pack(base, idx, new MemorySource(base, readFileSync(join(dir, `${base}.pack`))))]);
const tips = execFileSync("git", ["-C", repo, "for-each-ref", "--format=%(objectname)"]).toString().trim().split("\n") as Oid[];
const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

const sampling = await startHeapSampling(process.env.HEAP);
let peak = 0;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().heapUsed);
}, 50);
const started = performance.now();
const reader = new WalkReader(store);
const walk = await enumerateObjects(new CommitGraph(store, reader.read, false), {
  wants: tips,
  haves: [],
  shallow: new Set(),
  expectedObjects: idx.count,
});
const ms = performance.now() - started;
clearInterval(timer);
const root = await sampling.stop();
// The walk's output, to compare two versions of the code: same objects, same order, same types.
const digest = createHash("sha1");
for (const [oid, type] of walk.objects) digest.update(`${oid} ${type}\n`);
console.log(`objects ${walk.objects.size}, commits ${walk.commits}, ${(ms / 1000).toFixed(1)} s, ${reader.reads} reads`);
console.log(`peak used heap sampled every 50 ms: ${mib(peak)}; objects in order: ${digest.digest("hex")}`);
if (root) {
  const bySite = new Map<string, number>();
  const visit = (n: HeapNode, stack: string[]) => {
    const at = [...stack, `${n.callFrame.functionName}:${n.callFrame.lineNumber}`];
    if (n.selfSize) bySite.set(at.slice(-3).join(" < "), (bySite.get(at.slice(-3).join(" < ")) ?? 0) + n.selfSize);
    for (const c of n.children) visit(c, at);
  };
  visit(root, []);
  console.log(`allocated (sampled, garbage included): ${mib([...bySite.values()].reduce((a, b) => a + b, 0))}`);
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${mib(bytes)}  ${site}`);
}
