// Starts the local forge (what `npm start` runs) in a child process for end-to-end tests.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "../../bin/cli/http";

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

export class RunningForge {
  output = "";
  constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly stateDir: string,
  ) {}

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

  /** Sends SIGINT (Ctrl-C) and resolves with the exit code. */
  stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => {
      this.child.once("exit", (code) => resolve(code));
      this.child.kill("SIGINT");
    });
  }
}

export async function startForge(
  opts: { stateDir?: string; port?: number; env?: Record<string, string> } = {},
): Promise<RunningForge> {
  const port = opts.port ?? (await freePort());
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "edgeforge-e2e-"));
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: root,
    env: { ...process.env, PORT: String(port), FORGE_STATE: stateDir, FORGE_LOG: "quiet", FORGE_ADMIN_TOKEN: "", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const forge = new RunningForge(child, port, stateDir);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`forge did not start:\n${forge.output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      forge.output += chunk.toString();
      if (forge.output.includes(`ready on port ${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`forge exited with ${code}:\n${forge.output}`)));
  });
  return forge;
}
