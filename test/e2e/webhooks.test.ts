// Webhooks end to end on the real local forge (the shared one, whose allow-list names 127.0.0.1):
// a push with the real git client and an issue comment made through the API reach a Node HTTP
// receiver through the event fan-out and the webhook queue, each signed with the hook's secret
// (checked here with node:crypto, as a CI would), and the delivery log says so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "../../bin/cli/http";
import { sharedForge, until, type RunningForge, type TestTenant } from "./runner";
import { git, gitOk, tempDir } from "./git";

let forge: RunningForge;
let tenant: TestTenant;
let receiver: Server;
let receiverUrl: string;
const SECRET = "e2e webhook secret";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}
const received: Received[] = [];

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("hooks");
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) });
      res.end("received");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/ci`;
}, 180_000);

afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
  await forge?.stop();
});

function api(method: string, path: string, body?: unknown) {
  return request(forge.url(tenant.host, path), {
    method,
    headers: { authorization: `token ${tenant.owner.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Whether the body carries the hook secret's signature, checked as a receiver would. */
function signedWithSecret(r: Received): boolean {
  const header = String(r.headers["x-edgeforge-signature-256"] ?? "");
  const expected = Buffer.from(`sha256=${createHmac("sha256", SECRET).update(r.body).digest("hex")}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const eventOf = (r: Received) => String(r.headers["x-edgeforge-event"]);

describe("webhooks", () => {
  it("a real push and an issue comment reach the receiver, signed, and the log shows them delivered", async () => {
    expect((await api("POST", "/api/v1/projects", { name: "hooked" })).status).toBe(201);
    const created = await api("POST", "/api/v1/projects/hooked/hooks", {
      url: receiverUrl,
      secret: SECRET,
      events: ["push", "comment"],
    });
    expect(created.status, created.text()).toBe(201);
    const hook = created.json<{ id: number }>();

    // A push with the real git client.
    const dir = join(tempDir("hooks"), "w");
    await gitOk(["init", "--quiet", "-b", "main", dir]);
    writeFileSync(join(dir, "app.txt"), "v1\n");
    await gitOk(["add", "app.txt"], { cwd: dir });
    await gitOk(["commit", "--quiet", "-m", "First commit"], { cwd: dir });
    writeFileSync(join(dir, "app.txt"), "v2\n");
    await gitOk(["commit", "--quiet", "-am", "Second commit"], { cwd: dir });
    const head = (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim();
    const pushed = await git(
      ["push", `http://${tenant.owner.username}:${tenant.owner.token}@${tenant.host}:${forge.port}/hooked.git`, "main"],
      { cwd: dir },
    );
    expect(pushed.code, pushed.stderr).toBe(0);

    const push = await until("the push delivery", () => received.find((r) => eventOf(r) === "push") ?? null);
    expect(push.path).toBe("/ci");
    expect(push.headers["content-type"]).toBe("application/json");
    expect(String(push.headers["x-edgeforge-delivery"])).toMatch(/^[0-9a-f-]{36}$/);
    expect(signedWithSecret(push)).toBe(true);
    const pushBody = JSON.parse(push.body.toString("utf8"));
    expect(pushBody).toMatchObject({
      ref: "refs/heads/main",
      before: "0".repeat(40),
      after: head,
      created: true,
      project: { name: "hooked" },
      sender: { username: tenant.owner.username },
    });
    expect(pushBody.commits.map((c: { message: string }) => c.message.trim())).toEqual(["Second commit", "First commit"]);

    // An issue comment through the API: the hook takes comments, not issue changes.
    expect((await api("POST", "/api/v1/projects/hooked/issues", { title: "Hooked issue" })).status).toBe(201);
    const comment = await api("POST", "/api/v1/projects/hooked/issues/1/comments", { body: "Seen by the CI" });
    expect(comment.status, comment.text()).toBe(201);
    const commented = await until("the comment delivery", () => received.find((r) => eventOf(r) === "comment") ?? null);
    expect(signedWithSecret(commented)).toBe(true);
    expect(JSON.parse(commented.body.toString("utf8"))).toMatchObject({
      action: "created",
      issue: { number: 1, title: "Hooked issue" },
      comment: { body: "Seen by the CI" },
    });
    expect(received.filter((r) => eventOf(r) === "issue")).toEqual([]);

    // A body signed with another secret would not pass the receiver's check.
    expect(signedWithSecret({ ...commented, body: Buffer.concat([commented.body, Buffer.from(" ")]) })).toBe(false);

    const log = await until("the log", async () => {
      const rows = (await api("GET", `/api/v1/projects/hooked/hooks/${hook.id}/deliveries`)).json<
        { event: string; state: string; response_status: number | null }[]
      >();
      return rows.length >= 2 && rows.every((r) => r.state !== "pending") ? rows : null;
    });
    expect(log.map((r) => [r.event, r.state, r.response_status])).toEqual([
      ["comment", "ok", 200],
      ["push", "ok", 200],
    ]);
  });
});
