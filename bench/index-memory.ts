// `node --import tsx bench/index-memory.ts <pack file> [--attribute]`
//
// Indexes a pack file from disk with the push worker's indexer (git/pack-indexer.ts, links spilled
// as an import does) in Node, sampling the process's used heap and array buffers every 20 ms and
// printing each pass's peak. With --attribute, counts every array buffer of 16 KiB or more made
// while indexing, by the place that made it. Quicker than an import through the forge for
// finding where the indexer's array buffers come from; the forge's figures are bench:import-large's.
import { openSync, readSync, fstatSync } from "node:fs";
import zlib from "node:zlib";
import { parseArgs } from "node:util";
import { indexPackTo } from "../src/git/pack-indexer";
import { startHeapSampling, type HeapNode } from "./lib/heap-sampling";
import { MemorySpillStore } from "../src/git/spill-memory";
import { linkRuns } from "../src/git/connectivity";
import { collectLinks } from "../src/git/links";
import type { RangeSource } from "../src/git/range-source";

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { attribute: { type: "boolean" }, min: { type: "string" }, "heap-profile": { type: "string" } },
});
const file = positionals[0]!;
const fd = openSync(file, "r");
const size = fstatSync(fd).size;
let reads = 0;
let readBytes = 0;
const source: RangeSource = {
  id: file,
  size,
  async read(start, end) {
    end = Math.min(end, size);
    reads++;
    readBytes += end - start;
    const out = new Uint8Array(Math.max(0, end - start));
    readSync(fd, out, 0, out.length, start);
    return out;
  },
  async readInto(start, into) {
    const n = Math.min(into.length, size - start);
    reads++;
    readBytes += n;
    readSync(fd, into, 0, n, start);
    return into.subarray(0, n);
  },
  async stream(start) {
    // A byte stream read straight into the reader's buffer, as an R2 body is.
    let at = start;
    return new ReadableStream({
      type: "bytes",
      pull(controller) {
        const view = controller.byobRequest!.view! as Uint8Array;
        const n = readSync(fd, view, 0, Math.min(view.length, size - at), at);
        at += n;
        reads++;
        readBytes += n;
        controller.byobRequest!.respond(n);
        if (at >= size) controller.close();
      },
    }) as ReadableStream<Uint8Array>;
  },
};

const sites = new Map<string, { count: number; bytes: number }>();
let phase = "pass 1";
/** Buffers of at least this many bytes are counted (--min; V8 keeps typed arrays up to 64 bytes in its heap). */
const MIN = Number(opts.min ?? 16 * 1024);
let seen = 0;
const note = (bytes: number) => {
  if (bytes < MIN) return;
  // Small buffers are many: their place is sampled (1 in 64), their bytes all counted.
  if (bytes < 16 * 1024 && seen++ % 64 !== 0) {
    const s = sites.get(`${phase}: (small, place not sampled)`) ?? { count: 0, bytes: 0 };
    s.count++;
    s.bytes += bytes;
    sites.set(`${phase}: (small, place not sampled)`, s);
    return;
  }
  const stack = (new Error().stack ?? "")
    .split("\n")
    .slice(2, 6)
    .map((l) =>
      l
        .trim()
        .replace(/^at /, "")
        .replace(/\(.*\/src\//, "("),
    )
    .join(" < ");
  const key = `${phase}: ${stack}`;
  const s = sites.get(key) ?? { count: 0, bytes: 0 };
  s.count++;
  s.bytes += bytes;
  sites.set(key, s);
};
if (opts.attribute) {
  const Native = Uint8Array;
  class Counted extends Native {
    constructor(...args: unknown[]) {
      // biome-ignore lint/suspicious/noExplicitAny: a counting stand-in for the global constructor
      super(...(args as [any]));
      if (typeof args[0] === "number") note(args[0]);
      else if (args[0] instanceof ArrayBuffer && args.length === 0) note(args[0].byteLength);
    }
  }
  (globalThis as { Uint8Array: unknown }).Uint8Array = Counted;
  const inflateSync = zlib.inflateSync;
  (zlib as { inflateSync: unknown }).inflateSync = (buf: Uint8Array, o: zlib.ZlibOptions) => {
    const r = inflateSync(buf, o) as unknown as { buffer: Buffer };
    note(r.buffer.length);
    return r;
  };
}

const peaks: Record<string, { heap: number; withBuffers: number }> = {};
const sample = () => {
  const m = process.memoryUsage();
  const p = (peaks[phase] ??= { heap: 0, withBuffers: 0 });
  p.heap = Math.max(p.heap, m.heapUsed);
  p.withBuffers = Math.max(p.withBuffers, m.heapUsed + m.arrayBuffers);
};
const timer = setInterval(sample, 20);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
// --heap-profile <file>: V8's sampling heap profiler over the indexing, collected objects included
// (what the used heap's garbage is made of), written as a .heapprofile for Chrome DevTools.
const heapSampling = await startHeapSampling(opts["heap-profile"]);
const spill = new MemorySpillStore();
const links = linkRuns(new MemorySpillStore());
const t0 = performance.now();
let count = 0;
const result = await indexPackTo(source, {
  spill,
  writeIndex: async () => {},
  onObject: (type, data) => collectLinks(type, data, links),
  onProgress: (n, total) => {
    count = total;
    if (n === total) phase = "pass 2";
  },
});
phase = "done";
sample();
const heapRoot = await heapSampling.stop();
if (heapRoot) {
  // Self bytes by function and place, largest first.
  const bySite = new Map<string, number>();
  const walk = (n: HeapNode) => {
    const f = n.callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.replace(/.*\/(src|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;
    bySite.set(key, (bySite.get(key) ?? 0) + n.selfSize);
    for (const c of n.children) walk(c);
  };
  walk(heapRoot);
  const total = [...bySite.values()].reduce((a, b) => a + b, 0);
  console.log(`sampled allocations: ${mib(total)}`);
  for (const [k, v] of [...bySite.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${mib(v).padStart(11)} ${k}`);
}
clearInterval(timer);
console.log(
  `${count} objects in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${reads} reads, ${mib(readBytes)}; second-pass reads ${result.secondPassReads}; held peak ${mib(result.peakHeldBytes)}`,
);
for (const [name, p] of Object.entries(peaks))
  console.log(`${name}: peak used heap ${mib(p.heap)}, with array buffers ${mib(p.withBuffers)}`);
if (opts.attribute) {
  const rows = [...sites.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 25);
  for (const [key, s] of rows) console.log(`${mib(s.bytes).padStart(11)} in ${String(s.count).padStart(7)}: ${key}`);
}
