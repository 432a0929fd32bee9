// The bindings and settings both workers receive (see wrangler.toml, wrangler.push.toml and scripts/local).
import type { RepoObject } from "./repo/repo-object";

export interface Env {
  /** KV: host:<hostname> -> tenant id; tenant:<id> -> tenant record. */
  DIRECTORY: KVNamespace;
  /** D1: the platform's own database (tenant registry, audit log). */
  CONTROL: D1Database;
  /** R2: immutable blobs (packs, indexes, attachments, downloads). */
  OBJECTS: R2Bucket;
  /** Durable Object namespace of repositories: refs, HEAD, pack catalog. */
  REPO: DurableObjectNamespace<RepoObject>;
  /** Service binding to the push worker (edge worker only). */
  PUSH?: Fetcher;
  /** Queue of pushes that landed, for post-push work (timeline, issue links, derived data). */
  POST_PUSH?: Queue;
  /** Test configurations only: "1" lets requests inject faults (x-forge-fault header). */
  ALLOW_FAULTS?: string;
  /** Tests and the fleet benchmark only: JSON list of extra tenant migrations appended to the bundle. */
  EXTRA_TENANT_MIGRATIONS?: string;
  /** Local runner only: creates and drops tenant databases (scripts/local/provisioner.ts). */
  PROVISIONER?: Fetcher;
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
  /** Comma-separated names of pre-provisioned D1 bindings that new tenants may take. */
  TENANT_DB_POOL?: string;
  /** Cloudflare API provisioning (docs/deploy.md). */
  CF_ACCOUNT_ID?: string;
  CF_API_TOKEN?: string;
  CF_SCRIPT_NAME?: string;
  /** Tenant databases are bindings named in tenant records (DB_<tenant id>). */
  [binding: string]: unknown;
}
