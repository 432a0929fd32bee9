// Types of the values the edge worker's middleware puts on every request's context.
import type { Env } from "../env";
import type { RequestMeter } from "../obs/meter";
import type { TenantRecord } from "../storage/directory";
import type { TenantDb } from "../db/tenant-db";

export interface AppVariables {
  meter: RequestMeter;
  tenant: TenantRecord;
  db: TenantDb;
}

export type AppEnv = { Bindings: Env; Variables: AppVariables };
