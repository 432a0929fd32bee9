// The local forge: both workers on Miniflare/workerd with persisted KV, D1, R2 and Durable Objects,
// behind a node:http front. Tenant databases are added at run time by reloading workerd between
// requests (several new tenants share one reload).
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
import { Gate } from "./gate";

export interface LocalForgeOptions {
  port: number;
  stateDir: string;
  platformHost: string;
  /** Called with each request's structured log line (JSON) and other runtime output. */
  onLog?: (line: string) => void;
}

const RELOAD_DEBOUNCE_MS = 100;
/** Spare tenant databases kept bound, and the level under which a reload adds more. */
const SPARE_BATCH = 32;
const SPARE_LOW_WATER = 8;

interface DatabaseList {
  /** Binding -> tenant id. */
  assigned: Record<string, string>;
  /** Bound, empty, ready for the next tenants. */
  spare: string[];
  /** Counter behind binding names (DB_LOCAL_0001...). */
  next: number;
}

export class LocalForge {
  readonly adminToken: string;
  private readonly sessionSecret: string;
  private mf: Miniflare | null = null;
  /** The edge worker's own socket in workerd (it moves when workerd restarts). */
  private edgeUrl: URL | null = null;
  private server: Server | null = null;
  private readonly gate = new Gate();
  private readonly databasesFile: string;
  private databases: DatabaseList;
  /** The tenant database bindings workerd runs with now. */
  private bound = new Set<string>();
  private scripts: LocalConfig["scripts"] | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;
  private reloading: Promise<void> = Promise.resolve();
  private readonly logFile: WriteStream;

  constructor(private readonly opts: LocalForgeOptions) {
    mkdirSync(opts.stateDir, { recursive: true });
    this.adminToken =
      process.env.FORGE_ADMIN_TOKEN || this.readOrCreate("admin-token", () => randomBytes(24).toString("base64url"));
    this.sessionSecret =
      process.env.FORGE_SESSION_SECRET || this.readOrCreate("session-secret", () => randomBytes(32).toString("base64url"));
    this.databasesFile = join(opts.stateDir, "databases.json");
    this.databases = existsSync(this.databasesFile)
      ? (JSON.parse(readFileSync(this.databasesFile, "utf8")) as DatabaseList)
      : { assigned: {}, spare: [], next: 0 };
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
      tenantDatabases: this.allDatabases(),
      provisioner: (request) => this.provision(request),
      allowFaults: process.env.FORGE_ALLOW_FAULTS === "1",
      extraTenantMigrations: process.env.FORGE_EXTRA_TENANT_MIGRATIONS || undefined,
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

  async start(): Promise<void> {
    this.scripts = await buildWorkers(join(projectRoot, ".forge", "build"));
    this.topUpSpares();
    applyIsolateHeapLimit();
    this.mf = new Miniflare(miniflareOptions(this.config()));
    this.bound = new Set(this.allDatabases());
    await this.mf.ready;
    this.edgeUrl = await this.mf.unsafeGetDirectURL("edge");
    this.server = createFront(() => this.edgeUrl!, this.gate);
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.opts.port, "127.0.0.1", () => resolve());
    });
  }

  async stop(): Promise<void> {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    await this.reloading.catch(() => undefined);
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await this.mf?.dispose();
    this.mf = null;
    await new Promise<void>((resolve) => this.logFile.end(resolve));
  }

  /** Sends a request straight to the edge worker (no gate: for the runner's own calls). */
  dispatch(url: string, init?: RequestInit): Promise<Response> {
    return this.mf!.dispatchFetch(url, init as never) as unknown as Promise<Response>;
  }

  /**
   * The PROVISIONER service. POST /databases {tenantId} hands out a spare database that workerd
   * already has bound, so a new tenant is served at once; spares are topped up in batches, one
   * reload per batch. DELETE /databases/<binding> takes back a database (the worker emptied it).
   */
  private async provision(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "POST" && url.pathname === "/databases") {
      const { tenantId } = (await request.json()) as { tenantId: string };
      // Out of spares (a burst of creations): name new ones; the tenant is set up after the reload.
      if (this.databases.spare.length === 0) this.topUpSpares();
      const binding = this.databases.spare.shift()!;
      this.databases.assigned[binding] = tenantId;
      this.saveDatabases();
      if (this.databases.spare.length < SPARE_LOW_WATER || !this.bound.has(binding)) this.scheduleReload();
      return Response.json({ binding });
    }
    const match = /^\/databases\/([A-Z0-9_]+)$/.exec(url.pathname);
    if (request.method === "DELETE" && match && this.databases.assigned[match[1]!]) {
      delete this.databases.assigned[match[1]!];
      this.databases.spare.push(match[1]!);
      this.saveDatabases();
      return new Response(null, { status: 204 });
    }
    return new Response("not found", { status: 404 });
  }

  private saveDatabases(): void {
    writeFileSync(this.databasesFile, `${JSON.stringify(this.databases, null, 1)}\n`);
  }

  /** Names new spare bindings until the reserve is full again (bound at the next reload). */
  private topUpSpares(): void {
    if (this.databases.spare.length >= SPARE_BATCH) return;
    while (this.databases.spare.length < SPARE_BATCH) {
      this.databases.next++;
      this.databases.spare.push(`DB_LOCAL_${String(this.databases.next).padStart(4, "0")}`);
    }
    this.saveDatabases();
  }

  private allDatabases(): string[] {
    return [...Object.keys(this.databases.assigned), ...this.databases.spare];
  }

  private scheduleReload(): void {
    if (this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      this.reloading = this.reloading
        .then(() => this.reload())
        .catch((err) => this.opts.onLog?.(`reload failed: ${(err as Error).stack ?? err}`));
    }, RELOAD_DEBOUNCE_MS);
  }

  /** Restarts workerd with the current database list, between requests. */
  private async reload(): Promise<void> {
    this.topUpSpares();
    const wanted = this.allDatabases();
    if (wanted.length === this.bound.size && wanted.every((b) => this.bound.has(b))) return;
    await this.gate.closeAndDrain();
    try {
      await this.mf!.setOptions(miniflareOptions(this.config()));
      this.edgeUrl = await this.mf!.unsafeGetDirectURL("edge");
      this.bound = new Set(wanted);
    } finally {
      this.gate.reopen();
    }
    await this.finishPendingTenants().catch((err) => this.opts.onLog?.(`tenant set-up check failed: ${err}`));
  }

  /** Asks the platform to finish setting up tenants whose database just appeared. */
  private async finishPendingTenants(): Promise<void> {
    const admin = this.url(this.opts.platformHost);
    const headers = { authorization: `Bearer ${this.adminToken}` };
    for (let page = 1; ; page++) {
      const res = await this.dispatch(`${admin}/api/v1/tenants?limit=100&page=${page}`, { headers });
      if (!res.ok) return;
      const tenants = (await res.json()) as { slug: string; status: string }[];
      for (const t of tenants.filter((t) => t.status === "provisioning")) {
        await (await this.dispatch(`${admin}/api/v1/tenants/${t.slug}`, { headers })).arrayBuffer();
      }
      if (tenants.length < 100) return;
    }
  }
}
