// What the platform admin does inside a tenant's forge: create a project, mint a user's token,
// find a project's repository (for imports); what changes a forge goes in the platform's audit log.
import type { Env } from "../env";
import { auditLog } from "../db/control-schema";
import { openTenantDb, tenantD1, type TenantDb } from "../db/tenant-db";
import type { TokenScope } from "../auth/tokens";
import type { TenantRecord } from "../storage/directory";
import { ForgeError } from "../utils/errors";
import { createProject, getProject, type Project } from "./projects";
import { getUserByName } from "./users";
import { mintToken, type MintedToken } from "./tokens";
import { audit, control, getTenant } from "./tenants";

/** A tenant's database, for platform operations that act inside it. */
async function tenantDbOf(env: Env, slug: string): Promise<{ tenant: TenantRecord; db: TenantDb }> {
  const tenant = await getTenant(env, slug);
  const d1 = tenantD1(env, tenant);
  if (tenant.status === "provisioning" || !d1) {
    throw new ForgeError("unavailable", `tenant ${slug} is still being set up; try again in a few seconds`);
  }
  return { tenant, db: openTenantDb(d1) };
}

/** The repository of a tenant's project, for platform operations on git data (imports). */
export async function tenantProjectRepo(
  env: Env,
  slug: string,
  projectName: string,
): Promise<{ tenantId: string; repoId: string }> {
  const { tenant, db } = await tenantDbOf(env, slug);
  const project = await getProject(db, projectName);
  return { tenantId: tenant.id, repoId: project.repoId };
}

export async function createTenantProject(
  env: Env,
  slug: string,
  input: { name: string; description?: string; private?: boolean; owner?: string },
  actor: string,
): Promise<Project> {
  const { tenant, db } = await tenantDbOf(env, slug);
  const owner = input.owner ? await getUserByName(db, input.owner) : undefined;
  const project = await createProject(db, { ...input, ownerId: owner?.id });
  await control(env)
    .insert(auditLog)
    .values(audit(actor, "project.create", tenant.id, { name: project.name }));
  return project;
}

export async function mintTenantUserToken(
  env: Env,
  slug: string,
  username: string,
  opts: { scope: TokenScope; name?: string },
  actor: string,
): Promise<MintedToken & { username: string }> {
  const { tenant, db } = await tenantDbOf(env, slug);
  const user = await getUserByName(db, username);
  const minted = await mintToken(db, user, opts.name ?? "minted by platform admin", opts.scope);
  await control(env)
    .insert(auditLog)
    .values(audit(actor, "token.create", tenant.id, { username: user.username, scope: opts.scope }));
  return { ...minted, username: user.username };
}
