// The project timeline: events recorded as things happen (pushes, issue changes and comments, wiki
// edits, downloads), fanned out to the event handlers, read back newest first, filtered by kind.
import { and, desc, eq, inArray, lt, max } from "drizzle-orm";
import type { TenantDb } from "../db/tenant-db";
import { events } from "../db/schema";
import { eventFanoutOf, sendEvents, unconfirmedEvents } from "./events/fanout";

export type TimelineEvent = typeof events.$inferSelect;

export const EVENT_KINDS = ["push", "issue", "wiki", "download", "review"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** The project area whose readers may see an event of each kind (auth/access.ts areas). */
export const EVENT_AREA = {
  push: "source",
  issue: "issues",
  wiki: "wiki",
  download: "downloads",
  review: "review",
} as const satisfies Record<EventKind, string>;

export const isEventKind = (v: string): v is EventKind => (EVENT_KINDS as readonly string[]).includes(v);

export interface NewEvent {
  projectId: number;
  kind: EventKind;
  actor: string | null;
  title: string;
  payload?: unknown;
  /** Unique identity of the happening: recording it again is a no-op. */
  key?: string;
}

/**
 * Records an event; the one entry point of every happening. When the handle carries a fan-out
 * (services/events/fanout.ts), the new event also goes on the FORGE_EVENTS queue, with any earlier
 * event whose send was lost. A duplicate key is a no-op and fans out nothing. Returns the new
 * event's id, or null for a duplicate.
 */
export async function recordEvent(db: TenantDb, e: NewEvent): Promise<number | null> {
  const fanout = eventFanoutOf(db);
  const insert = db
    .insert(events)
    .values({
      projectId: e.projectId,
      kind: e.kind,
      actor: e.actor,
      title: e.title,
      payload: JSON.stringify(e.payload ?? {}),
      key: e.key ?? null,
      pending: fanout ? 1 : 0,
    })
    .onConflictDoNothing()
    .returning({ id: events.id });
  if (!fanout) return (await insert)[0]?.id ?? null;
  const [inserted, lost] = await db.batch([insert, unconfirmedEvents(db, fanout)]);
  const id = inserted[0]?.id ?? null;
  const ids = [...(id === null ? [] : [id]), ...lost.map((r) => r.id).filter((x) => x !== id)];
  await sendEvents(db, fanout, ids);
  return id;
}

export interface EventQuery {
  /** Only these kinds (the caller passes only kinds the viewer may read); empty: nothing. */
  kinds: readonly EventKind[];
  /** Keyset paging: only events older than this id. */
  before?: number;
  limit: number;
}

export interface EventPage {
  events: TimelineEvent[];
  /** The id to pass as `before` for the next (older) page; null on the last page. */
  older: number | null;
}

/** One page of a project's events, newest first (by id: the order they were recorded). */
export async function listEvents(db: TenantDb, projectId: number, q: EventQuery): Promise<EventPage> {
  if (q.kinds.length === 0) return { events: [], older: null };
  const rows = await db
    .select()
    .from(events)
    .where(
      and(
        eq(events.projectId, projectId),
        inArray(events.kind, [...q.kinds]),
        q.before !== undefined ? lt(events.id, q.before) : undefined,
      ),
    )
    .orderBy(desc(events.id))
    .limit(q.limit + 1);
  const more = rows.length > q.limit;
  const page = more ? rows.slice(0, q.limit) : rows;
  return { events: page, older: more ? page[page.length - 1]!.id : null };
}

/** When each project last had an event of each kind (one grouped query, for the forge's project list). */
export async function lastActivity(
  db: TenantDb,
  projectIds: number[],
): Promise<{ projectId: number; kind: string; at: string | null }[]> {
  if (projectIds.length === 0) return [];
  return db
    .select({ projectId: events.projectId, kind: events.kind, at: max(events.createdAt) })
    .from(events)
    .where(inArray(events.projectId, projectIds))
    .groupBy(events.projectId, events.kind);
}
