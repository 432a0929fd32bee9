// The local forge: both workers on Miniflare/workerd with persisted KV, D1, R2 and Durable Objects,
// behind a node:http front. Tenant databases are Durable Objects, as deployed: a new tenant needs
// no new binding, so workerd is never restarted for one.
import { Miniflare } from "miniflare";
import { existsSync, mkdirSync, readFileSync, writeFileSync, createWriteStream, type WriteStream } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Server } from "node:http";
import type { Readable } from "node:stream";
import { createInterface } from "node:readline";
import { buildWorkers, projectRoot } from "./build";
import { applyIsolateHeapLimit, miniflareOptions, type LocalConfig } from "./config";
import { createFront } from "./front";
import { startStorageProcess, type StorageProcess } from "./storage-process";
import { connect } from "node:net";

/** How long a request waits for workerd to be restarted after a crash (a restart took 2-10 s here). */
const WORKERD_RESTART_MS = 60_000;

/** Whether something accepts TCP connections at the URL's host and port. */
function accepts(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export interface LocalForgeOptions {
  port: number;
  stateDir: string;
  platformHost: string;
  /** Called with each request's structured log line (JSON) and other runtime output. */
  onLog?: (line: string) => void;
}

/** What a local forge made before TENANT_DB kept in state/databases.json (binding -> tenant id). */
interface LegacyDatabaseList {
  assigned: Record<string, string>;
}

export class LocalForge {
  readonly adminToken: string;
  private readonly sessionSecret: string;
  private mf: Miniflare | null = null;
  /** FORGE_STORAGE_PROCESS=1: the second workerd that serves R2, KV and D1 (benchmarks only). */
  private storage: StorageProcess | null = null;
  /** The edge worker's own socket in workerd. */
  private edgeUrl: URL | null = null;
  private server: Server | null = null;
  /** D1 bindings of tenants made by an older local forge in this state folder, still served. */
  private readonly legacyDatabases: string[];
  private scripts: LocalConfig["scripts"] | null = null;
  private readonly logFile: WriteStream;

  constructor(private readonly opts: LocalForgeOptions) {
    mkdirSync(opts.stateDir, { recursive: true });
    this.adminToken =
      process.env.FORGE_ADMIN_TOKEN || this.readOrCreate("admin-token", () => randomBytes(24).toString("base64url"));
    this.sessionSecret =
      process.env.FORGE_SESSION_SECRET || this.readOrCreate("session-secret", () => randomBytes(32).toString("base64url"));
    const databasesFile = join(opts.stateDir, "databases.json");
    this.legacyDatabases = existsSync(databasesFile)
      ? Object.keys((JSON.parse(readFileSync(databasesFile, "utf8")) as LegacyDatabaseList).assigned)
      : [];
    mkdirSync(join(opts.stateDir, "logs"), { recursive: true });
    this.logFile = createWriteStream(join(opts.stateDir, "logs", "requests.jsonl"), { flags: "a" });
  }

  private readOrCreate(name: string, make: () => string): string {
    const file = join(this.opts.stateDir, name);
    if (existsSync(file)) return readFileSync(file, "utf8").trim();
    const value = make();
    writeFileSync(file, `${value}\n`, { mode: 0o600 });
    return value;
  }

  get port(): number {
    const address = this.server?.address();
    return typeof address === "object" && address ? address.port : this.opts.port;
  }

  url(host: string): string {
    return `http://${host}:${this.port}`;
  }

  private config(): LocalConfig {
    return {
      scripts: this.scripts!,
      persistRoot: join(this.opts.stateDir, "data"),
      platformHost: this.opts.platformHost,
      adminToken: this.adminToken,
      sessionSecret: this.sessionSecret,
      legacyTenantDatabases: this.legacyDatabases,
      allowFaults: process.env.FORGE_ALLOW_FAULTS === "1",
      wanMs: process.env.FORGE_WAN_MS || undefined,
      extraTenantMigrations: process.env.FORGE_EXTRA_TENANT_MIGRATIONS || undefined,
      port: this.opts.port || undefined,
      webhookAllowlist: process.env.FORGE_WEBHOOK_ALLOWLIST || undefined,
      storage: this.storage ?? undefined,
      handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
        this.pipeLogs(stdout);
        this.pipeLogs(stderr);
      },
    };
  }

  private pipeLogs(stream: Readable): void {
    createInterface({ input: stream }).on("line", (line) => {
      if (line.startsWith("{")) this.logFile.write(`${line}\n`);
      this.opts.onLog?.(line);
    });
  }

  /** Builds the workers and starts workerd; `phase` hears each step as it begins. */
  async start(phase: (what: string) => void = () => undefined): Promise<void> {
    phase("building the workers");
    this.scripts = await buildWorkers(join(projectRoot, ".forge", "build"));
    applyIsolateHeapLimit();
    if (process.env.FORGE_STORAGE_PROCESS === "1") {
      phase("starting the storage process (R2, KV and D1 in a second workerd)");
      this.storage = await startStorageProcess({
        persistRoot: join(this.opts.stateDir, "data"),
        registryDir: join(this.opts.stateDir, "storage-registry"),
        handleRuntimeStdio: (stdout, stderr) => {
          this.pipeLogs(stdout);
          this.pipeLogs(stderr);
        },
      });
    }
    phase("starting workerd (and migrating the platform database)");
    this.mf = new Miniflare(miniflareOptions(this.config()));
    await this.mf.ready;
    this.edgeUrl = await this.mf.unsafeGetDirectURL("edge");
    this.server = createFront(() => this.edgeUrl!, { upstreamBack: () => this.workerdBack() });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.opts.port, "127.0.0.1", () => resolve());
    });
  }

  /**
   * Waits for workerd after a crash (a V8 heap limit reached aborts the process): Miniflare
   * restarts it on its own, and `ready` waits for that restart once it has begun. The crash may
   * not have been noticed yet when a request is refused, so the socket is probed until it
   * accepts, for at most WORKERD_RESTART_MS.
   */
  private async workerdBack(): Promise<void> {
    const deadline = Date.now() + WORKERD_RESTART_MS;
    this.opts.onLog?.("workerd refused a connection (crashed?): waiting for Miniflare to restart it");
    for (;;) {
      if (!this.mf) throw new Error("the forge is stopping");
      await this.mf.ready;
      this.edgeUrl = await this.mf.unsafeGetDirectURL("edge");
      if (await accepts(this.edgeUrl)) return;
      if (Date.now() > deadline) throw new Error(`workerd did not come back within ${WORKERD_RESTART_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await this.mf?.dispose();
    this.mf = null;
    await this.storage?.dispose();
    this.storage = null;
    await new Promise<void>((resolve) => this.logFile.end(resolve));
  }

  /** Sends a request straight to the edge worker (not through the front: for the runner's own calls). */
  dispatch(url: string, init?: RequestInit): Promise<Response> {
    return this.mf!.dispatchFetch(url, init as never) as unknown as Promise<Response>;
  }
}
