// workerd runs with Cloudflare's per-isolate heap cap (128 MB) in the local runner, the benchmarks
// (they start the runner) and the test suite, so a change that needs more memory fails here; and
// with --single-threaded-gc, which keeps its one thread out of cppgc's sweep livelock.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../scripts/local/build";
import { V8_FLAGS_VARIABLE, workerdV8Flags } from "../../scripts/local/config";
import { treePids } from "../../bench/lib/rss";
import { startForge } from "../e2e/runner";

const CAP = "--max-old-space-size=128";
const DEFAULT = `${CAP} --single-threaded-gc`;

/** The environment a running process was started with. */
const environOf = (pid: number): Record<string, string> =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );

describe("isolate heap limit", () => {
  it("caps the heap by default, and an explicit setting replaces the cap", () => {
    expect(workerdV8Flags({})).toBe(DEFAULT);
    expect(workerdV8Flags({ [V8_FLAGS_VARIABLE]: "--max-old-space-size=100" })).toBe(
      "--max-old-space-size=100 --single-threaded-gc",
    );
    // Empty lifts the cap (e.g. to measure how much a change would need).
    expect(workerdV8Flags({ [V8_FLAGS_VARIABLE]: "" })).toBe("--single-threaded-gc");
  });

  it("keeps cppgc's sweep on the isolate's thread unless the setting names the flag", () => {
    // Without it workerd's one thread can spin for ever in V8's task queue (issue 19's livelock).
    const off = "--max-old-space-size=100 --no-single-threaded-gc";
    expect(workerdV8Flags({ [V8_FLAGS_VARIABLE]: off })).toBe(off);
    expect(workerdV8Flags({ [V8_FLAGS_VARIABLE]: "--single-threaded-gc" })).toBe("--single-threaded-gc");
    // Applying twice (vitest.config.ts, then the runner it starts) adds it once.
    expect(workerdV8Flags({ [V8_FLAGS_VARIABLE]: DEFAULT })).toBe(DEFAULT);
  });

  it("is read by the Miniflare of the runner and of the vitest pool when they build workerd's config", () => {
    // The variable is Miniflare's, not a documented option: an upgrade that renames it must fail here.
    for (const dir of ["node_modules/miniflare", "node_modules/@cloudflare/vitest-pool-workers/node_modules/miniflare"]) {
      const source = readFileSync(join(projectRoot, dir, "dist/src/index.js"), "utf8");
      expect(source, dir).toMatch(
        /v8Flags: process\.env\.MINIFLARE_WORKERD_V8_FLAGS \? process\.env\.MINIFLARE_WORKERD_V8_FLAGS\.split\(" "\)/,
      );
    }
  });

  it("is set in vitest's main process, where the workers pool starts workerd", () => {
    // Test files run in processes vitest forks from the main one after loading vitest.config.ts.
    expect(process.env[V8_FLAGS_VARIABLE]).toBe(workerdV8Flags({ [V8_FLAGS_VARIABLE]: process.env[V8_FLAGS_VARIABLE] }));
    expect(process.env[V8_FLAGS_VARIABLE]).toContain("--max-old-space-size=");
    expect(process.env[V8_FLAGS_VARIABLE]).toContain("--single-threaded-gc");
  });

  it("reaches the local runner's workerd when nothing sets it", async () => {
    // undefined leaves the variable out of the runner's environment (npm start without it).
    const forge = await startForge({ env: { [V8_FLAGS_VARIABLE]: undefined as unknown as string } });
    try {
      const workerds = treePids(forge.child.pid!, /workerd/);
      expect(workerds.length).toBeGreaterThan(0);
      // The forge answered (startForge waits for it): workerd accepted the flags, as it aborts
      // on one it does not know ("unrecognized V8 flag").
      for (const pid of workerds) expect(environOf(pid)[V8_FLAGS_VARIABLE]).toBe(DEFAULT);
    } finally {
      await forge.stop();
    }
  });
});
