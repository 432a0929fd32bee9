// Webhook deliveries: each event's payloads become delivery rows (the log) and messages on the
// WEBHOOKS queue; the edge's consumer POSTs them through the SSRF guard, signed with the hook's
// secret (X-Edgeforge-Signature-256: sha256=<HMAC-SHA256 of the exact body>), logs each attempt,
// and retries failures with exponential backoff up to MAX_ATTEMPTS.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Env } from "../../env";
import { openTenantDb, tenantD1, type TenantDb } from "../../db/tenant-db";
import { webhookDeliveries, webhooks } from "../../db/webhooks-schema";
import { readTenantRecord } from "../../storage/directory";
import { BlockedTarget, guardedFetch, type FetchFn } from "../../utils/ssrf-fetch";
import { hex } from "../../utils/crypto";
import { ForgeError } from "../../utils/errors";
import { openSecret } from "./secret";
import { guardSettings, hookRow, type Delivery } from "./hooks";
import type { HookPayload } from "./payloads";

export const WEBHOOKS_QUEUE = "edgeforge-webhooks";
/** Tries of one delivery at most (the first and four retries). */
export const MAX_ATTEMPTS = 5;
/** Redirects a delivery follows at most, each target checked again. */
export const MAX_REDIRECTS = 3;
/** Bytes of a response body kept in the log. */
export const RESPONSE_BODY_MAX = 4096;
/** How long one attempt may take, redirects included. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** The queue message: which delivery row to send (its first attempt). */
export interface WebhookMessage {
  tenantId: string;
  delivery: number;
}

/** Attempts kept in a hook's log: older ones are deleted as new deliveries are queued. */
export const LOG_KEEP = 500;

/** Seconds before try `attempt + 1` after try `attempt` failed: 30 s, 1 min, 2 min, 4 min (at most 1 h). */
export const backoffSeconds = (attempt: number) => Math.min(30 * 2 ** (attempt - 1), 3600);

/** Writes the delivery rows of `payloads` for `hookId` and queues them. */
export async function enqueueDeliveries(
  env: Env,
  db: TenantDb,
  tenantId: string,
  hook: { id: number; projectId: number },
  payloads: HookPayload[],
  /** The timeline event's id when the fan-out calls: a second call for it queues nothing again. */
  eventId?: number,
): Promise<Delivery[]> {
  if (payloads.length === 0) return [];
  if (!env.WEBHOOKS) throw new ForgeError("unavailable", "Webhook deliveries are not set up on this forge (no WEBHOOKS queue).");
  const rows = await db
    .insert(webhookDeliveries)
    .values(
      payloads.map((p, i) => ({
        hookId: hook.id,
        projectId: hook.projectId,
        delivery: crypto.randomUUID(),
        eventKey: eventId === undefined ? null : `${eventId}:${i}`,
        event: p.event,
        requestBody: JSON.stringify(p.body),
      })),
    )
    .onConflictDoNothing()
    .returning();
  // The event handled again (its message retried): its deliveries still pending go again, with
  // the same delivery id, in case the first send was lost; the consumer skips any already tried.
  const toSend =
    eventId === undefined
      ? rows
      : await db
          .select()
          .from(webhookDeliveries)
          .where(
            and(
              eq(webhookDeliveries.hookId, hook.id),
              inArray(
                webhookDeliveries.eventKey,
                payloads.map((_, i) => `${eventId}:${i}`),
              ),
              eq(webhookDeliveries.state, "pending"),
            ),
          );
  if (toSend.length === 0) return [];
  // The log stays bounded: everything past the newest LOG_KEEP attempts of the hook goes.
  await db.run(
    sql`DELETE FROM webhook_deliveries WHERE hook_id = ${hook.id} AND id < (SELECT id FROM webhook_deliveries WHERE hook_id = ${hook.id} ORDER BY id DESC LIMIT 1 OFFSET ${LOG_KEEP - 1})`,
  );
  await env.WEBHOOKS.sendBatch(toSend.map((r) => ({ body: { tenantId, delivery: r.id } satisfies WebhookMessage })));
  return toSend;
}

/** A new delivery (new UUID) of a logged one's payload: "Redeliver". */
export async function redeliver(env: Env, db: TenantDb, tenantId: string, projectId: number, hookId: number, id: number) {
  const hook = await hookRow(db, projectId, hookId);
  const old = await db.query.webhookDeliveries.findFirst({
    where: and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.hookId, hook.id), eq(webhookDeliveries.projectId, projectId)),
  });
  if (!old) throw new ForgeError("not_found", `This hook has no delivery ${id}.`);
  const [row] = await enqueueDeliveries(env, db, tenantId, hook, [
    { event: old.event as HookPayload["event"], body: JSON.parse(old.requestBody) },
  ]);
  return row!;
}

async function hmacHex(secret: string, body: string, hash: "SHA-256"): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash }, false, ["sign"]);
  return hex(await crypto.subtle.sign("HMAC", key, enc.encode(body)));
}

/** Reads at most `max` bytes of a body as text, then lets the rest go. */
async function bodyStart(res: Response, max: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < max) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => {});
  const all = new Uint8Array(Math.min(size, max));
  let at = 0;
  for (const c of chunks) {
    const part = c.subarray(0, Math.min(c.length, all.length - at));
    all.set(part, at);
    at += part.length;
  }
  return new TextDecoder().decode(all);
}

export interface DeliveryDeps {
  /** The network (tests: a receiver). */
  fetch?: FetchFn;
  /** Milliseconds now (durations). */
  now?: () => number;
  /** How long an attempt may take (default DELIVERY_TIMEOUT_MS). */
  timeoutMs?: number;
}

export type AttemptOutcome = "ok" | "retry" | "failed";

/**
 * One attempt of delivery row `first` (attempt `attempt`): a row of its own after the first,
 * the request built and sent, the outcome logged. "retry": a failure worth another try.
 */
export async function attemptDelivery(
  env: Env,
  db: TenantDb,
  first: Delivery,
  attempt: number,
  deps: DeliveryDeps = {},
): Promise<AttemptOutcome> {
  const now = deps.now ?? Date.now;
  const hook = await db.query.webhooks.findFirst({
    where: and(eq(webhooks.id, first.hookId), eq(webhooks.projectId, first.projectId)),
  });
  if (!hook) return "failed"; // deleted since (its rows went with it)
  // A first attempt already made (its message sent twice): nothing more to do.
  if (attempt === 1 && first.state !== "pending") return "failed";
  let row = first;
  if (attempt > 1) {
    const [again] = await db
      .insert(webhookDeliveries)
      .values({
        hookId: first.hookId,
        projectId: first.projectId,
        delivery: first.delivery,
        event: first.event,
        attempt,
        requestBody: first.requestBody,
      })
      .returning();
    row = again!;
  }
  const json = first.requestBody;
  const body = hook.contentType === "form" ? new URLSearchParams({ payload: json }).toString() : json;
  const headers: Record<string, string> = {
    "content-type": hook.contentType === "form" ? "application/x-www-form-urlencoded" : "application/json",
    "user-agent": "Edgeforge-Hookshot/1",
    "x-edgeforge-event": first.event,
    "x-edgeforge-delivery": first.delivery,
    "x-edgeforge-hook-id": String(hook.id),
    "x-gitea-event": first.event,
    "x-gitea-delivery": first.delivery,
  };
  const started = now();
  if (!hook.active && first.event !== "ping") {
    await db
      .update(webhookDeliveries)
      .set({ state: "failed", error: "The hook is switched off: nothing was sent." })
      .where(eq(webhookDeliveries.id, row.id));
    return "failed";
  }
  const log = (fields: Partial<typeof webhookDeliveries.$inferInsert>) =>
    db
      .update(webhookDeliveries)
      .set({ requestHeaders: JSON.stringify(headers), durationMs: Math.max(0, Math.round(now() - started)), ...fields })
      .where(eq(webhookDeliveries.id, row.id));
  try {
    const secret = await openSecret(env, hook.secret);
    if (secret) {
      const signature = await hmacHex(secret, body, "SHA-256");
      headers["x-edgeforge-signature-256"] = `sha256=${signature}`;
      // Gitea's header carries the same HMAC-SHA256, without the prefix.
      headers["x-gitea-signature"] = signature;
    }
  } catch (err) {
    await log({ state: "failed", error: (err as Error).message });
    return "failed";
  }
  const timeoutMs = deps.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const { response } = await guardedFetch(
      hook.url,
      { method: "POST", headers, body },
      { ...guardSettings(env), fetch: deps.fetch ?? ((input, init) => fetch(input, init)), maxRedirects: MAX_REDIRECTS, signal },
    );
    const text = await bodyStart(response, RESPONSE_BODY_MAX);
    const ok = response.status >= 200 && response.status < 300;
    await log({ state: ok ? "ok" : "failed", responseStatus: response.status, responseBody: text });
    if (ok) return "ok";
    // The receiver refused it (4xx other than 408/429): the same request would be refused again.
    const permanent = response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
    return permanent ? "failed" : "retry";
  } catch (err) {
    if (err instanceof BlockedTarget) {
      await log({ state: "failed", error: `Refused: ${err.message}` });
      return "failed";
    }
    const timedOut = signal.aborted;
    await log({
      state: "failed",
      error: timedOut ? `No answer within ${timeoutMs / 1000} s.` : `Could not reach the receiver: ${(err as Error).message}`,
    });
    return "retry";
  }
}

/** The WEBHOOKS queue's consumer: one attempt per message; retried with backoff while attempts remain. */
export async function handleWebhookBatch(batch: MessageBatch<WebhookMessage>, env: Env, deps: DeliveryDeps = {}): Promise<void> {
  for (const message of batch.messages) {
    const attempt = Math.max(1, message.attempts);
    try {
      const { tenantId, delivery } = message.body;
      const tenant = await readTenantRecord(env.DIRECTORY, tenantId);
      const d1 = tenant ? tenantD1(env, tenant) : null;
      if (!tenant || !d1) {
        message.ack(); // the tenant is gone
        continue;
      }
      const db = openTenantDb(d1);
      const first = await db.query.webhookDeliveries.findFirst({ where: eq(webhookDeliveries.id, delivery) });
      const outcome = first ? await attemptDelivery(env, db, first, attempt, deps) : "failed";
      if (outcome === "retry" && attempt < MAX_ATTEMPTS) message.retry({ delaySeconds: backoffSeconds(attempt) });
      else message.ack();
    } catch (err) {
      console.error(
        JSON.stringify({ level: "error", message: `webhooks: ${String((err as Error)?.stack ?? err)}`, attempts: attempt }),
      );
      if (attempt < MAX_ATTEMPTS) message.retry({ delaySeconds: backoffSeconds(attempt) });
      else message.ack();
    }
  }
}
