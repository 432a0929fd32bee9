// Two test projects: "workers" runs in workerd with real bindings and migrations
// (vitest-pool-workers); "node" runs in Node: configuration checks, and end-to-end tests against
// the local runner with the real forge CLI, git and Chromium.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { join } from "node:path";
import { buildWorkers, projectRoot } from "./scripts/local/build";
import { applyIsolateHeapLimit, COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from "./scripts/local/config";
import { PROBE_MIGRATIONS } from "./test/e2e/fleet-probe";

// The pool's workerd and the e2e forges (child processes inherit it) get the 128 MB isolate heap
// cap, unless MINIFLARE_WORKERD_V8_FLAGS is set: a test that needs more memory fails here. Both
// also get --single-threaded-gc, against workerd's sweep livelock (scripts/local/config.ts).
applyIsolateHeapLimit();

// The push worker runs beside the edge worker under test, bundled as in production.
const scripts = await buildWorkers(join(projectRoot, ".forge", "test-build"));

export default defineConfig({
  test: {
    // Each request's structured log line is for operators, not for test output.
    onConsoleLog: (log) => !log.startsWith('{"t":') && !log.startsWith('{"level":"mail"'),
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              compatibilityDate: COMPATIBILITY_DATE,
              compatibilityFlags: COMPATIBILITY_FLAGS,
              bindings: {
                PLATFORM_HOST: "admin.test",
                FORGE_ADMIN_TOKEN: "test-admin-token",
                FORGE_SESSION_SECRET: "test-session-secret",
                FORGE_SESSION_SECRET_PREVIOUS: "test-session-secret-before-rotation",
                // Last-commit walks bounded by steps, and pages that wait for each run to end: whether
                // a tree page is partial depends on the history, not on how busy the machine is.
                LAST_COMMITS_WAIT_MS: "600000",
                LAST_COMMITS_STEPS: "1000",
                LAST_COMMITS_RUN_MS: "600000",
                // One harmless migration after the bundle, which test/worker/fleet-migrations.test.ts
                // takes back from some tenants to have something for `forge migrate` to do.
                EXTRA_TENANT_MIGRATIONS: PROBE_MIGRATIONS,
                // Webhook tests' receivers: host names no DNS answers, so a real delivery attempt
                // never leaves the machine (test/worker/webhooks*.test.ts inject the receiver).
                WEBHOOK_ALLOWLIST: "receiver.test",
              },
              workers: [
                {
                  name: "edgeforge-push",
                  modules: true,
                  scriptPath: scripts.push,
                  compatibilityDate: COMPATIBILITY_DATE,
                  compatibilityFlags: COMPATIBILITY_FLAGS,
                  kvNamespaces: { DIRECTORY: "00000000000000000000000000000000" },
                  d1Databases: { CONTROL: "00000000-0000-0000-0000-000000000000" },
                  r2Buckets: { OBJECTS: "edgeforge-objects" },
                  durableObjects: { REPO: { className: "RepoObject", useSQLite: true } },
                  queueProducers: { POST_PUSH: "edgeforge-post-push" },
                  // The smallest link budget: every push or import of more than 78 links spills them
                  // to R2 and merges them back, so the tests run the path large packs take.
                  // Runs of the last-commit walk end on their steps (sent by the edge), not the clock.
                  bindings: { LINK_SPILL_BUDGET: "4096", LAST_COMMITS_RUN_MS: "600000" },
                },
              ],
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/worker/**/*.test.ts", "src/**/*.test.ts"],
          testTimeout: 30_000,
          // Set-up hooks create tenants (a database and its migrations each): vitest's default 10 s
          // failed imports.test.ts's beforeAll on a loaded machine, on the old code as on the new.
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts", "test/e2e/**/*.test.ts"],
          // One local forge for the e2e files that share it (test/e2e/runner.ts sharedForge()).
          globalSetup: ["test/e2e/shared-forge-setup.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
