// The webhooks REST API in workerd: owners manage hooks (the secret write-only, URLs through the
// SSRF guard), read the delivery log, send tests and redeliver; everyone else is refused; the
// OpenAPI document describes the routes and the payloads.
import { beforeAll, describe, expect, it } from "vitest";
import { apiCall, newForge, registerUser, type Forge } from "./browser";

let forge: Forge;
let userToken: string;

const hooks = (project = "api") => `/api/v1/projects/${project}/hooks`;
/** As the owner, or as `token` (null: anonymous). */
const call = (method: string, path: string, body?: unknown, token: string | null = forge.ownerToken) =>
  apiCall(forge.host, method, path, token ?? undefined, body);

async function json<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

interface HookJson {
  id: number;
  url: string;
  events: string[];
  content_type: string;
  active: boolean;
  has_secret: boolean;
  url_api: string;
}

beforeAll(async () => {
  forge = await newForge("hookapi");
  await json(await call("POST", "/api/v1/projects", { name: "api" }), 201);
  await json(await call("POST", "/api/v1/projects", { name: "hidden", private: true }), 201);
  const user = await registerUser(forge, "casey");
  // A token of a signed-in user who is not the project's owner (made through the API, as a page would).
  const made = await user.fetch("/api/v1/user/tokens", {
    method: "POST",
    headers: { "content-type": "application/json", origin: user.origin, "sec-fetch-site": "same-origin" },
    body: JSON.stringify({ name: "t", scope: "write" }),
  });
  userToken = (await json<{ token: string }>(made, 201)).token;
}, 60_000);

describe("webhooks API", () => {
  it("creates, reads, changes and deletes a hook; the secret is never returned", async () => {
    const created = await call("POST", hooks(), {
      url: "https://receiver.test/ci",
      secret: "api-secret-value",
      events: ["push", "issue"],
    });
    const hook = await json<HookJson>(created, 201);
    expect(hook).toMatchObject({ events: ["push", "issue"], content_type: "json", active: true, has_secret: true });
    expect(created.headers.get("location")).toBe(hook.url_api);
    expect(JSON.stringify(hook)).not.toContain("api-secret-value");

    expect(await json<HookJson[]>(await call("GET", hooks()), 200)).toHaveLength(1);
    const changed = await json<HookJson>(
      await call("PATCH", `${hooks()}/${hook.id}`, { active: false, secret: "", content_type: "form" }),
      200,
    );
    expect(changed).toMatchObject({
      url: "https://receiver.test/ci",
      events: ["push", "issue"],
      active: false,
      has_secret: false,
    });
    expect((await call("DELETE", `${hooks()}/${hook.id}`)).status).toBe(204);
    expect((await call("GET", `${hooks()}/${hook.id}`)).status).toBe(404);
  });

  it("refuses blocked URLs with 400 and the reason", async () => {
    for (const url of ["http://2130706433/", "http://[fd00:ec2::254]/", "http://100.64.1.1/", "http://[64:ff9b::a9fe:a9fe]/"]) {
      const err = await json<{ error: { code: string; message: string } }>(
        await call("POST", hooks(), { url, events: ["push"] }),
        400,
      );
      expect(err.error.code, url).toBe("bad_request");
      expect(err.error.message, url).toMatch(/public addresses only/);
    }
    await json(await call("POST", hooks(), { url: "https://receiver.test/", events: ["nope"] }), 400);
    expect(await json<HookJson[]>(await call("GET", hooks()), 200)).toEqual([]);
  });

  it("sends a test, lists and shows deliveries, and redelivers", async () => {
    const hook = await json<HookJson>(await call("POST", hooks(), { url: "https://receiver.test/api", events: ["issue"] }), 201);
    const test = await json<{ id: number; delivery: string; event: string }>(
      await call("POST", `${hooks()}/${hook.id}/tests`),
      202,
    );
    expect(test.event).toBe("ping");
    const detail = await json<{ request_body: string; event: string }>(
      await call("GET", `${hooks()}/${hook.id}/deliveries/${test.id}`),
      200,
    );
    expect(JSON.parse(detail.request_body)).toMatchObject({ hook: { id: hook.id }, project: { name: "api" } });
    const again = await json<{ id: number; delivery: string }>(
      await call("POST", `${hooks()}/${hook.id}/deliveries/${test.id}/redeliver`),
      202,
    );
    expect(again.delivery).not.toBe(test.delivery);
    const list = await json<{ id: number }[]>(await call("GET", `${hooks()}/${hook.id}/deliveries?limit=10`), 200);
    expect(list.map((d) => d.id).filter((id) => id === test.id || id === again.id)).toEqual([again.id, test.id]);
    expect((await call("GET", `${hooks()}/${hook.id}/deliveries/999999`)).status).toBe(404);
  });

  it("answers only owners: anonymous 401, others 403, hidden projects 404", async () => {
    expect((await call("GET", hooks(), undefined, null)).status).toBe(401);
    expect((await call("GET", hooks(), undefined, userToken)).status).toBe(403);
    expect((await call("POST", hooks(), { url: "https://receiver.test/x", events: ["push"] }, userToken)).status).toBe(403);
    expect((await call("GET", hooks("hidden"), undefined, userToken)).status).toBe(404);
    expect((await call("GET", hooks("missing"))).status).toBe(404);
  });

  it("describes the routes and the payloads in the OpenAPI document", async () => {
    const doc = await json<{ paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } }>(
      await call("GET", "/api/v1/openapi.json", undefined, null),
      200,
    );
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/projects/{project}/hooks",
        "/api/v1/projects/{project}/hooks/{id}",
        "/api/v1/projects/{project}/hooks/{id}/tests",
        "/api/v1/projects/{project}/hooks/{id}/deliveries/{delivery}/redeliver",
      ]),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        "Hook",
        "WebhookPushEvent",
        "WebhookIssueEvent",
        "WebhookCommentEvent",
        "WebhookAreaEvent",
        "WebhookPingEvent",
      ]),
    );
  });
});
