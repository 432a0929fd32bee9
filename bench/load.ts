// `npm run bench:load`: mixed load on the local forge (clones, page views, issue filing and one
// large import upload at once) for a bounded time; per kind: count, errors by cause, p50/p99.
import { parseArgs } from "node:util";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import { join, resolve } from "node:path";
import { EXPRESS_BUNDLE } from "../test/e2e/git";
import { root } from "../test/e2e/runner";
import { HOST, TENANT, importProject, startEdgeforge, type Edgeforge } from "./lib/edgeforge";
import { LoadClient } from "./lib/load";
import { format, percentile } from "./lib/report";
import { firstLine, git, run, tempDir } from "./lib/run";

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "45" },
    repo: { type: "string" },
    "with-import": { type: "boolean" },
    "no-import": { type: "boolean" },
    "import-mb": { type: "string", default: "200" },
    clones: { type: "string", default: "4" },
    pages: { type: "string", default: "8" },
    issues: { type: "string", default: "4" },
  },
});
const seconds = Number(opts.seconds);
const importMb = Number(opts["import-mb"]);
const clients = { clone: Number(opts.clones), page: Number(opts.pages), issue: Number(opts.issues) };
for (const [k, v] of Object.entries({ seconds, "import-mb": importMb, ...clients })) {
  if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`--${k} must be a number >= 0`);
}
if (!(seconds > 0)) throw new Error("--seconds must be positive");
const repo = resolve(opts.repo ?? EXPRESS_BUNDLE);
if (!existsSync(repo)) throw new Error(`${repo} does not exist: give a bundle or bare repository with --repo`);
// A 200 MB upload plus its indexing takes about 20-30 s here; a shorter run would end mid-import.
const withImport = opts["no-import"] ? false : (opts["with-import"] ?? seconds >= 30);
/** Requests per client at most, whatever --seconds says: every loop is bounded in count as in time. */
const MAX_PER_CLIENT = 100_000;
/** Every git command and request gives up after this long, so a hung server cannot hang the run. */
const TIMEOUT_MS = 180_000;

type Kind = "clone" | "page" | "issue";
interface Sample {
  kind: Kind;
  /** Start, in ms since the load began. */
  at: number;
  ms: number;
  /** null: a success; otherwise what went wrong ("HTTP 502: local forge: ...", "git: fatal: ..."). */
  error: string | null;
}
const samples: Sample[] = [];

/** The large repository: generated once (bench/gen-large-repo.ts) and bundled, under .forge/bench. */
async function largeBundle(): Promise<string> {
  const dir = join(root, ".forge", "bench");
  const bare = join(dir, `load-${importMb}mb.git`);
  const bundle = join(dir, `load-${importMb}mb.bundle`);
  if (existsSync(bundle)) return bundle;
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(bare, "objects"))) {
    console.log(`generating a ${importMb} MB repository for the import (once, kept in ${bare})...`);
    // Few commits: the size is in binaries, and a short history keeps the generation quick.
    const gen = await run(
      process.execPath,
      [
        "--import",
        "tsx",
        "bench/gen-large-repo.ts",
        "--size-mb",
        String(importMb),
        "--commits",
        String(importMb * 10),
        "--out",
        bare,
        "--force",
      ],
      { cwd: root },
    );
    if (gen.code !== 0) throw new Error(`bench:gen-large failed: ${firstLine(gen.stderr)}`);
  }
  await git(["-C", bare, "bundle", "create", `${bundle}.tmp`, "--branches", "--tags"]);
  renameSync(`${bundle}.tmp`, bundle);
  return bundle;
}

/** Paths and commits of the default branch, for page URLs that all exist. */
async function siteMap(bundle: string) {
  const dir = join(tempDir("load-map"), "repo.git");
  await git(["clone", "--quiet", "--mirror", bundle, dir]);
  const branch = (await git(["-C", dir, "symbolic-ref", "--short", "HEAD"])).stdout.trim();
  const files = (await git(["-C", dir, "ls-tree", "-r", "--name-only", branch])).stdout.trim().split("\n");
  const commits = (await git(["-C", dir, "rev-list", "--max-count=200", branch])).stdout.trim().split("\n");
  rmSync(dir, { recursive: true, force: true });
  const dirs = [...new Set(files.map((f) => f.split("/").slice(0, -1).join("/")).filter(Boolean))];
  return { branch, files, dirs, commits };
}

const enc = (path: string) => path.split("/").map(encodeURIComponent).join("/");
const spread = <T>(xs: T[], n: number): T[] =>
  Array.from({ length: Math.min(n, xs.length) }, (_, i) => xs[Math.floor((i * xs.length) / Math.min(n, xs.length))]!);

function pageUrls(project: string, map: Awaited<ReturnType<typeof siteMap>>): string[] {
  const base = `/p/${project}`;
  const b = encodeURIComponent(map.branch);
  return [
    "/",
    `${base}/`,
    `${base}/issues/`,
    `${base}/source/tree/${b}/`,
    `${base}/source/log/${b}`,
    ...spread(map.dirs, 10).map((d) => `${base}/source/tree/${b}/${enc(d)}`),
    ...spread(map.files, 20).map((f) => `${base}/source/blob/${b}/${enc(f)}`),
    ...spread(map.commits, 20).map((c) => `${base}/source/commit/${c}`),
  ];
}

/** Files one issue through the API on a keep-alive connection; resolves with the error, if any. */
function fileIssue(agent: http.Agent, ef: Edgeforge, project: string, n: number): Promise<string | null> {
  const body = JSON.stringify({ title: `Load test issue ${n}`, body: `Filed by bench/load.ts (#${n}).` });
  return new Promise((done) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: ef.port,
        method: "POST",
        path: `/api/v1/projects/${project}/issues`,
        agent,
        timeout: TIMEOUT_MS,
        headers: {
          host: `${HOST}:${ef.port}`,
          authorization: `Bearer ${ef.token}`,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
        },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => done(res.statusCode === 201 ? null : `HTTP ${res.statusCode}: ${firstLine(text).slice(0, 120)}`));
        res.on("error", (err) => done(`client: ${err.message}`));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer after ${TIMEOUT_MS} ms`)));
    req.on("error", (err) => done(`client: ${err.message}`));
    req.end(body);
  });
}

interface ImportWindow {
  start: number;
  uploaded: number | null;
  end: number | null;
  error: string | null;
  bytes: number;
}

/** `forge repos import` of the large bundle, with the time its upload ended (the CLI's progress line). */
function runImport(ef: Edgeforge, bundle: string, project: string, t0: number): Promise<ImportWindow> {
  const w: ImportWindow = { start: performance.now() - t0, uploaded: null, end: null, error: null, bytes: statSync(bundle).size };
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(root, "bin", "forge.js"), "repos", "import", TENANT, project, bundle], {
      cwd: root,
      env: {
        ...process.env,
        FORGE_URL: ef.forge.url("admin.localhost", ""),
        FORGE_STATE: ef.forge.stateDir,
        FORGE_ADMIN_TOKEN: "",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    const onOutput = (c: Buffer) => {
      const text = c.toString();
      err += text;
      if (w.uploaded === null && text.includes("indexing and checking")) w.uploaded = performance.now() - t0;
    };
    child.stdout.on("data", onOutput);
    child.stderr.on("data", onOutput);
    const timer = setTimeout(() => child.kill("SIGKILL"), 10 * TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      w.end = performance.now() - t0;
      if (code !== 0) w.error = firstLine(err);
      done(w);
    });
  });
}

const ef = await startEdgeforge();
try {
  console.log(`local forge on 127.0.0.1:${ef.port}; importing ${repo} as project "express"...`);
  await importProject(ef, "express", repo);
  const map = await siteMap(repo);
  const urls = pageUrls("express", map);
  const bundle = withImport ? await largeBundle() : null;
  if (bundle) await ef.cli("projects", "create", TENANT, "large");

  // Steady state first: the one-time last-commit walk after an import would otherwise be timed.
  const probe = new LoadClient({ port: ef.port, host: `${HOST}:${ef.port}` }, 1);
  for (let i = 0; i < 120; i++) {
    const r = await probe.get(`/p/express/source/tree/${encodeURIComponent(map.branch)}/`);
    if (r.status === 200 && r.cacheControl !== "no-store") break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  probe.close();

  console.log(
    `load for ${seconds} s: ${clients.clone} cloning, ${clients.page} page-loading, ${clients.issue} issue-filing clients` +
      (bundle ? `, one import of ${format(statSync(bundle).size, "bytes")} from ${Math.min(5, seconds / 10)} s` : ""),
  );
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const now = () => performance.now() - t0;
  const record = async (kind: Kind, work: () => Promise<string | null>) => {
    const at = now();
    const error = await work();
    samples.push({ kind, at, ms: now() - at, error });
  };
  const cloneDirs = tempDir("load-clones");
  const pageClient = new LoadClient({ port: ef.port, host: `${HOST}:${ef.port}` }, clients.page);
  const issueAgent = new http.Agent({ keepAlive: true, maxSockets: clients.issue });
  let issueNo = 0;
  const loops: Promise<unknown>[] = [];
  for (let c = 0; c < clients.clone; c++) {
    loops.push(
      (async () => {
        for (let i = 0; i < MAX_PER_CLIENT && performance.now() < deadline; i++) {
          const dir = join(cloneDirs, `${c}-${i}`);
          await record("clone", async () => {
            const r = await run("git", ["clone", "--quiet", "--no-checkout", `http://${HOST}:${ef.port}/express.git`, dir], {
              timeoutMs: TIMEOUT_MS,
            });
            return r.code === 0 ? null : `git: ${firstLine(r.stderr)}`;
          });
          rmSync(dir, { recursive: true, force: true });
        }
      })(),
    );
  }
  for (let c = 0; c < clients.page; c++) {
    loops.push(
      (async () => {
        for (let n = 0, i = c; n < MAX_PER_CLIENT && performance.now() < deadline; n++, i += clients.page) {
          await record("page", async () => {
            try {
              const r = await pageClient.get(urls[i % urls.length]!);
              return r.status === 200 ? null : `HTTP ${r.status}`;
            } catch (err) {
              return `client: ${(err as Error).message}`;
            }
          });
        }
      })(),
    );
  }
  for (let c = 0; c < clients.issue; c++) {
    loops.push(
      (async () => {
        for (let n = 0; n < MAX_PER_CLIENT && performance.now() < deadline; n++) {
          await record("issue", () => fileIssue(issueAgent, ef, "express", ++issueNo));
        }
      })(),
    );
  }
  let imported: Promise<ImportWindow> | null = null;
  if (bundle) {
    await new Promise((r) => setTimeout(r, Math.min(5, seconds / 10) * 1000));
    imported = runImport(ef, bundle, "large", t0);
  }
  await Promise.all(loops);
  const importWindow = imported ? await imported : null;
  pageClient.close();
  issueAgent.destroy();
  rmSync(cloneDirs, { recursive: true, force: true });

  // ---- Report.
  const ms = (x: number) => format(x, "ms");
  const line = (label: string, xs: Sample[]) => {
    const ok = xs.map((s) => s.ms);
    return `${label.padEnd(26)} ${String(xs.length).padStart(6)} ${String(xs.filter((s) => s.error).length).padStart(7)} ${ms(percentile(ok, 50)).padStart(9)} ${ms(percentile(ok, 99)).padStart(9)}`;
  };
  console.log(`\n${"".padEnd(26)} ${"count".padStart(6)} ${"errors".padStart(7)} ${"p50".padStart(9)} ${"p99".padStart(9)}`);
  for (const kind of ["clone", "page", "issue"] as Kind[])
    console.log(
      line(
        kind,
        samples.filter((s) => s.kind === kind),
      ),
    );
  if (importWindow) {
    const w = importWindow;
    const upEnd = w.uploaded ?? w.end!;
    const pages = samples.filter((s) => s.kind === "page");
    // A page belongs to a phase if it started in it.
    console.log(
      line(
        "page, no import running",
        pages.filter((s) => s.at < w.start || s.at >= w.end!),
      ),
    );
    console.log(
      line(
        "page, during the upload",
        pages.filter((s) => s.at >= w.start && s.at < upEnd),
      ),
    );
    console.log(
      line(
        "page, during the indexing",
        pages.filter((s) => s.at >= upEnd && s.at < w.end!),
      ),
    );
    console.log(
      `\nimport of ${format(w.bytes, "bytes")}: ` +
        (w.error
          ? `failed: ${w.error}`
          : `upload ${ms(upEnd - w.start)}, indexing ${ms(w.end! - upEnd)}${w.end! > seconds * 1000 ? " (it outlasted the load)" : ""}`),
    );
  }
  const byCause = new Map<string, number>();
  for (const s of samples) if (s.error) byCause.set(`${s.kind}: ${s.error}`, (byCause.get(`${s.kind}: ${s.error}`) ?? 0) + 1);
  if (importWindow?.error) byCause.set(`import: ${importWindow.error}`, 1);
  console.log(byCause.size ? "\nerrors:" : "\nerrors: none");
  for (const [cause, n] of [...byCause].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(5)}  ${cause}`);
  process.exitCode = byCause.size ? 1 : 0;
} finally {
  await ef.stop();
}
