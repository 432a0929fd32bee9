// The project timeline: events recorded as things happen (pushes, and later issues and wiki edits).
import { desc, eq } from "drizzle-orm";
import type { TenantDb } from "../db/tenant-db";
import { events } from "../db/schema";

export type TimelineEvent = typeof events.$inferSelect;

export interface NewEvent {
  projectId: number;
  kind: "push" | "issue" | "wiki" | "download" | "review";
  actor: string | null;
  title: string;
  payload?: unknown;
  /** Unique identity of the happening: recording it again is a no-op. */
  key?: string;
}

export async function recordEvent(db: TenantDb, e: NewEvent): Promise<void> {
  await db
    .insert(events)
    .values({
      projectId: e.projectId,
      kind: e.kind,
      actor: e.actor,
      title: e.title,
      payload: JSON.stringify(e.payload ?? {}),
      key: e.key ?? null,
    })
    .onConflictDoNothing();
}

export async function listEvents(db: TenantDb, projectId: number, limit = 50): Promise<TimelineEvent[]> {
  return db.select().from(events).where(eq(events.projectId, projectId)).orderBy(desc(events.id)).limit(limit);
}
