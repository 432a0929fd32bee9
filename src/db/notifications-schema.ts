// Drizzle schema of watching and mail notifications in a tenant's database: what users watch
// besides issues (issue_stars), their mail preferences, and projects' notification addresses.
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { now, projects, users } from "./schema";

/** Projects and wiki pages a user watches (issues: issue_stars); `target_id` 0 for a project. */
export const watches = sqliteTable(
  "watches",
  {
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** project | wiki */
    kind: text("kind").notNull(),
    /** The wiki page's id; 0 for the project itself. */
    targetId: integer("target_id").notNull().default(0),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.projectId, t.kind, t.targetId] }),
    index("watches_target").on(t.projectId, t.kind, t.targetId),
  ],
);

/** A user's mail preferences; no row: every kind on. */
export const notificationPrefs = sqliteTable("notification_prefs", {
  userId: integer("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  /** false: no notification mail at all (account mail still comes). */
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  /** Kinds of events the user hears of: issue, push, wiki, download. */
  issue: integer("issue", { mode: "boolean" }).notNull().default(true),
  push: integer("push", { mode: "boolean" }).notNull().default(true),
  wiki: integer("wiki", { mode: "boolean" }).notNull().default(true),
  download: integer("download", { mode: "boolean" }).notNull().default(true),
  updatedAt: text("updated_at").notNull().default(now),
});

/** Addresses the project's owners want told of an area's events (a mailing list...). */
export const projectNotifyAddresses = sqliteTable(
  "project_notify_addresses",
  {
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** The event kind: issue | push | wiki | download. */
    kind: text("kind").notNull(),
    address: text("address").notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.kind, t.address] })],
);
