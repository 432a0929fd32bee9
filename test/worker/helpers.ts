// Helpers of the workerd integration tests: requests to the edge worker under test.
import { exports } from "cloudflare:workers";

export const ADMIN_HOST = "admin.test";
export const ADMIN_TOKEN = "test-admin-token";

export function edge(url: string, init?: RequestInit): Promise<Response> {
  return (exports as unknown as { default: Fetcher }).default.fetch(url, init);
}

export function admin(method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<Response> {
  return edge(`http://${ADMIN_HOST}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

let counter = 0;
/** A slug unique within the test run. */
export const uniqueSlug = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export interface CreatedTenant {
  tenant: { id: string; slug: string; status: string; hosts: string[] };
  owner: { username: string; token: string };
}

export async function createTenant(slug: string, hosts = [`${slug}.test`]): Promise<CreatedTenant> {
  const res = await admin("POST", "/api/v1/tenants", {
    slug,
    name: `Forge ${slug}`,
    hosts,
    owner: { username: "owner", email: "owner@example.com" },
  });
  if (res.status !== 201) throw new Error(`create tenant ${slug}: ${res.status} ${await res.text()}`);
  return res.json();
}

export async function deleteTenant(slug: string): Promise<void> {
  const res = await admin("DELETE", `/api/v1/tenants/${slug}?confirm=${slug}`);
  await res.arrayBuffer();
}
