// Event fan-out: each event recordEvent stores is handed to the FORGE_EVENTS queue as one small
// message {tenant id, event id}, whose consumer (consumer.ts) runs the handlers (handlers.ts).
import { and, eq, inArray, lt } from "drizzle-orm";
import type { TenantDb } from "../../db/tenant-db";
import { events } from "../../db/schema";

export const EVENTS_QUEUE = "edgeforge-events";

/** The queue message: the handlers load everything else from the tenant's database. */
export interface EventMessage {
  tenantId: string;
  eventId: number;
}

/** What recordEvent needs to enqueue, carried by the database handle of a request or a consumer. */
export interface EventFanout {
  tenantId: string;
  /** FORGE_EVENTS; undefined: no fan-out here (events are only recorded). */
  queue: Queue<EventMessage> | undefined;
  /** The request's waitUntil: the send then runs after the response. Without it, the send is awaited. */
  waitUntil?: (work: Promise<unknown>) => void;
  /** Milliseconds since the epoch (tests pass a clock). */
  now?: () => number;
}

/** A send not confirmed after this long is sent again by the tenant's next recordEvent. */
export const RESEND_AFTER_MS = 60_000;
/** Unconfirmed events one recordEvent sends again, at most (oldest first). */
export const RESEND_BATCH = 20;

// Keyed by the handle itself: a handle belongs to one tenant, and a fan-out dies with it.
const fanouts = new WeakMap<object, EventFanout>();

/** Makes recordEvent on `db` fan its events out (tenant-app for requests, post-push for its consumer). */
export function withEventFanout(db: TenantDb, fanout: EventFanout): TenantDb {
  fanouts.set(db, fanout);
  return db;
}

/** The fan-out of a handle, when it has one with a queue. */
export function eventFanoutOf(db: TenantDb): (EventFanout & { queue: Queue<EventMessage> }) | null {
  const f = fanouts.get(db);
  return f?.queue ? (f as EventFanout & { queue: Queue<EventMessage> }) : null;
}

/** Events whose send is older than RESEND_AFTER_MS and still unconfirmed (a lost or failed send). */
export function unconfirmedEvents(db: TenantDb, fanout: EventFanout) {
  const cutoff = new Date((fanout.now ?? Date.now)() - RESEND_AFTER_MS).toISOString();
  return db
    .select({ id: events.id })
    .from(events)
    .where(and(eq(events.pending, 1), lt(events.createdAt, cutoff)))
    .orderBy(events.id)
    .limit(RESEND_BATCH);
}

/**
 * Sends one message per event, then marks them sent. Never throws: a failed send leaves them
 * pending, and the tenant's next recordEvent sends them again (at least once; the handlers are
 * idempotent by event id, so a message that arrives twice does nothing the second time).
 */
export async function sendEvents(db: TenantDb, fanout: EventFanout & { queue: Queue<EventMessage> }, ids: number[]) {
  if (!ids.length) return;
  const job = (async () => {
    try {
      await fanout.queue.sendBatch(ids.map((eventId) => ({ body: { tenantId: fanout.tenantId, eventId } })));
      await db.update(events).set({ pending: 0 }).where(inArray(events.id, ids));
    } catch (err) {
      console.error(
        JSON.stringify({
          level: "error",
          tenant: fanout.tenantId,
          message: `event fan-out: events ${ids.join(", ")} not queued yet, sent again later: ${String(err)}`,
        }),
      );
    }
  })();
  if (fanout.waitUntil) fanout.waitUntil(job);
  else await job;
}
