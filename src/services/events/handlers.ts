// What runs for every event the FORGE_EVENTS queue delivers: one handler per consumer of events
// (mail notifications; webhooks). Each must be idempotent by event id: a message can arrive twice,
// and a handler that fails makes the queue deliver the message again to every handler.
import type { EventHandler } from "./types";
import { sendNotifications } from "../notifications";
import { webhookEventHandler } from "../webhooks";

export type { EventContext, EventHandler } from "./types";

/** Run in this order for each event; a throw retries the whole message. */
export const EVENT_HANDLERS: readonly EventHandler[] = [
  // Mail to the people who follow the project, the issue or the page (services/notifications/).
  sendNotifications,
  // Signed POSTs to the project's webhooks, through their own queue (services/webhooks/).
  webhookEventHandler,
];
