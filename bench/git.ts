// `npm run bench:git`: Edgeforge's git smart-HTTP server against C git's git-http-backend, same
// machine, same repository, same git client, same run. Prints one column per server and the
// ratio edgeforge / git-http-backend (above 1: Edgeforge is slower or bigger).
//
//   npm run bench:git -- [--repo <bare dir>] [--runs N] [--only <target>]... [--timeout <s>]
//
// Targets run one after the other (never at the same time: 2 cores), each on its own copy of the
// repository so the commits added for the incremental fetch do not leak from one to the other.
import { parseArgs } from "node:util";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { EXPRESS_BUNDLE } from "../test/e2e/git";
import { startByteProxy } from "./lib/byte-proxy";
import { startEdgeforge, importProject, HOST, type Edgeforge } from "./lib/edgeforge";
import { startGitHttpBackend, type GitHttpBackend } from "./lib/git-http-backend";
import { CommitMaker, basicAuthArgs, initEmptyBare, mirror, repoInfo } from "./lib/repo";
import { median, printTable, format, type Cell, type Row } from "./lib/report";
import { sampleRss, type RssReport } from "./lib/rss";
import { firstLine, git, gitEnv, run, tempDir } from "./lib/run";

interface Auth {
  username: string;
  password: string;
}

interface Endpoints {
  cloneUrl: string;
  /** Where the incremental-fetch benchmark pushes its new commit on master. */
  pushUrl: string;
  pushAuth?: Auth;
}

/** A server under test. setup() throws (with a reason) when the server cannot serve the repo. */
interface Target {
  name: string;
  setup(bareRepo: string): Promise<Endpoints>;
  /** A new empty repository for one full-push run; throws when pushing is not possible. */
  emptyRepo(run: number): Promise<{ url: string; auth?: Auth; cleanup?: () => void }>;
  /** The process tree to sample during clones (null: not measurable). */
  memoryRoot(): { pid: number; match?: RegExp } | null;
  teardown(): Promise<void>;
}

function gitHttpBackendTarget(): Target {
  let server: GitHttpBackend | null = null;
  let projectRoot = "";
  return {
    name: "git-http-backend",
    async setup(bareRepo) {
      projectRoot = tempDir("ghb-root");
      await mirror(bareRepo, join(projectRoot, "repo.git"));
      server = await startGitHttpBackend(projectRoot, "repo.git");
      if (server.wrapped) console.log("  (git-http-backend needed the GIT_PROTOCOL wrapper script for protocol v2)");
      return { cloneUrl: `${server.url}/repo.git`, pushUrl: `${server.url}/repo.git` };
    },
    async emptyRepo(i) {
      const dir = join(projectRoot, `push-${i}.git`);
      await initEmptyBare(dir);
      return { url: `${server!.url}/push-${i}.git`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    },
    // The whole tree under lighttpd: lighttpd, then per request git-http-backend -> upload-pack -> pack-objects.
    memoryRoot: () => (server ? { pid: server.pid } : null),
    async teardown() {
      await server?.stop();
      if (projectRoot) rmSync(projectRoot, { recursive: true, force: true });
    },
  };
}

function edgeforgeTarget(): Target {
  let ef: Edgeforge | null = null;
  const auth = () => ({ username: "bench", password: ef!.token });
  return {
    name: "edgeforge",
    async setup(bareRepo) {
      ef = await startEdgeforge();
      await importProject(ef, "repo", bareRepo);
      const url = `http://${HOST}:${ef.port}/repo.git`;
      return { cloneUrl: url, pushUrl: url, pushAuth: auth() };
    },
    async emptyRepo(i) {
      await ef!.cli("projects", "create", "bench", `push-${i}`);
      return { url: `http://${HOST}:${ef!.port}/push-${i}.git`, auth: auth() };
    },
    // Only workerd: the Node front of the local runner is not part of a deployment.
    memoryRoot: () => (ef ? { pid: ef.pid, match: /workerd/ } : null),
    async teardown() {
      await ef?.stop();
    },
  };
}

const { values: opts } = parseArgs({
  options: {
    repo: { type: "string" },
    runs: { type: "string", default: "5" },
    only: { type: "string", multiple: true },
    timeout: { type: "string", default: "600" },
  },
});
const runs = Number(opts.runs);
const timeoutMs = Number(opts.timeout) * 1000;
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive integer");

const targets = [gitHttpBackendTarget(), edgeforgeTarget()];
const selected = opts.only?.length ? targets.filter((t) => opts.only!.includes(t.name)) : targets;
if (opts.only?.some((n) => !targets.some((t) => t.name === n))) {
  throw new Error(`--only takes ${targets.map((t) => t.name).join(", ")}`);
}

const work = tempDir("git");
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

// The benchmark repository: a private mirror (of the bundle, or of --repo) that every target copies.
const source = join(work, "source.git");
console.log(`preparing ${opts.repo ?? "the express bundle"}...`);
await mirror(opts.repo ?? EXPRESS_BUNDLE, source);
const info = await repoInfo(source);
const headSha = (await git(["-C", source, "rev-parse", "HEAD"])).stdout.trim();
console.log(
  `repository: ${opts.repo ?? "express.bundle"}: ${info.objects} objects, pack ${format(info.packBytes, "bytes")}, ${info.refs} refs, HEAD ${info.head}`,
);

/** One column of results, keyed by row label. */
type Column = Map<string, Cell>;
const ROWS: [string, Row["unit"]][] = [
  ["protocol v2 negotiated", "count"],
  ["clone v2, first run (via proxy)", "ms"],
  [`clone v2, median of ${runs}`, "ms"],
  ["clone v0, once", "ms"],
  ["clone: bytes sent by server", "bytes"],
  ["clone: server RSS at start", "bytes"],
  ["clone: server RSS peak growth", "bytes"],
  ["clone: server RssAnon peak growth", "bytes"],
  [`incremental fetch, median of ${runs}`, "ms"],
  ["incremental fetch: bytes from server", "bytes"],
  [`push --mirror to empty, median of ${runs}`, "ms"],
];
const notes: string[] = [];

const cloneArgs = (version: number, url: string, dir: string) => [
  "-c",
  `protocol.version=${version}`,
  "clone",
  "--quiet",
  "--no-checkout",
  url,
  dir,
];

async function benchTarget(target: Target): Promise<Column> {
  const col: Column = new Map();
  const fail = (rows: string[], reason: string, what: string) => {
    for (const r of rows) col.set(r, "not available");
    notes.push(`${target.name}: ${what}: not available (${reason})`);
  };
  console.log(`\n== ${target.name}`);
  let ep: Endpoints;
  try {
    ep = await target.setup(source);
  } catch (err) {
    for (const [r] of ROWS) col.set(r, "not available");
    notes.push(`${target.name}: not available (${(err as Error).message})`);
    await target.teardown().catch(() => undefined);
    return col;
  }
  const dirs = tempDir(`clients-${target.name}`);
  const proxy = await startByteProxy(Number(new URL(ep.cloneUrl).port));
  const viaProxy = (url: string) => Object.assign(new URL(url), { port: String(proxy.port) }).toString();
  try {
    // Protocol check: a real v2 request (ls-remote) whose packet trace must show the server's "version 2".
    const probe = await run("git", ["-c", "protocol.version=2", "ls-remote", ep.cloneUrl, "HEAD"], {
      env: { ...gitEnv, GIT_TRACE_PACKET: "1" },
      timeoutMs,
    });
    col.set("protocol v2 negotiated", probe.code !== 0 ? `failed` : /git< version 2/.test(probe.stderr) ? "yes" : "no (v0)");
    if (probe.code !== 0) {
      fail(
        ROWS.map(([r]) => r),
        firstLine(probe.stderr),
        "clone",
      );
      return col;
    }

    // First clone, through the byte proxy: cold caches on the server side, bytes on the wire.
    // This clone is kept as the client of the incremental fetches.
    const memory = target.memoryRoot();
    const client = join(dirs, "client");
    const rssReports: RssReport[] = [];
    let sampler = memory ? sampleRss(memory.pid, { match: memory.match }) : null;
    proxy.reset();
    const first = await run("git", cloneArgs(2, viaProxy(ep.cloneUrl), client), { timeoutMs });
    if (sampler) rssReports.push(sampler.stop());
    if (first.code !== 0) {
      fail(
        ROWS.slice(1).map(([r]) => r),
        firstLine(first.stderr),
        "clone",
      );
      return col;
    }
    col.set("clone v2, first run (via proxy)", first.ms);
    col.set("clone: bytes sent by server", proxy.counts.fromServer);
    const cloned = (await git(["-C", client, "rev-parse", "HEAD"])).stdout.trim();
    if (cloned !== headSha) notes.push(`${target.name}: the clone's HEAD is ${cloned}, expected ${headSha}`);

    // Timed clones, straight to the server (the proxy costs CPU on a 2-core machine).
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const dir = join(dirs, `clone-${i}`);
      sampler = memory ? sampleRss(memory.pid, { match: memory.match }) : null;
      const r = await run("git", cloneArgs(2, ep.cloneUrl, dir), { timeoutMs });
      if (sampler) rssReports.push(sampler.stop());
      rmSync(dir, { recursive: true, force: true });
      if (r.code !== 0) throw new Error(`clone run ${i + 1}: ${firstLine(r.stderr)}`);
      times.push(r.ms);
    }
    col.set(`clone v2, median of ${runs}`, median(times));
    if (rssReports.length) {
      col.set("clone: server RSS at start", Math.min(...rssReports.map((r) => r.startBytes)));
      col.set("clone: server RSS peak growth", Math.max(...rssReports.map((r) => r.growthBytes)));
      col.set("clone: server RssAnon peak growth", Math.max(...rssReports.map((r) => r.anonGrowthBytes)));
    } else {
      for (const r of ["clone: server RSS at start", "clone: server RSS peak growth", "clone: server RssAnon peak growth"])
        col.set(r, "skipped");
    }
    const v0 = await run("git", cloneArgs(0, ep.cloneUrl, join(dirs, "clone-v0")), { timeoutMs });
    rmSync(join(dirs, "clone-v0"), { recursive: true, force: true });
    col.set("clone v0, once", v0.code === 0 ? v0.ms : "failed");
    if (v0.code !== 0) notes.push(`${target.name}: clone v0: ${firstLine(v0.stderr)}`);

    // Incremental fetch: a new commit on master is pushed (not timed), then the client fetches it.
    const maker = await CommitMaker.create(source);
    try {
      const fetchTimes: number[] = [];
      const fetchBytes: number[] = [];
      for (let i = 0; i < runs; i++) {
        await maker.commit();
        await maker.push(ep.pushUrl, basicAuthArgs(ep.pushAuth)).catch((err: Error) => {
          throw new Error(`push of the new commit: ${err.message}`);
        });
        proxy.reset();
        const r = await run("git", ["-c", "protocol.version=2", "-C", client, "fetch", "--quiet", "origin"], { timeoutMs });
        if (r.code !== 0) throw new Error(`fetch: ${firstLine(r.stderr)}`);
        fetchTimes.push(r.ms);
        fetchBytes.push(proxy.counts.fromServer);
      }
      const fetched = (await git(["-C", client, "rev-parse", `refs/remotes/origin/${maker.branch}`])).stdout.trim();
      const made = (await git(["-C", maker.dir, "rev-parse", maker.branch])).stdout.trim();
      if (fetched !== made)
        notes.push(`${target.name}: after the fetches origin/${maker.branch} is ${fetched}, expected ${made}`);
      col.set(`incremental fetch, median of ${runs}`, median(fetchTimes));
      col.set("incremental fetch: bytes from server", median(fetchBytes));
    } catch (err) {
      fail(
        [`incremental fetch, median of ${runs}`, "incremental fetch: bytes from server"],
        (err as Error).message,
        "incremental fetch",
      );
    } finally {
      maker.dispose();
    }

    // Full push of every ref into a fresh empty repository, from the local mirror.
    try {
      const pushTimes: number[] = [];
      for (let i = 0; i < runs; i++) {
        const dest = await target.emptyRepo(i);
        const r = await run("git", [...basicAuthArgs(dest.auth), "-C", source, "push", "--quiet", "--mirror", dest.url], {
          timeoutMs,
        });
        dest.cleanup?.();
        if (r.code !== 0) throw new Error(firstLine(r.stderr));
        pushTimes.push(r.ms);
      }
      col.set(`push --mirror to empty, median of ${runs}`, median(pushTimes));
    } catch (err) {
      fail([`push --mirror to empty, median of ${runs}`], (err as Error).message, "push");
    }
  } catch (err) {
    for (const [r] of ROWS) if (!col.has(r)) col.set(r, "failed");
    notes.push(`${target.name}: ${(err as Error).message}`);
  } finally {
    await proxy.close();
    rmSync(dirs, { recursive: true, force: true });
    await target.teardown();
  }
  return col;
}

const columns: Column[] = [];
for (const target of selected) columns.push(await benchTarget(target));

const rows: Row[] = ROWS.map(([label, unit]) => ({ label, unit, values: columns.map((c) => c.get(label) ?? "-") }));
const names = selected.map((t) => t.name);
const ratio: [number, number][] =
  names.includes("edgeforge") && names.includes("git-http-backend")
    ? [[names.indexOf("edgeforge"), names.indexOf("git-http-backend")]]
    : [];
printTable(`git smart HTTP (${opts.repo ?? "express.bundle"}, ${runs} runs)`, names, rows, ratio);
for (const n of notes) console.log(`  ${n}`);
