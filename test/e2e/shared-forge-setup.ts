// Global setup of vitest's node project: one local forge for the e2e files that call
// sharedForge() (runner.ts), started when the first of them asks and stopped after the run, so
// the run pays for one forge start, not one per file. A run of test/node alone starts none.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startForge, type RunningForge, type SharedForgeInfo } from "./runner";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let starting: Promise<{ forge: RunningForge; info: SharedForgeInfo }> | undefined;
  const start = async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "edgeforge-e2e-shared-"));
    // Test files run in other processes: they read the runner's output (e.g. the mail links it
    // prints) from this file.
    const outputFile = join(stateDir, "runner-output.log");
    // Webhook receivers of the e2e tests listen on this machine, which the SSRF guard refuses
    // unless the allow-list names it (test/e2e/webhooks.test.ts).
    const forge = await startForge({ stateDir, outputFile, env: { FORGE_WEBHOOK_ALLOWLIST: "127.0.0.1" } });
    return { forge, info: { port: forge.port, stateDir, outputFile } };
  };
  // Files ask this endpoint for the forge; the first request starts it, the others wait for it.
  const control = createServer((_req, res) => {
    starting ??= start();
    starting.then(
      ({ info }) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(info));
      },
      (err: Error) => {
        res.statusCode = 500;
        res.end(err.message);
      },
    );
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
  project.provide("sharedForgeControl", `http://127.0.0.1:${(control.address() as AddressInfo).port}/`);
  return async () => {
    control.close();
    const started = await starting?.catch(() => undefined);
    await started?.forge.stop();
    if (started) rmSync(started.info.stateDir, { recursive: true, force: true });
  };
}
