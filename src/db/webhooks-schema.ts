// Drizzle schema of a project's webhooks in the tenant's database (beside schema.ts, which would
// pass 400 lines): the hooks, and one row per delivery attempt (the log shown on a hook's page).
import { sql } from "drizzle-orm";
import { integer, sqliteTable, text, index, uniqueIndex } from "drizzle-orm/sqlite-core";
import { projects } from "./schema";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/** A project's webhooks (services/webhooks/hooks.ts). */
export const webhooks = sqliteTable(
  "webhooks",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** Where deliveries are POSTed; checked by the SSRF guard when saved and at each delivery. */
    url: text("url").notNull(),
    /**
     * The signing secret, encrypted with a key derived from the platform secret (services/webhooks/
     * secret.ts: `v1:<iv>:<ciphertext>`), or `plain:<secret>` where the platform has none; "" for none.
     * Never shown back.
     */
    secret: text("secret").notNull().default(""),
    /** Events it receives, separated by spaces: push issue comment wiki download review. */
    events: text("events").notNull(),
    /** json (application/json) | form (application/x-www-form-urlencoded, payload=<json>). */
    contentType: text("content_type").notNull().default("json"),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [index("webhooks_project").on(t.projectId)],
);

/** One attempt to deliver an event to a hook: what was sent and what came back. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    hookId: integer("hook_id")
      .notNull()
      .references(() => webhooks.id, { onDelete: "cascade" }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** X-Edgeforge-Delivery: a UUID shared by the attempts of one delivery; a redelivery has a new one. */
    delivery: text("delivery").notNull(),
    /**
     * `<event id>:<n>`: the timeline event and which of its payloads, on first attempts made by the
     * event fan-out; unique per hook, so an event handled twice queues nothing twice. Null otherwise.
     */
    eventKey: text("event_key"),
    /** X-Edgeforge-Event: push, issue, comment, wiki, download, review or ping. */
    event: text("event").notNull(),
    /** 1 for the first try; the queue's count after that. */
    attempt: integer("attempt").notNull().default(1),
    /** pending | ok | failed */
    state: text("state").notNull().default("pending"),
    /** JSON object of the request headers sent (filled in when sent). */
    requestHeaders: text("request_headers").notNull().default("{}"),
    /** The JSON payload (the body sent, or the form's payload field). */
    requestBody: text("request_body").notNull(),
    responseStatus: integer("response_status"),
    /** The start of the response body (at most 4 KiB, services/webhooks/deliver.ts). */
    responseBody: text("response_body"),
    durationMs: integer("duration_ms"),
    /** Why the attempt failed without a response (refused target, timeout, network), or null. */
    error: text("error"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [
    index("webhook_deliveries_hook").on(t.hookId, t.id),
    index("webhook_deliveries_delivery").on(t.delivery),
    uniqueIndex("webhook_deliveries_event").on(t.hookId, t.eventKey),
  ],
);
