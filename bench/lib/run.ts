// Running git and friends from the benchmarks: one place that fixes the environment (no user or
// system git config, no prompts, fixed identities) so every server is driven by the same client.
import { spawn, type SpawnOptions } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds. */
  ms: number;
}

/** An empty HOME so ~/.gitconfig (credential helpers, url rewrites, protocol.version) cannot skew a run. */
const cleanHome = mkdtempSync(join(tmpdir(), "edgeforge-bench-home-"));
process.on("exit", () => rmSync(cleanHome, { recursive: true, force: true }));

export const gitEnv: NodeJS.ProcessEnv = {
  ...process.env,
  HOME: cleanHome,
  XDG_CONFIG_HOME: cleanHome,
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_TERMINAL_PROMPT: "0",
  GIT_AUTHOR_NAME: "Bench",
  GIT_AUTHOR_EMAIL: "bench@example.com",
  GIT_COMMITTER_NAME: "Bench",
  GIT_COMMITTER_EMAIL: "bench@example.com",
  // Proxies from the environment would sit between git and the server under test.
  http_proxy: "",
  https_proxy: "",
  HTTP_PROXY: "",
  HTTPS_PROXY: "",
  no_proxy: "*",
};

/** Runs a command to completion, collecting output; never throws on a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  opts: SpawnOptions & { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { env: gitEnv, ...opts, stdio: ["pipe", "pipe", "pipe"] });
    let timedOut = false;
    // A server under construction may hang a clone; give up on it rather than on the whole run.
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, opts.timeoutMs)
      : null;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (c: Buffer) => out.push(c));
    child.stderr!.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: timedOut ? `fatal: timed out after ${opts.timeoutMs} ms\n` : Buffer.concat(err).toString("utf8"),
        ms: performance.now() - start,
      });
    });
    child.stdin!.end(opts.input);
  });
}

/** Like run() but throws with git's own message when the command fails. */
async function mustRun(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    // Credentials travel as -c http.extraHeader=...: keep them out of error messages.
    const shown = args.map((a) => (/^http\.extraHeader=/i.test(a) ? "http.extraHeader=<redacted>" : a));
    throw new Error(`${cmd} ${shown.join(" ")} failed (${r.code}): ${firstLine(r.stderr || r.stdout)}`);
  }
  return r;
}

export const git = (args: string[], opts: Parameters<typeof run>[2] = {}) => mustRun("git", args, opts);

/** The most useful line of an error output (git prints "fatal:"/"error:" last). */
export function firstLine(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /^(fatal|error):/.test(l)) ?? lines[0] ?? "(no output)";
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `edgeforge-bench-${prefix}-`));
}

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const { connect } = await import("node:net");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
