// The e2e runner's wait for a starting forge (test/e2e/runner.ts startForge) follows the
// start-up's steps: each may take the limit, so a slow start on a loaded machine gets through,
// and a step that never ends is named in the error. The forge here is a stand-in start script
// that prints the steps when the test lets it, and the runner's timers are fake: no timing.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { startForge } from "../e2e/runner";

const root = join(import.meta.dirname, "..", "..");
let fake: string;

// Prints a step, waits for the file named after it, and so on; then "ready" as scripts/start.ts does.
const script = `
import { existsSync } from "node:fs";
const until = (file) => new Promise((resolve) => { const t = setInterval(() => existsSync(file) && (clearInterval(t), resolve()), 10); });
for (const step of ["one", "two"]) {
  console.log("starting: " + step);
  await until(new URL("../go-" + step, import.meta.url));
}
console.log("ready on port " + process.env.PORT);
setInterval(() => undefined, 1000);
process.on("SIGINT", () => process.exit(0));
`;

beforeEach(() => {
  // Under the checkout, so that the child's `--import tsx` finds the checkout's node_modules.
  mkdirSync(join(root, ".forge"), { recursive: true });
  fake = mkdtempSync(join(root, ".forge", "start-wait-"));
  mkdirSync(join(fake, "scripts"));
  writeFileSync(join(fake, "scripts", "start.ts"), script);
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
});

afterEach(() => {
  vi.useRealTimers();
  rmSync(fake, { recursive: true, force: true });
});

/** Waits (without timers) until the stand-in has printed `text`. */
async function printed(output: string, text: string): Promise<void> {
  while (!(existsSync(output) && readFileSync(output, "utf8").includes(text))) await new Promise((r) => setImmediate(r));
}

it("waits as long as the steps keep coming, each within the limit", async () => {
  const output = join(fake, "output.log");
  const started = startForge({ root: fake, stateDir: fake, outputFile: output, startTimeoutMs: 1000 });
  await printed(output, "starting: one");
  vi.advanceTimersByTime(900);
  writeFileSync(join(fake, "go-one"), "");
  await printed(output, "starting: two");
  // 1.8 s since the start: past the limit in all, within it for each step.
  vi.advanceTimersByTime(900);
  writeFileSync(join(fake, "go-two"), "");
  const forge = await started;
  expect(forge.output).toContain("ready on port");
  const exited = new Promise((resolve) => forge.child.once("exit", resolve));
  forge.child.kill("SIGINT");
  await exited;
});

it("names the step that did not end within the limit", async () => {
  const output = join(fake, "output.log");
  const started = startForge({ root: fake, stateDir: fake, outputFile: output, startTimeoutMs: 1000 });
  const failed = expect(started).rejects.toThrow(/stuck for 1 s at: one\./);
  await printed(output, "starting: one");
  vi.advanceTimersByTime(1001);
  await failed;
});
