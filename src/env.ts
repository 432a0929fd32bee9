// The bindings and settings both workers receive (see wrangler.toml, wrangler.push.toml and scripts/local).
import type { RepoObject } from "./repo/repo-object";
import type { TenantDatabase } from "./db/tenant-store";

export interface Env {
  /** KV: host:<hostname> -> tenant id; tenant:<id> -> tenant record. */
  DIRECTORY: KVNamespace;
  /** D1: the platform's own database (tenant registry, audit log). */
  CONTROL: D1Database;
  /** R2: immutable blobs (packs, indexes, attachments, downloads). */
  OBJECTS: R2Bucket;
  /** Durable Object namespace of repositories: refs, HEAD, pack catalog. */
  REPO: DurableObjectNamespace<RepoObject>;
  /** Durable Object namespace of tenant databases, one SQLite object per tenant (edge worker only). */
  TENANT_DB?: DurableObjectNamespace<TenantDatabase>;
  /** Service binding to the push worker (edge worker only). */
  PUSH?: Fetcher;
  /** Queue of pushes that landed, for post-push work (timeline, issue links, derived data). */
  POST_PUSH?: Queue;
  /** Queue of recorded events ({tenant id, event id}) for their handlers: mail, webhooks (services/events/). */
  FORGE_EVENTS?: Queue;
  /** Analytics Engine dataset: one data point per request (dashboards; docs/deploy.md). */
  TELEMETRY?: AnalyticsEngineDataset;
  /** Queue of request log lines, batched by the edge into R2 objects under logs/ (docs/storage.md). */
  TELEMETRY_LOGS?: Queue;
  /** Queue of webhook deliveries (services/webhooks/deliver.ts), produced and consumed by the edge. */
  WEBHOOKS?: Queue;
  /** Hosts, addresses and ranges webhooks may call though the SSRF guard refuses them (docs/deploy.md). */
  WEBHOOK_ALLOWLIST?: string;
  /** DNS-over-HTTPS resolver (JSON API) through which hook hosts are resolved and checked; unset: not resolved. */
  WEBHOOK_DNS_RESOLVER?: string;
  /** Secret from which the key sealing hook secrets is derived (else FORGE_SESSION_SECRET's). */
  WEBHOOK_SECRET_KEY?: string;
  /** Push worker: bytes the connectivity check of one pack holds in links before spilling them to R2 (docs/deploy.md). */
  LINK_SPILL_BUDGET?: string;
  /** Test configurations only: "1" lets requests inject faults (x-forge-fault header). */
  ALLOW_FAULTS?: string;
  /** Local runs, e2e tests and benchmarks only: delay every storage and queue call by this many ms (obs/wan.ts). */
  FORGE_WAN_MS?: string;
  /** Tests and the fleet benchmark only: JSON list of extra tenant migrations appended to the bundle. */
  EXTRA_TENANT_MIGRATIONS?: string;
  /** Hostname of the platform admin API, e.g. admin.localhost. */
  PLATFORM_HOST?: string;
  /** Bearer token of the platform admin API (a secret in production). */
  FORGE_ADMIN_TOKEN?: string;
  /** Secret from which each tenant's session-cookie key is derived (auth/session.ts). */
  FORGE_SESSION_SECRET?: string;
  /** The secret before the last rotation: cookies it signed still verify, and are re-signed. */
  FORGE_SESSION_SECRET_PREVIOUS?: string;
  /** Cloudflare email sending binding for account mail (docs/deploy.md); without it mail stays in the outbox. */
  MAIL?: unknown;
  /** Sender address of account mail. */
  MAIL_FROM?: string;
  /** Origin of links in notification mail, `{host}` the forge's first host (default https://{host}). */
  MAIL_LINK_ORIGIN?: string;
  /** D1 bindings of tenants made before TENANT_DB, named in their records (docs/deploy.md). */
  [binding: string]: unknown;
}
