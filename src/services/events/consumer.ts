// The FORGE_EVENTS consumer (edge worker): loads each message's event in its tenant's database and
// runs every handler on it; a handler that throws retries the message (the queue's retries).
import { eq } from "drizzle-orm";
import type { Env } from "../../env";
import { openTenantDb, tenantD1 } from "../../db/tenant-db";
import { events, projects } from "../../db/schema";
import { readTenantRecord } from "../../storage/directory";
import type { EventMessage } from "./fanout";
import { EVENT_HANDLERS } from "./handlers";
import type { EventHandler } from "./types";

export async function handleEventBatch(
  batch: MessageBatch<EventMessage>,
  env: Env,
  handlers: readonly EventHandler[] = EVENT_HANDLERS,
): Promise<void> {
  for (const message of batch.messages) {
    const { tenantId, eventId } = message.body ?? ({} as EventMessage);
    try {
      await handleEvent(env, message.body, message.attempts, handlers);
      message.ack();
    } catch (err) {
      console.error(
        JSON.stringify({
          level: "error",
          message: `event handlers: ${String((err as Error)?.stack ?? err)}`,
          tenant: tenantId,
          event: eventId,
          attempts: message.attempts,
        }),
      );
      message.retry();
    }
  }
}

async function handleEvent(env: Env, m: EventMessage, attempt: number, handlers: readonly EventHandler[]): Promise<void> {
  const tenant = await readTenantRecord(env.DIRECTORY, m.tenantId);
  const d1 = tenant ? tenantD1(env, tenant) : null;
  if (!tenant || !d1 || tenant.status === "deleting") return; // the tenant is gone: nobody to tell
  // No fan-out on this handle: what a handler records is not an event of its own.
  const db = openTenantDb(d1);
  const event = await db.query.events.findFirst({ where: eq(events.id, m.eventId) });
  if (!event) return; // its project was deleted since
  const project = await db.query.projects.findFirst({ where: eq(projects.id, event.projectId) });
  if (!project) return;
  const ctx = { env, tenant, db, project, attempt };
  for (const handler of handlers) await handler(ctx, event);
}
