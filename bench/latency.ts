// `npm run bench:latency`: what a visitor far from the storage region waits for, per page kind.
//
//   npm run bench:latency -- [--wan 0,80] [--samples N] [--root <checkout>] [--label <name>] [--json <file>]
//
// For each injected distance (FORGE_WAN_MS: every KV, D1, R2, Durable Object and queue call of the
// workers answers that many ms late; src/obs/wan.ts) a local forge is seeded (a project with a
// small repository, two issues, a registered user), restarted (empty isolate caches), then each
// page kind is requested: once "cold" (its first request since the restart; caches that other
// kinds share, such as the host's tenant record, may be warm by then), then N times "warm"
// (median). Each request records the page time seen by the client and the sequential regional
// round trips the edge's meter counted (Server-Timing `rt`; "-" when the forge has no such count).
// --root runs another checkout's forge (the same commands), to compare a commit with another.
import { parseArgs } from "node:util";
import { request } from "node:http";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { root as ownRoot, startForge, type RunningForge } from "../test/e2e/runner";
import { median } from "./lib/report";
import { firstLine, git, tempDir } from "./lib/run";

const { values: args } = parseArgs({
  options: {
    wan: { type: "string", default: "0,80" },
    samples: { type: "string", default: "5" },
    root: { type: "string" },
    label: { type: "string" },
    json: { type: "string" },
  },
});
const WANS = args.wan!.split(",").map(Number);
const SAMPLES = Number(args.samples);
const ROOT = args.root ?? ownRoot;
const TENANT = "lat";
const HOST = "lat.localhost";

interface Answer {
  status: number;
  ms: number;
  rt: number | null;
  location?: string;
  cookie?: string;
}

/** One request to the forge on the tenant's host (Node does not resolve *.localhost: Host header). */
function get(port: number, path: string, headers: Record<string, string> = {}, method = "GET", body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request({ host: "127.0.0.1", port, path, method, headers: { host: HOST, ...headers }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => {
        const m = /(?:^|, )rt;desc="(\d+) sequential/.exec(String(res.headers["server-timing"] ?? ""));
        const set = res.headers["set-cookie"]?.find((c) => c.startsWith("ef_session="));
        resolve({
          status: res.statusCode ?? 0,
          ms: performance.now() - started,
          rt: m ? Number(m[1]) : null,
          location: res.headers.location,
          cookie: set?.split(";")[0],
        });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A small repository: a README, a few files in folders, three commits. */
async function makeRepo(): Promise<{ dir: string; tip: string }> {
  const dir = tempDir("latency-repo");
  await git(["init", "--quiet", "-b", "main", dir]);
  const write = (path: string, text: string) => writeFileSync(join(dir, path), text);
  const { mkdirSync } = await import("node:fs");
  mkdirSync(join(dir, "src", "lib"), { recursive: true });
  for (let i = 1; i <= 3; i++) {
    write("README.md", `# Latency demo\n\nRevision ${i}.\n`);
    write("src/main.js", `// main\nexport const n = ${i};\n`);
    write(`src/lib/part${i}.js`, `export const part = ${i};\n`);
    await git(["-C", dir, "add", "-A"]);
    await git(["-C", dir, "commit", "--quiet", "-m", `Commit number ${i}`]);
  }
  const tip = (await git(["-C", dir, "rev-parse", "HEAD"])).stdout.trim();
  const bare = `${dir}.git`;
  await git(["clone", "--quiet", "--bare", dir, bare]);
  rmSync(dir, { recursive: true, force: true });
  return { dir: bare, tip };
}

async function cli(forge: RunningForge, ...a: string[]): Promise<string> {
  const r = await forge.cli(...a);
  if (r.code !== 0) throw new Error(`forge ${a.slice(0, 2).join(" ")}: ${firstLine(r.stderr || r.stdout)}`);
  return r.stdout;
}

/** Tenant, project, repository, issues and a signed-in user; returns the owner's token and the user's cookie. */
async function seed(forge: RunningForge, repo: string): Promise<{ token: string; cookie: string }> {
  const created = JSON.parse(
    await cli(forge, "tenants", "create", TENANT, "--host", HOST, "--owner", "owner", "--owner-email", "o@example.com", "--json"),
  ) as { owner: { token: string } };
  const token = created.owner.token;
  await cli(forge, "projects", "create", TENANT, "demo");
  await cli(forge, "repos", "import", TENANT, "demo", repo);
  for (const title of ["Pages are slow from far away", "Second issue"]) {
    const body = JSON.stringify({ title, body: "Measured with bench:latency." });
    const res = await get(
      forge.port,
      "/api/v1/projects/demo/issues",
      { authorization: `token ${token}`, "content-type": "application/json" },
      "POST",
      body,
    );
    if (res.status !== 201) throw new Error(`file issue: ${res.status}`);
  }
  const form = new URLSearchParams({ username: "reader", email: "reader@example.com", password: "reader-password-1" }).toString();
  const reg = await get(
    forge.port,
    "/account/register",
    {
      "content-type": "application/x-www-form-urlencoded",
      origin: `http://${HOST}`,
      "sec-fetch-site": "same-origin",
    },
    "POST",
    form,
  );
  if (reg.status !== 303 || !reg.cookie) throw new Error(`register: ${reg.status}`);
  return { token, cookie: reg.cookie };
}

interface Kind {
  name: string;
  path: string;
  /** "cookie": a signed-in browser; "token": an API token. */
  as?: "cookie" | "token";
}

function kinds(tip: string): Kind[] {
  const base: Kind[] = [
    { name: "forge home", path: "/" },
    { name: "project home", path: "/p/demo/" },
    { name: "tree", path: "/p/demo/source/tree/main/src" },
    { name: "blob", path: "/p/demo/source/blob/main/src/main.js" },
    { name: "log", path: "/p/demo/source/log/main" },
    { name: "commit", path: `/p/demo/source/commit/${tip}` },
    { name: "tree by id", path: `/p/demo/source/tree/${tip}/src` },
    { name: "issue list", path: "/p/demo/issues/" },
    { name: "issue page", path: "/p/demo/issues/1" },
    { name: "search", path: "/p/demo/issues/search?q=slow" },
    { name: "API list", path: "/api/v1/projects/demo/issues" },
  ];
  const signedIn = base.map(
    (k): Kind => ({ ...k, name: `${k.name} (signed in)`, as: k.name === "API list" ? "token" : "cookie" }),
  );
  return [...base, ...signedIn];
}

interface Result {
  kind: string;
  wan: number;
  coldMs: number;
  coldRt: number | null;
  warmMs: number;
  /** Median of the warm requests' round trips, and the most (a 5 s cache that expired mid-run shows here). */
  warmRt: number | null;
  warmRtMax: number | null;
}

async function measure(wan: number, repo: { dir: string; tip: string }): Promise<Result[]> {
  const env = { FORGE_WAN_MS: String(wan), WRANGLER_SEND_METRICS: "false" };
  const stateDir = tempDir("latency-state");
  let forge = await startForge({ env, root: ROOT, stateDir });
  let seeded: { token: string; cookie: string };
  try {
    seeded = await seed(forge, repo.dir);
  } finally {
    await forge.stop();
  }
  // A fresh process: every isolate cache empty, the state (databases, R2, refs) kept.
  forge = await startForge({ env, root: ROOT, stateDir, port: forge.port });
  const out: Result[] = [];
  try {
    for (const k of kinds(repo.tip)) {
      const headers: Record<string, string> =
        k.as === "cookie" ? { cookie: seeded.cookie } : k.as === "token" ? { authorization: `token ${seeded.token}` } : {};
      const cold = await get(forge.port, k.path, headers);
      if (cold.status !== 200) throw new Error(`${k.name}: ${k.path} answered ${cold.status}`);
      const warm: Answer[] = [];
      for (let i = 0; i < SAMPLES; i++) warm.push(await get(forge.port, k.path, headers));
      const rts = warm.map((w) => w.rt).filter((r): r is number => r !== null);
      out.push({
        kind: k.name,
        wan,
        coldMs: cold.ms,
        coldRt: cold.rt,
        warmMs: median(warm.map((w) => w.ms)),
        warmRt: rts.length ? median(rts) : null,
        warmRtMax: rts.length ? Math.max(...rts) : null,
      });
      process.stderr.write(".");
    }
  } finally {
    await forge.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
  process.stderr.write("\n");
  return out;
}

const repo = await makeRepo();
const results: Result[] = [];
try {
  for (const wan of WANS) results.push(...(await measure(wan, repo)));
} finally {
  rmSync(repo.dir, { recursive: true, force: true });
}

const label = args.label ?? ROOT;
const rt = (n: number | null) => (n === null ? "-" : String(n));
const ms = (n: number) => n.toFixed(0);
const lines = [
  `bench:latency ${label}: cold = first request after a restart, warm = median of ${SAMPLES} (round trips: median, and the most in brackets when it differs)`,
  "",
  `| page | ${WANS.map((w) => `${w} ms: rt cold / warm | ${w} ms: cold / warm ms`).join(" | ")} |`,
  `|---|${WANS.map(() => "---|---").join("|")}|`,
];
for (const kind of [...new Set(results.map((r) => r.kind))]) {
  const cells = WANS.map((w) => {
    const r = results.find((x) => x.kind === kind && x.wan === w)!;
    const most = r.warmRtMax !== r.warmRt ? ` (${rt(r.warmRtMax)})` : "";
    return `${rt(r.coldRt)} / ${rt(r.warmRt)}${most} | ${ms(r.coldMs)} / ${ms(r.warmMs)}`;
  });
  lines.push(`| ${kind} | ${cells.join(" | ")} |`);
}
console.log(lines.join("\n"));
if (args.json) writeFileSync(args.json, JSON.stringify({ label, samples: SAMPLES, results }, null, 2));
