// `npm run bench:index-lookups -- [--repo <bare dir>] [--lookups 2000] [--latency-ms 0]`
//
// Looks objects up in a repository's pack index (default: the express fixture) the two ways the
// edge can: the whole .idx in memory (one read of all of it), and the ranged reader (the fan-out
// table, then pages of names and offsets). The index is read from disk through a source that
// counts reads, each of which would be one R2 request on the edge, and prints per cold lookup:
// requests, bytes read, and the memory each way holds. --latency-ms delays each read as a network
// hop would, so the time per lookup shows round trips. No forge is started.
import { parseArgs } from "node:util";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PackIndex } from "../src/git/pack-index";
import { RangedPackIndex } from "../src/git/pack-index-ranged";
import { RANGED_PAGE_BUDGET, rangedPageBytes } from "../src/git/pack-index-unit-cache";
import type { RangeSource } from "../src/git/range-source";
import { root } from "../test/e2e/runner";
import { git } from "./lib/run";

const { values: opts } = parseArgs({
  options: {
    repo: { type: "string" },
    lookups: { type: "string", default: "2000" },
    "latency-ms": { type: "string", default: "0" },
  },
});

const latency = Number(opts["latency-ms"]);
let repo = opts.repo ? resolve(opts.repo) : "";
if (!repo) {
  repo = join(mkdtempSync(join(tmpdir(), "index-lookups-")), "express.git");
  await git(["clone", "--quiet", "--mirror", join(root, "test", "fixtures", "express.bundle"), repo]);
}
const packDir = join(repo, "objects", "pack");
const idxFiles = readdirSync(packDir).filter((f) => f.endsWith(".idx"));
const idxFile = join(packDir, idxFiles.sort((a, b) => statSync(join(packDir, b)).size - statSync(join(packDir, a)).size)[0]!);

/** The .idx on disk, read by ranges as R2 would serve it. */
class FileSource implements RangeSource {
  readonly id = idxFile;
  readonly size = statSync(idxFile).size;
  reads = 0;
  bytes = 0;
  private readonly fd = openSync(idxFile, "r");
  async read(start: number, end: number): Promise<Uint8Array> {
    end = Math.min(end, this.size);
    const out = new Uint8Array(Math.max(0, end - start));
    readSync(this.fd, out, 0, out.length, start);
    this.reads++;
    this.bytes += out.length;
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    return out;
  }
  close(): void {
    closeSync(this.fd);
  }
}

const whole = new PackIndex(new Uint8Array(readFileSync(idxFile)));
const n = whole.count;
const lookups = Math.min(Number(opts.lookups), n);
// Spread over the whole index (a fixed stride), so that lookups land in different buckets.
const sample = Array.from({ length: lookups }, (_, i) => whole.oidAt(Math.floor((i * 7919 * n) / lookups) % n));

const source = new FileSource();
const start = performance.now();
const ranged = await RangedPackIndex.open(source);
const openReads = source.reads;
const openBytes = source.bytes;
const perLookup: number[] = [];
let firstHundredReads = 0;
for (const [k, oid] of sample.entries()) {
  const before = source.reads;
  const found = await ranged.lookup(oid);
  if (found?.offset !== whole.offsetAt(whole.find(oid))) throw new Error(`offset of ${oid} differs`);
  perLookup.push(source.reads - before);
  if (k < 100) firstHundredReads += source.reads - before;
}
const ms = performance.now() - start;
source.close();

const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const total = perLookup.reduce((a, b) => a + b, 0);
console.log(`index ${idxFile}: ${n} objects, ${mib(source.size)}`);
console.log(
  `whole index: 1 read of ${mib(source.size)} before the first lookup; holds ${mib(whole.byteSize)} (+${mib(n * 12)} once pack order is built)`,
);
console.log(
  `ranged: open ${openReads} read of ${kib(openBytes)}; holds ${kib(ranged.byteSize)} per pack + the shared page cache (${kib(rangedPageBytes())} now, ${kib(RANGED_PAGE_BUDGET)} at most)`,
);
console.log(
  `ranged lookups (id -> offset): ${lookups}, reads first 100 ${(firstHundredReads / Math.min(100, lookups)).toFixed(2)}/lookup, all ${(total / lookups).toFixed(2)}/lookup, max ${Math.max(...perLookup)}, ${kib((source.bytes - openBytes) / lookups)} read/lookup, ${(ms / lookups).toFixed(3)} ms/lookup from disk${latency ? ` with ${latency} ms per read` : ""}`,
);
