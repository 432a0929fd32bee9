// Edge worker entry: every browser, git and admin request enters here.
import { createEdgeHandler } from "./app";

export default createEdgeHandler();
// Tenant databases: one SQLite Durable Object per tenant (TENANT_DB in wrangler.toml).
export { TenantDatabase } from "../db/tenant-store";
