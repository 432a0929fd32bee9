// Helpers of the workerd integration tests: requests to the edge worker under test.
import { exports } from "cloudflare:workers";
import { ledgerKey, postPushLedger } from "../../src/services/post-push";

export const ADMIN_HOST = "admin.test";
export const ADMIN_TOKEN = "test-admin-token";

export async function edge(url: string, init?: RequestInit): Promise<Response> {
  const res = await (exports as unknown as { default: Fetcher }).default.fetch(url, init);
  if (init?.method === "POST" && new URL(url).pathname.endsWith("/git-receive-pack")) notePush(init.body, res);
  return res;
}

/** Ref updates (ledger keys) of the pushes this file landed through edge(), as their reports come. */
const landed: Promise<string[]>[] = [];

/** Records the updates of a receive-pack request that its report says landed. */
function notePush(body: RequestInit["body"], res: Response): void {
  if (!(body instanceof Uint8Array)) return;
  const commands: { ref: string; next: string }[] = [];
  const text = new TextDecoder().decode(body.subarray(0, 64 * 1024));
  // pkt-lines "<old> <new> <ref>[\0caps]\n" up to the flush packet.
  for (let at = 0; at + 4 <= text.length; ) {
    const size = Number.parseInt(text.slice(at, at + 4), 16);
    if (!(size > 4)) break;
    const [, next, ref] = /^[0-9a-f]{40} ([0-9a-f]{40}) ([^\0\n]+)/.exec(text.slice(at + 4, at + size)) ?? [];
    if (next && ref) commands.push({ ref, next });
    at += size;
  }
  if (commands.length === 0 || !res.ok) return;
  landed.push(
    res
      .clone()
      .text()
      .then((report) =>
        commands.filter((c) => report.includes(`ok ${c.ref}\n`)).map((c) => ledgerKey({ name: c.ref, new: c.next })),
      )
      .catch(() => []),
  );
}

/**
 * Waits until the forge's post-push queue consumer has finished every push this file landed
 * through edge() and runs no delivery, by its ledger (services/post-push.ts): a delivery still
 * running when the file's runtime closes fails vitest's run ("Closing rpc while resolve was
 * pending"). For a file's afterAll.
 */
export async function drainPostPush(): Promise<void> {
  const wanted = new Map<string, number>();
  for (const keys of await Promise.all(landed)) for (const k of keys) wanted.set(k, (wanted.get(k) ?? 0) + 1);
  const missing = () => [...wanted].filter(([k, n]) => (postPushLedger.finished.get(k) ?? 0) < n).map(([k]) => k);
  // Checked every 50 ms; the limit is for a consumer that never comes (the hook's timeout is 60 s).
  for (let i = 0; i < 1000; i++) {
    if (postPushLedger.running === 0 && missing().length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the post-push consumer has not finished ${missing().join(", ") || "its running deliveries"}`);
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
