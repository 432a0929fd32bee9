// `npm run bench:import-large -- [--repo <bare dir>] [--only import|push] [--trace] [--live]`
//
// Imports a large repository (default: the one `npm run bench:gen-large` writes) into the local
// forge with `forge repos import`, then `git push --mirror`s it into another empty project, and
// prints each one's wall time and the peak used V8 heap of each worker's isolate, sampled through
// workerd's inspector. workerd runs with the local runner's isolate heap cap (128 MB unless
// MINIFLARE_WORKERD_V8_FLAGS says otherwise), so an operation that needs more fails here.
// --trace prints the heaps once a second; --live collects garbage before each sample (what is
// really held, at the cost of speed).
import { parseArgs } from "node:util";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { freePort, root } from "../test/e2e/runner";
import { HOST, startEdgeforge, TENANT } from "./lib/edgeforge";
import { sampleHeap } from "./lib/heap";
import { basicAuthArgs } from "./lib/repo";
import { firstLine, run } from "./lib/run";

const { values: opts } = parseArgs({
  options: {
    repo: { type: "string", default: join(root, ".forge", "bench", "large-320mb.git") },
    only: { type: "string", multiple: true },
    trace: { type: "boolean" },
    live: { type: "boolean" },
  },
});
const repo = resolve(opts.repo!);
if (!existsSync(repo)) throw new Error(`${repo} does not exist: run npm run bench:gen-large first, or pass --repo`);
const wanted = (step: string) => !opts.only?.length || opts.only.includes(step);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

const inspectorPort = await freePort();
const ef = await startEdgeforge({ FORGE_INSPECTOR_PORT: String(inspectorPort) });
const rows: string[] = [];
/** Runs one step while sampling the isolates' heaps. */
async function measure(name: string, step: () => Promise<string | null>): Promise<void> {
  const sampler = await sampleHeap(inspectorPort, opts.live ? 250 : 100, opts.trace, opts.live);
  const start = performance.now();
  const error = await step();
  const seconds = (performance.now() - start) / 1000;
  const peaks = await sampler.stop();
  const heaps = Object.entries(peaks)
    .map(([title, peak]) => `${title.replace(/^core:user:/, "")} ${mib(peak.used)} (${mib(peak.withBuffers)} with array buffers)`)
    .join(", ");
  rows.push(`${name}: ${error ? `FAILED (${error})` : "ok"} in ${seconds.toFixed(1)} s; peak used heap: ${heaps}`);
  console.log(rows[rows.length - 1]);
}
try {
  console.log(`heap cap: ${process.env.MINIFLARE_WORKERD_V8_FLAGS ?? "(runner default)"}; repository ${repo}`);
  if (wanted("import")) {
    await ef.cli("projects", "create", TENANT, "big");
    await measure("forge repos import", async () => {
      const r = await ef.forge.cli("repos", "import", TENANT, "big", repo);
      return r.code === 0 ? null : firstLine(r.stderr || r.stdout);
    });
  }
  if (wanted("push")) {
    await ef.cli("projects", "create", TENANT, "mirror");
    await measure("git push --mirror", async () => {
      const auth = basicAuthArgs({ username: "bench", password: ef.token });
      const r = await run("git", [...auth, "-C", repo, "push", "--quiet", "--mirror", `http://${HOST}:${ef.port}/mirror.git`]);
      return r.code === 0
        ? null
        : firstLine(
            r.stderr
              .split("\n")
              .filter((l) => /fatal|error/.test(l))
              .join("\n") || r.stderr,
          );
    });
  }
} finally {
  await ef.stop();
}
console.log(`\n${rows.join("\n")}`);
