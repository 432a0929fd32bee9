// Webhook deliveries in workerd: events of a real tenant (issues made through the API) turned into
// delivery rows and queue messages, then the edge's consumer run on those messages against a test
// receiver (an injected fetch) that verifies the HMAC signature the way a CI would. Retries with
// backoff, redirects to blocked addresses, the save-time guard, sealed secrets.
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { desc, eq, sql } from "drizzle-orm";
import type { Env } from "../../src/env";
import { openTenantDb, type TenantDb } from "../../src/db/tenant-db";
import { events } from "../../src/db/schema";
import { webhookDeliveries, webhooks } from "../../src/db/webhooks-schema";
import { readTenantRecord, type TenantRecord } from "../../src/storage/directory";
import {
  backoffSeconds,
  createHook,
  deleteHook,
  handleWebhookBatch,
  listDeliveries,
  redeliver,
  sendTestDelivery,
  updateHook,
  webhookEventHandler,
  type WebhookMessage,
} from "../../src/services/webhooks";
import { findProject, type Project } from "../../src/services/projects";
import type { FetchFn } from "../../src/utils/ssrf-fetch";
import { enqueueDeliveries, LOG_KEEP } from "../../src/services/webhooks/deliver";
import { ForgeError } from "../../src/utils/errors";
import { createIssue, updateIssue } from "../../src/services/issues";
import { findUserByName } from "../../src/services/users";
import { apiCall, newForge, tenantD1, type Forge } from "./browser";
import { RecordingQueue } from "./recording-queue";

let forge: Forge;
let db: TenantDb;
let tenant: TenantRecord;
let project: Project;
/** Keeps what is sent to the WEBHOOKS queue, for the test to hand to the consumer. */
const queue = new RecordingQueue<WebhookMessage>();
const env = { ...(workerEnv as unknown as Env), WEBHOOKS: queue as unknown as Queue } as Env;

/** What the consumer did with one message. */
interface Handled {
  acked: boolean;
  retryDelay: number | null;
}

/** Runs the consumer on one message as the queue hands it over on try `attempts`. */
async function consume(
  body: WebhookMessage,
  attempts: number,
  fetchFn: FetchFn,
  opts: { env?: Env; timeoutMs?: number } = {},
): Promise<Handled> {
  const out: Handled = { acked: false, retryDelay: null };
  const batch = {
    queue: "edgeforge-webhooks",
    messages: [
      {
        id: "m",
        timestamp: new Date(),
        attempts,
        body,
        ack: () => {
          out.acked = true;
        },
        retry: (o?: { delaySeconds?: number }) => {
          out.retryDelay = o?.delaySeconds ?? 0;
        },
      },
    ],
    ackAll() {},
    retryAll() {},
  } as unknown as MessageBatch<WebhookMessage>;
  await handleWebhookBatch(batch, opts.env ?? env, { fetch: fetchFn, timeoutMs: opts.timeoutMs });
  return out;
}

/** A receiver that checks X-Edgeforge-Signature-256 with the shared secret, as a CI would. */
function verifyingReceiver(secret: string, answers: number[] = [200]) {
  const seen: { url: string; headers: Record<string, string>; body: string; valid: boolean }[] = [];
  const fetchFn: FetchFn = async (url, init) => {
    const headers = init.headers as Record<string, string>;
    const body = String(init.body ?? "");
    const given = headers["x-edgeforge-signature-256"] ?? "";
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ]);
    const mac = Uint8Array.from((given.replace(/^sha256=/, "").match(/../g) ?? []).map((h) => Number.parseInt(h, 16)));
    const valid = given.startsWith("sha256=") && (await crypto.subtle.verify("HMAC", key, mac, new TextEncoder().encode(body)));
    seen.push({ url, headers, body, valid });
    const status = answers[Math.min(seen.length - 1, answers.length - 1)]!;
    return new Response(status === 200 ? "thanks" : "x".repeat(10_000), { status });
  };
  return { seen, fetchFn };
}

async function lastEvent(): Promise<typeof events.$inferSelect> {
  const [row] = await db.select().from(events).where(eq(events.projectId, project.id)).orderBy(desc(events.id)).limit(1);
  return row!;
}

/**
 * An issue opened by the owner through the service on a handle without the event fan-out: the
 * test hands the event to the webhook handler itself (the API's handle would also queue it for
 * the forge's own consumer, which would race with the test's).
 */
async function newIssue(title: string): Promise<number> {
  const issue = await createIssue(db, project, await owner(), { summary: title, description: "Details." });
  return issue.number;
}

async function owner() {
  const u = (await findUserByName(db, "owner"))!;
  return { user: { id: u.id, username: u.username, displayName: u.displayName }, triage: true };
}

const ctx = () => ({ env, tenant, db });

/** A JSON hook of issue events at `url`, and the queue message of its "Send a test" delivery. */
async function testDeliveryTo(url: string) {
  const hook = await createHook(env, db, project.id, { url, events: ["issue"], contentType: "json", active: true });
  const row = await sendTestDelivery(ctx(), project, hook.id, "owner");
  return { hook, message: queue.take().find((m) => m.delivery === row.id)! };
}

beforeAll(async () => {
  forge = await newForge("hooks");
  expect((await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "hooked" })).status).toBe(201);
  db = openTenantDb(await tenantD1(forge));
  tenant = (await readTenantRecord(env.DIRECTORY, forge.id))!;
  project = (await findProject(db, "hooked"))!;
}, 60_000);

describe("webhook deliveries", () => {
  it("go only to hooks made by the time the event happened, however late the fan-out runs", async () => {
    await newIssue("Opened before the hook");
    const opened = await lastEvent();
    const hook = await createHook(env, db, project.id, {
      url: "https://receiver.test/late",
      events: ["issue"],
      contentType: "json",
      active: true,
    });
    queue.take();
    // The fan-out of an event from before the hook existed (as when the queue runs it late).
    await webhookEventHandler(ctx(), { ...opened, createdAt: "2000-01-01T00:00:00.000Z" });
    expect(queue.take()).toEqual([]);
    expect(await listDeliveries(db, project.id, hook.id, { limit: 10 })).toEqual([]);
    // The same event as one that happened once the hook was there is delivered.
    await webhookEventHandler(ctx(), { ...opened, createdAt: hook.createdAt });
    expect(queue.take()).toHaveLength(1);
    await deleteHook(db, project.id, hook.id);
  });

  it("signs the exact body with the hook's secret (JSON and form), and the receiver verifies it", async () => {
    const hook = await createHook(env, db, project.id, {
      url: "https://receiver.test/ci",
      secret: "It's a Secret to Everybody",
      events: ["issue", "comment"],
      contentType: "json",
      active: true,
    });
    // The secret is sealed at rest, and never part of what callers get back.
    const stored = await db.query.webhooks.findFirst({ where: eq(webhooks.id, hook.id) });
    expect(stored!.secret).toMatch(/^v1:/);
    expect(stored!.secret).not.toContain("Everybody");
    expect(JSON.stringify(hook)).not.toContain("Everybody");

    const number = await newIssue("Signed delivery");
    await webhookEventHandler(ctx(), await lastEvent());
    const [message] = queue.take();
    const receiver = verifyingReceiver("It's a Secret to Everybody");
    expect(await consume(message!, 1, receiver.fetchFn)).toEqual({ acked: true, retryDelay: null });
    const got = receiver.seen[0]!;
    expect(got.valid).toBe(true);
    expect(got.url).toBe("https://receiver.test/ci");
    expect(got.headers["x-edgeforge-event"]).toBe("issue");
    expect(got.headers["x-edgeforge-delivery"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(got.headers["content-type"]).toBe("application/json");
    const payload = JSON.parse(got.body);
    expect(payload).toMatchObject({
      action: "opened",
      issue: { number, title: "Signed delivery", state: "open" },
      sender: { username: "owner" },
      project: { name: "hooked" },
    });

    // A wrong secret does not verify.
    const wrong = verifyingReceiver("wrong");
    await redeliver(env, db, tenant.id, project.id, hook.id, message!.delivery);
    await consume(queue.take()[0]!, 1, wrong.fetchFn);
    expect(wrong.seen[0]!.valid).toBe(false);

    // Form content: payload=<json>, and the signature covers the form body as sent.
    await updateHook(env, db, project.id, hook.id, {
      url: hook.url,
      events: hook.events,
      contentType: "form",
      active: true,
    });
    await updateIssue(db, project, number, await owner(), {}, { comment: "A comment for the hook" });
    await webhookEventHandler(ctx(), await lastEvent());
    const [commentMessage] = queue.take();
    const formReceiver = verifyingReceiver("It's a Secret to Everybody");
    await consume(commentMessage!, 1, formReceiver.fetchFn);
    const form = formReceiver.seen[0]!;
    expect(form.valid).toBe(true);
    expect(form.headers["x-edgeforge-event"]).toBe("comment");
    expect(form.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(JSON.parse(new URLSearchParams(form.body).get("payload")!)).toMatchObject({
      action: "created",
      issue: { number },
      comment: { body: "A comment for the hook" },
    });

    const log = await listDeliveries(db, project.id, hook.id, { limit: 10 });
    expect(log.map((d) => [d.event, d.state, d.responseStatus])).toEqual([
      ["comment", "ok", 200],
      ["issue", "ok", 200],
      ["issue", "ok", 200],
    ]);
    expect(JSON.parse(log[0]!.requestHeaders)["x-edgeforge-signature-256"]).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it("retries a failing receiver with exponential backoff: three attempts logged, then delivered", async () => {
    const hook = await createHook(env, db, project.id, {
      url: "https://receiver.test/flaky",
      secret: "flaky",
      events: ["issue"],
      contentType: "json",
      active: true,
    });
    await newIssue("Flaky receiver");
    await webhookEventHandler(ctx(), await lastEvent());
    const mine = queue.take();
    // The other hooks of the project got theirs too; this test follows this hook's.
    const rows = await listDeliveries(db, project.id, hook.id, { limit: 10 });
    const message = mine.find((m) => m.delivery === rows[0]!.id)!;
    const receiver = verifyingReceiver("flaky", [503, 500, 200]);
    expect(await consume(message, 1, receiver.fetchFn)).toEqual({ acked: false, retryDelay: backoffSeconds(1) });
    expect(await consume(message, 2, receiver.fetchFn)).toEqual({ acked: false, retryDelay: backoffSeconds(2) });
    expect(await consume(message, 3, receiver.fetchFn)).toEqual({ acked: true, retryDelay: null });
    expect([backoffSeconds(1), backoffSeconds(2), backoffSeconds(3)]).toEqual([30, 60, 120]);

    const log = await listDeliveries(db, project.id, hook.id, { limit: 10 });
    expect(log.map((d) => [d.attempt, d.state, d.responseStatus])).toEqual([
      [3, "ok", 200],
      [2, "failed", 500],
      [1, "failed", 503],
    ]);
    expect(new Set(log.map((d) => d.delivery)).size).toBe(1);
    expect(receiver.seen.every((s) => s.valid)).toBe(true);
    // The receiver's 10,000-byte error page is kept truncated.
    expect(log[1]!.responseBody!.length).toBe(4096);
    expect(log[1]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("gives up after the last attempt", async () => {
    const hook = await createHook(env, db, project.id, {
      url: "https://receiver.test/down",
      events: ["issue"],
      contentType: "json",
      active: true,
    });
    const [row] = await enqueueDeliveries(env, db, tenant.id, hook, [{ event: "issue", body: { action: "opened" } }]);
    const message = queue.take().find((m) => m.delivery === row!.id)!;
    const down: FetchFn = async () => {
      throw new Error("connection refused");
    };
    expect(await consume(message, 4, down)).toEqual({ acked: false, retryDelay: backoffSeconds(4) });
    expect(await consume(message, 5, down)).toEqual({ acked: true, retryDelay: null });
    const log = await listDeliveries(db, project.id, hook.id, { limit: 10 });
    expect(log[0]).toMatchObject({ attempt: 5, state: "failed", error: "Could not reach the receiver: connection refused" });
  });

  it("refuses a redirect to a blocked address without calling it, and does not retry", async () => {
    const { hook, message } = await testDeliveryTo("https://receiver.test/moved");
    const asked: string[] = [];
    const redirecting: FetchFn = async (url) => {
      asked.push(url);
      return new Response(null, { status: 302, headers: { location: "http://[::ffff:169.254.169.254]/latest/meta-data/" } });
    };
    expect(await consume(message, 1, redirecting)).toEqual({ acked: true, retryDelay: null });
    expect(asked).toEqual(["https://receiver.test/moved"]);
    const [logged] = await listDeliveries(db, project.id, hook.id, { limit: 1 });
    expect(logged).toMatchObject({ event: "ping", state: "failed" });
    expect(logged!.error).toMatch(/^Refused: .*169\.254\.169\.254.*link-local/);
  });

  it("resolves the host again at delivery time and refuses a name that now points at a private address", async () => {
    const { hook, message } = await testDeliveryTo("https://rebind.example/hook");
    const asked: string[] = [];
    const network: FetchFn = async (url) => {
      asked.push(url);
      const u = new URL(url);
      if (u.hostname !== "dns.test") return new Response("should not be called");
      const type = u.searchParams.get("type") === "A" ? 1 : 28;
      return Response.json({ Status: 0, Answer: type === 1 ? [{ type: 1, data: "10.0.0.1" }] : [] });
    };
    const resolving = { ...env, WEBHOOK_DNS_RESOLVER: "https://dns.test/dns-query" } as Env;
    expect(await consume(message, 1, network, { env: resolving })).toEqual({ acked: true, retryDelay: null });
    expect(asked.every((u) => u.startsWith("https://dns.test/"))).toBe(true);
    const [logged] = await listDeliveries(db, project.id, hook.id, { limit: 1 });
    expect(logged!.error).toMatch(/rebind\.example resolves to 10\.0\.0\.1 is a private network address/);
  });

  it("gives up an attempt at its timeout and retries it", async () => {
    const { hook, message } = await testDeliveryTo("https://receiver.test/slow");
    // A receiver that never answers: only the attempt's own timeout ends the request.
    const silent: FetchFn = (_url, init) =>
      new Promise((_resolve, reject) => init.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
    expect(await consume(message, 1, silent, { timeoutMs: 1 })).toEqual({ acked: false, retryDelay: backoffSeconds(1) });
    const [logged] = await listDeliveries(db, project.id, hook.id, { limit: 1 });
    expect(logged).toMatchObject({ state: "failed", error: "No answer within 0.001 s." });
  });

  it("checks the URL when a hook is saved", async () => {
    for (const url of [
      "http://127.0.0.1/",
      "http://[::1]/",
      "http://169.254.169.254/",
      "http://localhost:8080/",
      "ftp://x.test/",
    ]) {
      const err = await createHook(env, db, project.id, { url, events: ["push"], contentType: "json", active: true }).catch(
        (e: unknown) => e,
      );
      expect(err, url).toBeInstanceOf(ForgeError);
      expect((err as ForgeError).status).toBe(400);
    }
    const noEvents = await createHook(env, db, project.id, {
      url: "https://receiver.test/",
      events: [],
      contentType: "json",
      active: true,
    }).catch((e: unknown) => e);
    expect((noEvents as ForgeError).message).toMatch(/at least one event/);
  });

  it("delivers an event once however often the fan-out hands it over, and again if its send was lost", async () => {
    const hook = await createHook(env, db, project.id, {
      url: "https://receiver.test/once",
      events: ["issue"],
      contentType: "json",
      active: true,
    });
    await newIssue("Handled twice");
    const event = await lastEvent();
    // The first run's send is lost (the queue refuses it): the handler throws, the fan-out retries.
    const refusing = {
      ...env,
      WEBHOOKS: { sendBatch: async () => Promise.reject(new Error("queue unavailable")) },
    } as unknown as Env;
    await expect(webhookEventHandler({ env: refusing, tenant, db }, event)).rejects.toThrow(/queue unavailable/);
    await webhookEventHandler(ctx(), event);
    await webhookEventHandler(ctx(), event);
    const rows = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.hookId, hook.id));
    expect(rows.map((r) => r.eventKey)).toEqual([`${event.id}:0`]);
    // Both later runs sent the pending delivery (same id): the receiver gets it once.
    const messages = queue.take().filter((m) => m.delivery === rows[0]!.id);
    expect(messages).toHaveLength(2);
    const seen: string[] = [];
    const receiver: FetchFn = async (url) => {
      seen.push(url);
      return new Response("ok");
    };
    for (const m of messages) expect((await consume(m, 1, receiver)).acked).toBe(true);
    expect(seen).toEqual(["https://receiver.test/once"]);
  });

  it("keeps the newest LOG_KEEP attempts of a hook's log", async () => {
    const hook = await createHook(env, db, project.id, {
      url: "https://receiver.test/busy",
      events: ["push"],
      contentType: "json",
      active: true,
    });
    await db.run(
      sql`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${LOG_KEEP + 10})
          INSERT INTO webhook_deliveries (hook_id, project_id, delivery, event, request_body)
          SELECT ${hook.id}, ${project.id}, 'old-' || i, 'push', '{}' FROM n`,
    );
    const [newest] = await enqueueDeliveries(env, db, tenant.id, hook, [{ event: "push", body: { ref: "refs/heads/main" } }]);
    queue.take();
    const rows = await db
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.hookId, hook.id));
    expect(rows).toHaveLength(LOG_KEEP);
    expect(Math.max(...rows.map((r) => r.id))).toBe(newest!.id);
    expect(rows.some((r) => r.id === newest!.id - LOG_KEEP)).toBe(false);
  });

  it("queues nothing for an inactive hook, nor for events a hook does not take", async () => {
    const hook = await createHook(env, db, project.id, {
      url: "https://receiver.test/off",
      events: ["wiki"],
      contentType: "json",
      active: false,
    });
    await newIssue("No hook wants this");
    await webhookEventHandler(ctx(), await lastEvent());
    const sent = queue.take();
    const rows = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.hookId, hook.id));
    expect(rows).toEqual([]);
    expect(sent.length).toBeGreaterThan(0); // the other hooks' deliveries
  });
});
