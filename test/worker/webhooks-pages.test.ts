// The webhooks pages of a project in workerd: owners add, change and delete hooks; a blocked URL
// comes back as the form with the guard's reason and saves nothing; the secret is never shown;
// "Send a test" and "Redeliver" are POST forms that queue new deliveries; others get no access;
// what a receiver answered is shown escaped.
import { beforeAll, describe, expect, it } from "vitest";
import { Browser, apiCall, newForge, registerUser, tenantD1, type Forge } from "./browser";

let forge: Forge;
let owner: Browser;
let db: D1Database;

const hooksPath = "/p/site/admin/hooks";

async function hookRows(): Promise<{ id: number; url: string; secret: string; events: string; active: number }[]> {
  const { results } = await db.prepare("SELECT id, url, secret, events, active FROM webhooks ORDER BY id").all();
  return results as never;
}

async function deliveries(hookId: number) {
  const { results } = await db
    .prepare(
      "SELECT id, delivery, event, request_body AS body, event_key AS eventKey FROM webhook_deliveries WHERE hook_id = ? AND attempt = 1 ORDER BY id",
    )
    .bind(hookId)
    .all<{ id: number; delivery: string; event: string; body: string; eventKey: string | null }>();
  return results;
}

const form = (fields: Record<string, string>) => ({ content_type: "json", active: "1", ...fields });

beforeAll(async () => {
  forge = await newForge("hookpages");
  owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  expect((await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "site" })).status).toBe(201);
  db = await tenantD1(forge);
}, 60_000);

describe("webhooks pages", () => {
  it("are linked from the admin page and list no hooks at first", async () => {
    expect(await (await owner.get("/p/site/admin")).text()).toContain(`href="${hooksPath}"`);
    const page = await owner.get(hooksPath);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("No hooks yet.");
    expect(html).toContain('name="url"');
  });

  it("refuse a URL the SSRF guard blocks with the reason, keeping what was typed, and save nothing", async () => {
    for (const [url, why] of [
      ["http://127.1:9000/hook", "loopback"],
      ["http://[::ffff:169.254.169.254]/", "link-local"],
      ["http://10.0.0.7/", "private network"],
      ["http://metadata.google.internal/", "local or internal"],
      ["http://user:pw@receiver.test/", "user name or password"],
    ] as const) {
      const res = await owner.post(hooksPath, form({ url, event_push: "1" }));
      expect(res.status, url).toBe(400);
      const html = await res.text();
      expect(html, url).toContain(why);
      expect(html).toContain(`value="${url.replaceAll("&", "&amp;")}"`);
    }
    const none = await owner.post(hooksPath, form({ url: "https://receiver.test/ci" }));
    expect(none.status).toBe(400);
    expect(await none.text()).toContain("Choose at least one event");
    expect(await hookRows()).toEqual([]);
  });

  it("add a hook whose secret is sealed and never shown, then change and delete it", async () => {
    const res = await owner.post(
      hooksPath,
      form({ url: "https://receiver.test/ci", secret: "hunter2-hook-secret", event_push: "1", event_comment: "1" }),
    );
    expect(res.status).toBe(303);
    const [row] = await hookRows();
    expect(res.headers.get("location")).toBe(`${hooksPath}/${row!.id}?ok=created`);
    expect(row).toMatchObject({ url: "https://receiver.test/ci", events: "push comment", active: 1 });
    expect(row!.secret).toMatch(/^v1:/);
    const page = await (await owner.get(`${hooksPath}/${row!.id}`)).text();
    expect(page).not.toContain("hunter2");
    expect(page).toContain("A secret is set");

    // Saved without a secret: the secret stays; unchecked active: inactive.
    expect(
      (await owner.post(`${hooksPath}/${row!.id}`, { url: "https://receiver.test/v2", event_issue: "1", content_type: "form" }))
        .status,
    ).toBe(303);
    const [changed] = await hookRows();
    expect(changed).toMatchObject({ url: "https://receiver.test/v2", events: "issue", active: 0, secret: row!.secret });
    expect((await owner.post(`${hooksPath}/${row!.id}`, form({ url: "http://0x7f.1/", event_issue: "1" }))).status).toBe(400);
    expect((await hookRows())[0]!.url).toBe("https://receiver.test/v2");

    expect((await owner.post(`${hooksPath}/${row!.id}/delete`, {})).status).toBe(303);
    expect(await hookRows()).toEqual([]);
    expect((await owner.get(`${hooksPath}/${row!.id}`)).status).toBe(404);
  });

  it("send a test and redeliver as new deliveries of the same payload", async () => {
    await owner.post(hooksPath, form({ url: "https://receiver.test/ping", secret: "s", event_push: "1" }));
    const hook = (await hookRows()).at(-1)!;
    const test = await owner.post(`${hooksPath}/${hook.id}/test`, {});
    expect(test.status).toBe(303);
    expect(test.headers.get("location")).toBe(`${hooksPath}/${hook.id}?ok=test`);
    const [ping] = await deliveries(hook.id);
    expect(ping).toMatchObject({ event: "ping", eventKey: null });
    expect(JSON.parse(ping!.body)).toMatchObject({
      hook: { id: hook.id, url: "https://receiver.test/ping" },
      sender: { username: "owner" },
    });

    const again = await owner.post(`${hooksPath}/${hook.id}/deliveries/${ping!.id}/redeliver`, {});
    expect(again.status).toBe(303);
    const rows = await deliveries(hook.id);
    expect(rows).toHaveLength(2);
    expect(rows[1]!.body).toBe(ping!.body);
    expect(rows[1]!.delivery).not.toBe(ping!.delivery);
    // A delivery of another hook is not this hook's to redeliver.
    expect((await owner.post(`${hooksPath}/${hook.id}/deliveries/999999/redeliver`, {})).status).toBe(404);
    // GET never sends anything.
    expect((await owner.get(`${hooksPath}/${hook.id}/test`)).status).toBe(404);
  });

  it("show what the receiver answered, escaped", async () => {
    const hook = (await hookRows()).at(-1)!;
    await db
      .prepare(
        "INSERT INTO webhook_deliveries (hook_id, project_id, delivery, event, attempt, state, request_headers, request_body, response_status, response_body, error) SELECT ?, project_id, 'd-1', 'push', 1, 'failed', '{\"x-edgeforge-event\":\"<b>push</b>\"}', '{\"ref\":\"<img src=x onerror=alert(1)>\"}', 500, '<script>alert(1)</script>', NULL FROM webhooks WHERE id = ?",
      )
      .bind(hook.id, hook.id)
      .run();
    const html = await (await owner.get(`${hooksPath}/${hook.id}`)).text();
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("&lt;b&gt;push&lt;/b&gt;");
    expect(html).not.toContain("<script>alert(1)");
    expect(html).toContain("failed: HTTP 500");
  });

  it("are the owners' only, and refuse cross-site posts", async () => {
    const hook = (await hookRows()).at(-1)!;
    const mallory = await registerUser(forge, "mallory");
    for (const path of [hooksPath, `${hooksPath}/${hook.id}`]) {
      const res = await mallory.get(path);
      expect([403, 404], path).toContain(res.status);
      expect(await res.text()).not.toContain("receiver.test/ping");
    }
    expect([403, 404]).toContain(
      (await mallory.post(hooksPath, form({ url: "https://receiver.test/m", event_push: "1" }))).status,
    );
    expect([403, 404]).toContain((await mallory.post(`${hooksPath}/${hook.id}/test`, {})).status);
    const anonymous = new Browser(forge.host);
    expect([302, 303, 404]).toContain((await anonymous.get(hooksPath)).status);
    const crossSite = await owner.post(`${hooksPath}/${hook.id}/delete`, {}, { from: "https://evil.example" });
    expect(crossSite.status).toBe(403);
    expect((await hookRows()).map((h) => h.url)).toEqual(["https://receiver.test/ping"]);
  });
});
