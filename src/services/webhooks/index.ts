// Webhooks of a project (issue 15): the hooks (hooks.ts), their payloads (payloads.ts), deliveries
// through the WEBHOOKS queue and the SSRF guard (deliver.ts), and the event fan-out's handler.
import { and, eq, lte } from "drizzle-orm";
import type { Env } from "../../env";
import type { TenantDb } from "../../db/tenant-db";
import { webhooks } from "../../db/webhooks-schema";
import type { TenantRecord } from "../../storage/directory";
import type { TimelineEvent } from "../timeline";
import { enqueueDeliveries } from "./deliver";
import { type HookEvent, toHook } from "./hooks";
import { payloadsOf, pingPayload } from "./payloads";
import type { Project } from "../projects";
import { getHook } from "./hooks";

export * from "./hooks";
export { handleWebhookBatch, redeliver, WEBHOOKS_QUEUE, MAX_ATTEMPTS, backoffSeconds, type WebhookMessage } from "./deliver";
export { sealSecret, openSecret } from "./secret";

export interface EventContext {
  env: Env;
  tenant: TenantRecord;
  db: TenantDb;
}

/**
 * The event fan-out's handler (services/events/handlers.ts): queues one delivery per active hook
 * of the event's project subscribed to it and made by the time the event happened (the fan-out
 * may run later: a hook made in between must not get what came before it). One query when the
 * project has no hooks; idempotent by event id (a message handled twice queues each delivery once).
 */
export async function webhookEventHandler(ctx: EventContext, event: TimelineEvent): Promise<void> {
  const hooks = (
    await ctx.db
      .select()
      .from(webhooks)
      .where(and(eq(webhooks.projectId, event.projectId), eq(webhooks.active, true), lte(webhooks.createdAt, event.createdAt)))
  ).map(toHook);
  if (hooks.length === 0) return;
  const wanted = new Set<HookEvent>(hooks.flatMap((h) => h.events));
  const payloads = await payloadsOf(ctx, event, wanted);
  for (const hook of hooks) {
    const mine = payloads.filter((p) => p.event !== "ping" && hook.events.includes(p.event));
    await enqueueDeliveries(ctx.env, ctx.db, ctx.tenant.id, hook, mine, event.id);
  }
}

/** "Send a test": a ping delivery to one hook (active or not). */
export async function sendTestDelivery(ctx: EventContext, project: Project, hookId: number, sender: string | null) {
  const hook = await getHook(ctx.db, project.id, hookId);
  const [row] = await enqueueDeliveries(ctx.env, ctx.db, ctx.tenant.id, hook, [pingPayload(ctx.tenant, project, hook, sender)]);
  return row!;
}
