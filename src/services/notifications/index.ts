// Mail notifications of events: who hears of what, and the message they get.
import type { EventHandler } from "../events/types";

/** The FORGE_EVENTS handler that mails an event's recipients (filled in next). */
export const sendNotifications: EventHandler = async () => {};
