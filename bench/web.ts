// `npm run bench:web`: Edgeforge's source pages against cgit, same machine, same repository.
//
//   npm run bench:web -- [--repo <bare dir>] [--samples N] [--seconds S] [--concurrency C] [--only <target>]... [--heap]
//
// For each page kind (tree, blob, log, commit):
// - cold: N different URLs (paths, or commits), each requested once, one at a time: the cost of a
//   first render (Edgeforge's object caches and the OS page cache are warm from the set-up; its
//   page cache is not, since no URL was requested before).
// - warm: one URL requested over and over by C concurrent keep-alive clients for S seconds:
//   the throughput and latency of a popular page.
// Targets: "cgit" (cgit's cache off), "cgit-cached" (on; see lib/cgit.ts on fairness), "edgeforge".
// --heap: after each kind's cold run, the edge isolate's used V8 heap once garbage is collected
// (workerd's inspector): what its caches and index structures hold after N cold pages.
// Ratios: edgeforge / cgit and edgeforge / cgit-cached (latency above 1: Edgeforge slower;
// req/s above 1: Edgeforge faster).
import { parseArgs } from "node:util";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { EXPRESS_BUNDLE } from "../test/e2e/git";
import { freePort } from "../test/e2e/runner";
import { startCgit, cgitPages } from "./lib/cgit";
import { HOST, importProject, startEdgeforge } from "./lib/edgeforge";
import { sampleHeap } from "./lib/heap";
import { LoadClient, coldRun, warmRun, type Endpoint, type Summary } from "./lib/load";
import { mirror, repoInfo } from "./lib/repo";
import { format, printTable, type Cell, type Row } from "./lib/report";
import { git, tempDir } from "./lib/run";

type Kind = "tree" | "blob" | "log" | "commit";
const KINDS: Kind[] = ["tree", "blob", "log", "commit"];

/** URL paths of a server's pages for the benchmark repository. */
interface Pages {
  tree(ref: string, path: string): string;
  blob(ref: string, path: string): string;
  log(ref: string): string;
  commit(sha: string): string;
}

const encPath = (path: string) => path.split("/").map(encodeURIComponent).join("/");

/** Edgeforge's source pages. The one place to change when the routes change. */
function edgeforgePages(project: string): Pages {
  const base = `/p/${encodeURIComponent(project)}/source`;
  return {
    tree: (ref, path) => `${base}/tree/${encodeURIComponent(ref)}/${encPath(path)}`,
    blob: (ref, path) => `${base}/blob/${encodeURIComponent(ref)}/${encPath(path)}`,
    log: (ref) => `${base}/log/${encodeURIComponent(ref)}`,
    commit: (sha) => `${base}/commit/${sha}`,
  };
}

interface Site {
  endpoint: Endpoint;
  pages: Pages;
}

interface Target {
  name: string;
  setup(bareRepo: string): Promise<Site>;
  teardown(): Promise<void>;
}

function cgitTarget(name: string, cache: boolean): Target {
  let stop: (() => Promise<void>) | null = null;
  return {
    name,
    async setup(bareRepo) {
      const cgit = await startCgit(bareRepo, { cache, repoName: "repo" });
      stop = cgit.stop;
      const url = new URL(cgit.url);
      const prefix = url.pathname; // "/cgit"
      return {
        endpoint: { port: Number(url.port) },
        pages: {
          tree: (ref, path) => prefix + cgitPages.tree("repo", ref, path),
          blob: (ref, path) => prefix + cgitPages.blob("repo", ref, path),
          log: (ref) => prefix + cgitPages.log("repo", ref),
          commit: (sha) => prefix + cgitPages.commit("repo", sha),
        },
      };
    },
    async teardown() {
      await stop?.();
    },
  };
}

/** The local forge's inspector port, when --heap asked for one. */
let inspectorPort: number | null = null;

function edgeforgeTarget(): Target {
  let stop: (() => Promise<void>) | null = null;
  return {
    name: "edgeforge",
    async setup(bareRepo) {
      inspectorPort = opts.heap ? await freePort() : null;
      const ef = await startEdgeforge(inspectorPort ? { FORGE_INSPECTOR_PORT: String(inspectorPort) } : {});
      stop = ef.stop;
      await importProject(ef, "repo", bareRepo);
      const site = { endpoint: { port: ef.port, host: `${HOST}:${ef.port}` }, pages: edgeforgePages("repo") };
      await derivedDataReady(site);
      return site;
    },
    async teardown() {
      await stop?.();
    },
  };
}

/**
 * Waits until the root tree page is final (not "no-store"): the last-commit data of the default
 * branch, computed once per commit when a repository is imported or pushed, is there. Pages are
 * measured in that steady state, not while the one-time walk of the whole history shares the
 * isolate's CPU; how long it took is printed.
 */
async function derivedDataReady(site: Site): Promise<void> {
  const probe = new LoadClient(site.endpoint, 1);
  const started = performance.now();
  try {
    for (;;) {
      const r = await probe.get(site.pages.tree(branch, ""));
      if (r.status === 200 && r.cacheControl !== "no-store") break;
      if (performance.now() - started > 600_000) throw new Error("the last-commit data was not ready after 10 minutes");
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    probe.close();
  }
  console.log(`   last-commit data of ${branch} ready ${((performance.now() - started) / 1000).toFixed(1)} s after the import`);
}

const { values: opts } = parseArgs({
  options: {
    repo: { type: "string" },
    samples: { type: "string", default: "30" },
    seconds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "4" },
    only: { type: "string", multiple: true },
    heap: { type: "boolean" },
  },
});
const samples = Number(opts.samples);
const seconds = Number(opts.seconds);
const concurrency = Number(opts.concurrency);
for (const [k, v] of Object.entries({ samples, seconds, concurrency })) {
  if (!(v > 0)) throw new Error(`--${k} must be a positive number`);
}

const targets = [cgitTarget("cgit", false), cgitTarget("cgit-cached", true), edgeforgeTarget()];
if (opts.only?.some((n) => !targets.some((t) => t.name === n)))
  throw new Error(`--only takes ${targets.map((t) => t.name).join(", ")}`);
const selected = opts.only?.length ? targets.filter((t) => opts.only!.includes(t.name)) : targets;

const work = tempDir("web");
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const source = join(work, "repo.git");
await mirror(opts.repo ?? EXPRESS_BUNDLE, source);
const info = await repoInfo(source);
console.log(
  `repository: ${opts.repo ?? "express.bundle"}: ${info.objects} objects, pack ${format(info.packBytes, "bytes")}, HEAD ${info.head}`,
);
// Read the pack once so the first server measured does not pay for the disk.
for (const f of readdirSync(join(source, "objects", "pack"))) readFileSync(join(source, "objects", "pack", f));

// ---- What to request: deterministic samples spread evenly over the repository.

/** n items spread evenly over a list (all of it when shorter). */
function spread<T>(items: T[], n: number, offset = 0): T[] {
  if (items.length <= n) return items;
  return Array.from({ length: n }, (_, i) => items[Math.floor(((i + offset) * items.length) / n) % items.length]!);
}

const branch = info.head;
const lines = async (args: string[]) => (await git(["-C", source, ...args])).stdout.split("\n").filter(Boolean);
// -z: paths as they are (no C-style quoting of spaces and non-ASCII names).
const entriesZ = async (args: string[]) =>
  (await git(["-C", source, "ls-tree", "-z", ...args])).stdout.split("\0").filter(Boolean);
const dirs = (await entriesZ(["-r", "-d", "--name-only", branch])).sort();
// Blob pages of text-sized files: a 50 MB binary is not what a source browser is for.
const files = (await entriesZ(["-r", "-l", branch]))
  .map((l) => {
    const [meta, path] = l.split("\t");
    const [, type, , size] = meta!.split(/\s+/);
    return { path: path!, type, size: Number(size) };
  })
  .filter((f) => f.type === "blob" && f.size > 0 && f.size <= 256 * 1024)
  .sort((a, b) => (a.path < b.path ? -1 : 1));
const history = await lines(["rev-list", "--first-parent", branch]);
const everyCommit = await lines(["rev-list", branch]);
const tip = history[0]!;

// Warm URLs: the directory with the most entries, a median-sized file, the branch, its tip.
const entries = new Map<string, number>();
for (const p of [...dirs, ...files.map((f) => f.path)]) {
  const parent = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "";
  if (parent) entries.set(parent, (entries.get(parent) ?? 0) + 1);
}
const warmDir = [...entries].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? "";
const bySize = [...files].sort((a, b) => a.size - b.size);
const warmFile = bySize[Math.floor(bySize.length / 2)]?.path ?? "";

const plan: Record<Kind, { cold: (p: Pages) => string[]; warm: (p: Pages) => string; what: string }> = {
  tree: {
    cold: (p) => spread(dirs, samples).map((d) => p.tree(branch, d)),
    warm: (p) => p.tree(branch, warmDir),
    what: `directories on ${branch}; warm: ${warmDir}`,
  },
  blob: {
    cold: (p) => spread(files, samples).map((f) => p.blob(branch, f.path)),
    warm: (p) => p.blob(branch, warmFile),
    what: `files on ${branch}; warm: ${warmFile}`,
  },
  log: {
    cold: (p) => spread(history, samples).map((c) => p.log(c)),
    warm: (p) => p.log(branch),
    what: `first-parent commits; warm: ${branch}`,
  },
  commit: {
    cold: (p) => spread(everyCommit, samples, 0.5).map((c) => p.commit(c)),
    warm: (p) => p.commit(tip),
    what: `commits; warm: ${branch}'s tip`,
  },
};

// ---- Measure.

const ROWS: [string, Row["unit"], (s: { cold: Summary; warm: Summary }) => number][] = [
  ["cold p50", "ms", (s) => s.cold.p50],
  ["cold p99", "ms", (s) => s.cold.p99],
  ["cold req/s (1 at a time)", "rps", (s) => s.cold.rps],
  [`warm req/s (${concurrency} clients)`, "rps", (s) => s.warm.rps],
  ["warm p50", "ms", (s) => s.warm.p50],
  ["warm p99", "ms", (s) => s.warm.p99],
  ["page size (median)", "bytes", (s) => s.cold.bytes],
];
type Column = Record<Kind, Cell[]>;
const notes: string[] = [];

/** The edge isolate's used heap after a collection (a few live samples; their peak). */
async function printEdgeHeap(port: number, kind: Kind, pages: number): Promise<void> {
  const sampler = await sampleHeap(port, 100, false, true);
  await new Promise((r) => setTimeout(r, 500));
  const edge = (await sampler.stop())["core:user:edge"];
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (edge)
    console.log(
      `   ${kind}: edge isolate after ${pages} cold pages: ${mib(edge.used)} used heap (${mib(edge.withBuffers)} with array buffers), after GC`,
    );
}

async function benchTarget(target: Target): Promise<Column> {
  const na = (reason: string): Cell[] => ROWS.map(() => (reason ? "not available" : "-"));
  const col = {} as Column;
  console.log(`== ${target.name}`);
  let site: Site;
  try {
    site = await target.setup(source);
  } catch (err) {
    notes.push(`${target.name}: not available (${(err as Error).message})`);
    await target.teardown().catch(() => undefined);
    for (const k of KINDS) col[k] = na("setup");
    return col;
  }
  const client = new LoadClient(site.endpoint, concurrency);
  try {
    // One unmeasured request (the root tree; its status does not matter) so the first cold URL
    // does not also pay for the server's own start (first exec of the CGI, first isolate).
    await client.get(site.pages.tree(branch, ""));
    for (const kind of KINDS) {
      const cold = plan[kind].cold(site.pages);
      const coldSummary = await coldRun(client, cold);
      // A server that does not have this page yet answers the first URL with 404: skip the kind.
      if (!("p50" in coldSummary)) {
        notes.push(`${target.name}: ${kind}: not available (HTTP ${coldSummary.status} for ${cold[0]})`);
        col[kind] = na("http");
        continue;
      }
      if (target.name === "edgeforge" && inspectorPort) await printEdgeHeap(inspectorPort, kind, cold.length);
      const warmSummary = await warmRun(client, plan[kind].warm(site.pages), concurrency, seconds);
      for (const [what, s] of [
        ["cold", coldSummary],
        ["warm", warmSummary],
      ] as const) {
        if (s.errors)
          notes.push(`${target.name}: ${kind} ${what}: ${s.errors} of ${s.requests} requests failed (${s.firstError})`);
      }
      col[kind] = ROWS.map(([, , pick]) => pick({ cold: coldSummary, warm: warmSummary }));
      const r2 = coldSummary.r2Calls
        ? `, R2 requests per cold page p50 ${coldSummary.r2Calls.p50} max ${coldSummary.r2Calls.max}`
        : "";
      console.log(`   ${kind}: cold ${coldSummary.requests} URLs${r2}, warm ${warmSummary.requests} requests`);
    }
  } catch (err) {
    notes.push(`${target.name}: failed (${(err as Error).message})`);
    for (const k of KINDS) col[k] ??= na("failed");
  } finally {
    client.close();
    await target.teardown();
  }
  return col;
}

const columns: Column[] = [];
for (const target of selected) columns.push(await benchTarget(target));

const names = selected.map((t) => t.name);
const ef = names.indexOf("edgeforge");
const ratios: [number, number][] =
  ef < 0
    ? []
    : (["cgit", "cgit-cached"]
        .map((n) => names.indexOf(n))
        .filter((i) => i >= 0)
        .map((i) => [ef, i]) as [number, number][]);
for (const kind of KINDS) {
  const rows: Row[] = ROWS.map(([label, unit], i) => ({ label, unit, values: columns.map((c) => c[kind][i]!) }));
  printTable(`${kind} pages (cold: ${plan[kind].what})`, names, rows, ratios);
}
for (const n of notes) console.log(`  ${n}`);
