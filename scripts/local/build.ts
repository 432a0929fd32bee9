// Bundles the two workers for workerd with esbuild (what wrangler does on deploy).
import { build } from "esbuild";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { prebuild } from "../prebuild";

export const projectRoot = join(fileURLToPath(import.meta.url), "..", "..", "..");

export const workerEntries = {
  edge: join(projectRoot, "src/edge/index.ts"),
  push: join(projectRoot, "src/push/index.ts"),
} as const;

export type WorkerName = keyof typeof workerEntries;

/** Writes <outDir>/edge.js and <outDir>/push.js and returns their paths. */
export async function buildWorkers(outDir: string): Promise<Record<WorkerName, string>> {
  prebuild(projectRoot);
  const out = {} as Record<WorkerName, string>;
  for (const [name, entry] of Object.entries(workerEntries) as [WorkerName, string][]) {
    const outfile = join(outDir, `${name}.js`);
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      conditions: ["workerd", "worker", "browser"],
      mainFields: ["module", "main"],
      external: ["node:*", "cloudflare:*"],
      // A map file beside the script, named by its last line: Miniflare reads it to map the stack
      // of an error that reaches it. Inline (as before), the map was 8.3 MB of the edge's 11.1 MB
      // script, and workerd's isolate held the whole script text as a V8 string, two bytes a
      // character (it has characters beyond Latin-1: "→" in views), plus the map's data URL
      // again: 29.1 of the edge's 36.3 MiB of live heap at rest, none of it there in production
      // (wrangler uploads no map here), all of it counted against the local 100/128 MB cap.
      sourcemap: "linked",
      logLevel: "error",
      jsx: "automatic",
      jsxImportSource: "hono/jsx",
      // As wrangler.toml's rules: stylesheets are imported as their text.
      loader: { ".css": "text" },
    });
    out[name] = outfile;
  }
  return out;
}
