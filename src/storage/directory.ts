// KV DIRECTORY adapter: publishes tenant records and host mappings for the edge to read.
import { kvKeys } from "./keys";
import { TtlCache } from "../utils/lru";

export type TenantStatus = "provisioning" | "active" | "suspended" | "deleting";

export interface Plan {
  name: string;
  /** Largest size of one repository's packs, in bytes. */
  maxRepoBytes: number;
  /** Largest single upload of an issue attachment, in bytes. */
  maxUploadBytes: number;
  /** Largest file of a downloads area, in bytes; absent: DEFAULT_DOWNLOAD_BYTES (services/downloads). */
  maxDownloadBytes?: number;
}

/** What the edge needs to serve a tenant, as published in KV (tenant:<id>). */
export interface TenantRecord {
  id: string;
  slug: string;
  name: string;
  status: TenantStatus;
  suspendReason: string | null;
  database: string | null;
  hosts: string[];
  plan: Plan;
  schemaVersion: number;
  createdAt: string;
  updatedAt: string;
}

async function readTenantIdByHost(kv: KVNamespace, hostname: string): Promise<string | null> {
  return kv.get(kvKeys.host(hostname));
}

export async function readTenantRecord(kv: KVNamespace, tenantId: string): Promise<TenantRecord | null> {
  return kv.get<TenantRecord>(kvKeys.tenant(tenantId), "json");
}

/** Writes the record and makes `hosts` point at it; `removedHosts` stop resolving. */
export async function publishTenant(kv: KVNamespace, record: TenantRecord, removedHosts: string[] = []): Promise<void> {
  await kv.put(kvKeys.tenant(record.id), JSON.stringify(record));
  await Promise.all([
    ...record.hosts.map((h) => kv.put(kvKeys.host(h), record.id)),
    ...removedHosts.map((h) => kv.delete(kvKeys.host(h))),
  ]);
  forgetHosts([...record.hosts, ...removedHosts]);
}

export async function unpublishTenant(kv: KVNamespace, record: Pick<TenantRecord, "id" | "hosts">): Promise<void> {
  await Promise.all([kv.delete(kvKeys.tenant(record.id)), ...record.hosts.map((h) => kv.delete(kvKeys.host(h)))]);
  forgetHosts(record.hosts);
}

/**
 * Per-isolate cache of host -> record lookups. Short-lived and bounded: KV stays the source for
 * the edge, and a change made through this isolate (admin API) drops the entries it touches.
 */
const hostCache = new TtlCache<string, TenantRecord | null>(5_000, 2_000);

/**
 * A request's host as the directory keys it: lower-case, no port, without the one trailing dot of
 * a fully qualified name (`acme.example.` is `acme.example`).
 */
export function canonicalHost(url: string | URL): string {
  return new URL(url).hostname.toLowerCase().replace(/\.$/, "");
}

export function resolveHost(kv: KVNamespace, host: string): Promise<TenantRecord | null> {
  const hostname = host.toLowerCase().replace(/\.$/, "");
  return hostCache.get(hostname, async () => {
    const id = await readTenantIdByHost(kv, hostname);
    return id ? await readTenantRecord(kv, id) : null;
  });
}

function forgetHosts(hosts: Iterable<string>): void {
  for (const h of hosts) hostCache.delete(h);
}
