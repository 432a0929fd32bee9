// Miniflare options of the local forge: the same two workers and bindings as wrangler.toml and
// wrangler.push.toml (tenant databases are Durable Objects, as deployed), plus the D1 bindings of
// tenants a local forge made before TENANT_DB.
import type { MiniflareOptions, WorkerOptions } from "miniflare";
import type { WorkerName } from "./build";
import { fileURLToPath } from "node:url";
import { STORAGE_PLUGIN, type StorageBindingOptions } from "./storage-plugin";
import type { StorageProcess } from "./storage-process";

/** The module Miniflare loads the storage plugin from (a path: Miniflare resolves it with require.resolve). */
const storagePluginModule = fileURLToPath(new URL("./storage-plugin.ts", import.meta.url));

export const COMPATIBILITY_DATE = "2026-07-01";
export const COMPATIBILITY_FLAGS = ["nodejs_compat"];

/** Cloudflare's memory limit of one isolate: local workerd runs with the same cap by default. */
export const ISOLATE_HEAP_MB = 128;
/** Miniflare hands this variable's flags (split on spaces) to workerd's V8 when it builds the config. */
export const V8_FLAGS_VARIABLE = "MINIFLARE_WORKERD_V8_FLAGS";

/**
 * Keeps cppgc's sweep on each isolate's own thread. Without it, at the end of a request workerd
 * drains V8's task queue while cppgc's sweep task re-posts itself until a concurrent sweep job
 * ends on V8's worker pool (one thread on a 2-core machine, shared by every isolate): while that
 * thread does not get to the job, workerd answers nothing (issue 19's livelock, reproduced by
 * stopping the thread: docs/architecture.md, "Local workerd's V8 flags").
 */
export const SWEEP_LIVELOCK_FLAG = "--single-threaded-gc";

/**
 * The V8 flags workerd should run with: an explicit MINIFLARE_WORKERD_V8_FLAGS replaces the heap
 * cap (empty lifts it); otherwise the heap of each isolate is capped as on Cloudflare, so that a
 * change that needs more memory crashes locally and in tests instead of only in production. The
 * livelock flag is added either way, unless the value names it (`--no-single-threaded-gc` measures
 * without it): a value from a benchmark or a README line must not bring the hang back.
 */
export function workerdV8Flags(env: NodeJS.ProcessEnv = process.env): string {
  const flags = env[V8_FLAGS_VARIABLE] ?? `--max-old-space-size=${ISOLATE_HEAP_MB}`;
  if (flags.split(/\s+/).some((f) => /^--(no-?)?single[-_]threaded[-_]gc$/.test(f))) return flags;
  return flags ? `${flags} ${SWEEP_LIVELOCK_FLAG}` : SWEEP_LIVELOCK_FLAG;
}

/** Sets the flags in this process's environment, where Miniflare reads them (call before it starts workerd). */
export function applyIsolateHeapLimit(env: NodeJS.ProcessEnv = process.env): void {
  env[V8_FLAGS_VARIABLE] = workerdV8Flags(env);
}

export interface LocalConfig {
  scripts: Record<WorkerName, string>;
  persistRoot: string;
  platformHost: string;
  adminToken: string;
  /** Key material of session cookies (FORGE_SESSION_SECRET); saved in the state folder. */
  sessionSecret?: string;
  /** D1 bindings of tenants made before TENANT_DB (state/databases.json); none for new state. */
  legacyTenantDatabases: string[];
  handleRuntimeStdio?: MiniflareOptions["handleRuntimeStdio"];
  allowFaults?: boolean;
  /** FORGE_WAN_MS: storage and queue calls of both workers answer this many ms late (src/obs/wan.ts). */
  wanMs?: string;
  /** EXTRA_TENANT_MIGRATIONS of the edge (FORGE_EXTRA_TENANT_MIGRATIONS): tests and benchmarks only. */
  extraTenantMigrations?: string;
  /** The front's port: links in notification mail point at http://<host>:<port> (MAIL_LINK_ORIGIN). */
  port?: number;
  /** WEBHOOK_ALLOWLIST of the edge (FORGE_WEBHOOK_ALLOWLIST), e.g. 127.0.0.1 for a receiver on this machine. */
  webhookAllowlist?: string;
  /** FORGE_STORAGE_PROCESS=1: R2, KV and D1 served by a second workerd (./storage-process.ts) at these URLs. */
  storage?: Pick<StorageProcess, "url" | "r2Url">;
}

/** A KV or D1 binding: the simulator in this workerd, or its remote form served by the storage process. */
const store = (id: string, c: LocalConfig) => (c.storage ? { id, remoteProxyConnectionString: c.storage.url } : id);

/** The R2 binding: the simulator in this workerd, or workerd's R2 client talking to the storage process (./storage-plugin.ts). */
const objects = (c: LocalConfig): Partial<WorkerOptions> =>
  c.storage
    ? {
        unsafeBindings: [
          {
            name: "OBJECTS",
            type: "r2",
            plugin: { name: STORAGE_PLUGIN, package: storagePluginModule },
            options: { address: c.storage.r2Url.host } satisfies StorageBindingOptions,
          },
        ],
      }
    : { r2Buckets: { OBJECTS: "objects" } };

const shared = (c: LocalConfig): Partial<WorkerOptions> => ({
  modules: true,
  compatibilityDate: COMPATIBILITY_DATE,
  compatibilityFlags: COMPATIBILITY_FLAGS,
  kvNamespaces: { DIRECTORY: store("directory", c) },
  ...objects(c),
});

export function miniflareOptions(c: LocalConfig): MiniflareOptions {
  const tenantDbs = Object.fromEntries(c.legacyTenantDatabases.map((b) => [b, b]));
  return {
    host: "127.0.0.1",
    port: 0,
    defaultPersistRoot: c.persistRoot,
    // FORGE_INSPECTOR_PORT: workerd's V8 inspector (Chrome DevTools' profiler) for both workers.
    ...(process.env.FORGE_INSPECTOR_PORT ? { inspectorPort: Number(process.env.FORGE_INSPECTOR_PORT) } : {}),
    handleRuntimeStdio: c.handleRuntimeStdio,
    workers: [
      {
        ...shared(c),
        name: "edge",
        // The front talks to the edge worker's own socket: no extra hop through Miniflare's router.
        unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
        // Telemetry log lines land in R2 within a second locally (30 s in production: fewer, larger objects).
        queueConsumers: {
          "edgeforge-post-push": { maxBatchTimeout: 1 },
          "edgeforge-events": { maxBatchTimeout: 1, maxRetries: 5 },
          "edgeforge-telemetry-logs": { maxBatchSize: 100, maxBatchTimeout: 1 },
          "edgeforge-webhooks": { maxBatchTimeout: 1, maxRetries: 10 },
        },
        queueProducers: {
          TELEMETRY_LOGS: "edgeforge-telemetry-logs",
          FORGE_EVENTS: "edgeforge-events",
          WEBHOOKS: "edgeforge-webhooks",
        },
        analyticsEngineDatasets: { TELEMETRY: { dataset: "edgeforge_requests" } },
        scriptPath: c.scripts.edge,
        d1Databases: { CONTROL: store("control", c), ...tenantDbs },
        durableObjects: {
          REPO: { className: "RepoObject", scriptName: "push" },
          TENANT_DB: { className: "TenantDatabase", useSQLite: true },
        },
        serviceBindings: { PUSH: "push" },
        bindings: {
          PLATFORM_HOST: c.platformHost,
          FORGE_ADMIN_TOKEN: c.adminToken,
          ...(c.sessionSecret ? { FORGE_SESSION_SECRET: c.sessionSecret } : {}),
          // The slow-component fault of telemetry tests (src/push/faults.ts).
          ...(c.allowFaults ? { ALLOW_FAULTS: "1" } : {}),
          ...(c.extraTenantMigrations ? { EXTRA_TENANT_MIGRATIONS: c.extraTenantMigrations } : {}),
          ...(c.wanMs ? { FORGE_WAN_MS: c.wanMs } : {}),
          ...(c.port ? { MAIL_LINK_ORIGIN: `http://{host}:${c.port}` } : {}),
          // Local forges do not resolve hook hosts (no DNS-over-HTTPS resolver): only the URL checks apply.
          ...(c.webhookAllowlist ? { WEBHOOK_ALLOWLIST: c.webhookAllowlist } : {}),
        },
      },
      {
        ...shared(c),
        name: "push",
        queueProducers: { POST_PUSH: "edgeforge-post-push" },
        // Tests of failures mid-push start the runner with FORGE_ALLOW_FAULTS=1; never in use otherwise.
        bindings: { ...(c.allowFaults ? { ALLOW_FAULTS: "1" } : {}), ...(c.wanMs ? { FORGE_WAN_MS: c.wanMs } : {}) },
        scriptPath: c.scripts.push,
        d1Databases: { CONTROL: store("control", c) },
        durableObjects: { REPO: { className: "RepoObject", useSQLite: true } },
      },
    ] as WorkerOptions[],
  };
}
