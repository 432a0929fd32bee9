// Starts the local forge (what `npm start` runs) in a child process for end-to-end tests.
//
// Two ways for a test file to get a forge:
// - `await sharedForge()`: the one forge of the whole run, started by the node project's global
//   setup (shared-forge-setup.ts) the first time a file asks, stopped after the last file. A file
//   that shares it works in its own tenant (`forge.createTenant("name")`, a unique slug and host),
//   so files stay independent; never use the demo tenant there. stop() does nothing on it.
// - `await startForge(opts)`: a forge of the file's own, for files that stop or restart it, test
//   Ctrl-C, or need special settings (env), e.g. local-forge.test.ts and git-push.test.ts.
// Both return a RunningForge: converting a file from startForge() to sharedForge() is a one-line
// change, plus moving it off the demo tenant if it used it.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "../../bin/cli/http";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the global setup's control endpoint: GET it for the shared forge (shared-forge-setup.ts). */
    sharedForgeControl: string;
  }
}

/** What the global setup tells a test file about the shared forge. */
export interface SharedForgeInfo {
  port: number;
  stateDir: string;
  /** Where the forge's output goes (RunningForge.output reads it). */
  outputFile: string;
}

/** A tenant a test file made for itself on a shared forge (RunningForge.createTenant). */
export interface TestTenant {
  slug: string;
  host: string;
  owner: { username: string; password: string; email: string; token: string };
}

export const root = join(fileURLToPath(import.meta.url), "..", "..", "..");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Asks until `url` answers 200 (a new tenant's database may still be set up); the caller's test or
 * hook timeout bounds the wait.
 */
export async function waitFor200(url: string): Promise<void> {
  for (;;) {
    if ((await request(url)).status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Polls `probe` until it has an answer (queues run after the request that fed them). Gives up with
 * an error naming `what` after 100 s, before the e2e tests' 120 s timeout would fail them silently.
 */
export async function until<T>(what: string, probe: () => T | null | Promise<T | null>): Promise<T> {
  const deadline = Date.now() + 100_000;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== null) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

export class RunningForge {
  private printed = "";
  constructor(
    /** The runner's process; null for the shared forge (another process owns it). */
    private readonly proc: ChildProcess | null,
    readonly port: number,
    readonly stateDir: string,
    /** Set when the output is collected in a file (the shared forge) rather than in memory. */
    private readonly outputFile?: string,
  ) {}

  /** The runner's process (only a forge this file started has one here). */
  get child(): ChildProcess {
    if (!this.proc) throw new Error("the shared forge runs in vitest's main process: use startForge() for a forge of your own");
    return this.proc;
  }

  /** Everything the runner printed so far (stdout and stderr). */
  get output(): string {
    return this.outputFile ? readFileSync(this.outputFile, "utf8") : this.printed;
  }

  /** Records a chunk of the runner's output. */
  collect(chunk: string): void {
    if (this.outputFile) appendFileSync(this.outputFile, chunk);
    else this.printed += chunk;
  }

  url(host: string, path = "/"): string {
    return `http://${host}:${this.port}${path}`;
  }

  get adminToken(): string {
    return readFileSync(join(this.stateDir, "admin-token"), "utf8").trim();
  }

  /** The demo forge owner's API token (user "demo", a forge admin). */
  get demoToken(): string {
    return readFileSync(join(this.stateDir, "demo-token"), "utf8").trim();
  }

  /** Runs the `forge` CLI against this forge. */
  cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(root, "bin", "forge.js"), ...args],
        {
          cwd: root,
          env: { ...process.env, FORGE_URL: this.url("admin.localhost", ""), FORGE_STATE: this.stateDir, FORGE_ADMIN_TOKEN: "" },
        },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  admin(method: string, path: string, body?: unknown) {
    return request(this.url("admin.localhost", path), {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /**
   * A new tenant with an owner (who has a password and an API token), answering on its own
   * `<slug>.localhost` host; the slug is `prefix` plus a random part, so it is new on any forge.
   */
  async createTenant(prefix: string, owner: { username?: string; password?: string; email?: string } = {}): Promise<TestTenant> {
    const slug = `${prefix}-${randomBytes(4).toString("hex")}`;
    const host = `${slug}.localhost`;
    const who = {
      username: owner.username ?? "owner",
      password: owner.password ?? "owner-password-1",
      email: owner.email ?? "owner@example.com",
    };
    const res = await this.admin("POST", "/api/v1/tenants", { slug, name: `Test forge ${slug}`, hosts: [host], owner: who });
    if (res.status !== 201) throw new Error(`creating tenant ${slug} failed: HTTP ${res.status} ${res.text()}`);
    const { owner: created } = JSON.parse(res.text()) as { owner: { token: string } };
    // Its database may still be set up: wait until its home page answers (the hook timeout bounds this).
    await waitFor200(this.url(host));
    return { slug, host, owner: { ...who, token: created.token } };
  }

  /** Sends SIGINT (Ctrl-C) and resolves with the exit code; does nothing on the shared forge. */
  stop(): Promise<number | null> {
    const child = this.proc;
    if (!child) return Promise.resolve(null);
    if (child.exitCode !== null) return Promise.resolve(child.exitCode);
    return new Promise((resolve) => {
      child.once("exit", (code) => resolve(code));
      child.kill("SIGINT");
    });
  }
}

export async function startForge(
  opts: {
    stateDir?: string;
    port?: number;
    env?: Record<string, string>;
    outputFile?: string;
    /** Another checkout's forge (bench:latency compares one commit with another); default: this one. */
    root?: string;
    /**
     * How long one step of the start-up may take (scripts/start.ts prints each as it begins:
     * building, workerd, the demo forge, its import) before the start counts as hung.
     */
    startTimeoutMs?: number;
  } = {},
): Promise<RunningForge> {
  // A port freePort() gave may be taken by another process before the forge binds it (other test
  // files' forges and Miniflare pick ports too): such a start is tried again on another port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startForgeOn(opts.port ?? (await freePort()), opts);
    } catch (err) {
      if (opts.port !== undefined || attempt >= 3 || !String(err).includes("EADDRINUSE")) throw err;
    }
  }
}

async function startForgeOn(port: number, opts: Parameters<typeof startForge>[0] & {}): Promise<RunningForge> {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "edgeforge-e2e-"));
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: opts.root ?? root,
    env: {
      ...process.env,
      PORT: String(port),
      FORGE_STATE: stateDir,
      // Benchmarks following a long run may want every log line in FORGE_OUT (bench/README.md).
      FORGE_LOG: process.env.BENCH_FORGE_LOG ?? "quiet",
      FORGE_ADMIN_TOKEN: "",
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (opts.outputFile) writeFileSync(opts.outputFile, "");
  const forge = new RunningForge(child, port, stateDir, opts.outputFile);
  // The wait follows the start-up's steps rather than one fixed limit, which a loaded machine
  // missed: a step may take `limit`, and the error names the step that did not end.
  const limit = opts.startTimeoutMs ?? 120_000;
  let step = "starting the process (node and tsx)";
  await new Promise<void>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        settled = true;
        // Stop it, or its workerd outlives the caller that gave up on it.
        child.kill("SIGINT");
        reject(new Error(`the forge's start-up was stuck for ${limit / 1000} s at: ${step}. Its output:\n${forge.output}`));
      }, limit);
    };
    arm();
    let partial = "";
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      forge.collect(text);
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith("starting: ") || settled) continue;
        step = line.slice("starting: ".length);
        arm();
      }
      if (!settled && forge.output.includes(`ready on port ${port}`)) {
        settled = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      reject(new Error(`forge exited with ${code} at: ${step}. Its output:\n${forge.output}`));
    });
  });
  return forge;
}

/**
 * The forge shared by the run's e2e files (started on the first call, by the global setup in
 * vitest's main process). Work in a tenant of your own: `await forge.createTenant("name")`.
 */
export async function sharedForge(): Promise<RunningForge> {
  // Imported here, not at the top: the benchmarks import this module outside vitest.
  const { inject } = await import("vitest");
  const control = inject("sharedForgeControl");
  if (!control)
    throw new Error("no shared forge: run this file through the node project of vitest.config.ts (its globalSetup starts it)");
  const res = await fetch(control);
  if (!res.ok) throw new Error(`the shared forge did not start: ${await res.text()}`);
  const info = (await res.json()) as SharedForgeInfo;
  return new RunningForge(null, info.port, info.stateDir, info.outputFile);
}
