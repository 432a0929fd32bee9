// The shape of an event handler (handlers.ts lists them), apart so handlers can import it.
import type { Env } from "../../env";
import type { TenantDb } from "../../db/tenant-db";
import type { TenantRecord } from "../../storage/directory";
import type { Project } from "../projects";
import type { TimelineEvent } from "../timeline";

export interface EventContext {
  env: Env;
  tenant: TenantRecord;
  db: TenantDb;
  /** The event's project. */
  project: Project;
  /** Which delivery of the message this is (1 the first time), as the queue counts. */
  attempt: number;
}

export type EventHandler = (ctx: EventContext, event: TimelineEvent) => Promise<void>;
