// `npm run deploy`: deploys the push worker (it defines the Repo Durable Object) and then the edge
// worker with wrangler. `--dry-run` bundles both and checks their configuration without an account.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { projectRoot } from "./local/build";
import { prebuild } from "./prebuild";

const dryRun = process.argv.includes("--dry-run");
prebuild(projectRoot);
const workers = [
  { config: "wrangler.push.toml", out: "push" },
  { config: "wrangler.toml", out: "edge" },
];

for (const { config, out } of workers) {
  const args = ["wrangler", "deploy", "-c", config];
  if (dryRun) args.push("--dry-run", "--outdir", join(projectRoot, ".forge", "deploy-dry-run", out));
  console.log(`> npx ${args.join(" ")}`);
  const result = spawnSync("npx", args, {
    cwd: projectRoot,
    stdio: "inherit",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
