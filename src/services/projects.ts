// Projects of a forge: creation, listing, lookup by URL name.
import { asc, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import type { TenantDb } from "../db/tenant-db";
import { projectMembers, projects, users } from "../db/schema";
import { randomId } from "../utils/crypto";
import { conflict, notFound } from "../utils/errors";
import { TtlCache } from "../utils/lru";

export type Project = typeof projects.$inferSelect;

/** Project names appear in URLs (/p/<name>/, /<name>.git): lowercase letters, digits, '.', '-', '_'. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface NewProject {
  name: string;
  description?: string;
  private?: boolean;
  ownerId?: number;
}

export async function createProject(db: TenantDb, input: NewProject): Promise<Project> {
  if (input.name.endsWith(".git")) throw conflict("project names cannot end in .git");
  const [row] = await db
    .insert(projects)
    .values({
      name: input.name,
      description: input.description ?? "",
      private: input.private ?? false,
      repoId: randomId(16),
    })
    .onConflictDoNothing()
    .returning();
  if (!row) throw conflict(`project ${input.name} already exists`);
  if (input.ownerId !== undefined) {
    await db.insert(projectMembers).values({ projectId: row.id, userId: input.ownerId, role: "owner" });
  }
  return row;
}

export async function findProject(db: TenantDb, name: string): Promise<Project | undefined> {
  return db.query.projects.findFirst({ where: eq(projects.name, name) });
}

/**
 * Project lookups for read-only pages (source browser, project home), cached per isolate for a
 * few seconds so that a busy page costs no database query: the same bounded staleness as tenant
 * routing. Changes made through this isolate drop the entry at once (forgetProject); on other
 * isolates a change of visibility or access levels takes effect within PROJECT_CACHE_MS.
 * Anything that writes, or decides on a write, reads the database (findProject).
 */
export const PROJECT_CACHE_MS = 5_000;
const projectCache = new TtlCache<string, Project | undefined>(PROJECT_CACHE_MS, 2_000);

export function findProjectForView(db: TenantDb, tenantId: string, name: string): Promise<Project | undefined> {
  return projectCache.get(`${tenantId}/${name}`, () => findProject(db, name));
}

export function forgetProject(tenantId: string, name: string): void {
  projectCache.delete(`${tenantId}/${name}`);
}

export async function getProject(db: TenantDb, name: string): Promise<Project> {
  const project = await findProject(db, name);
  if (!project) throw notFound(`project ${name}`);
  return project;
}

export async function listProjects(
  db: TenantDb,
  opts: { includePrivate: boolean; offset?: number; limit?: number },
): Promise<Project[]> {
  return db.query.projects.findMany({
    where: opts.includePrivate ? undefined : eq(projects.private, false),
    orderBy: asc(projects.name),
    offset: opts.offset ?? 0,
    limit: opts.limit ?? 100,
  });
}

/** Which projects a viewer may see (auth/access.ts projectVisibility): all, or public plus some private ones. */
export interface Visibility {
  all: boolean;
  privateIds: number[];
}

/** The projects a viewer may see, as a WHERE condition (undefined: all). */
export function visibleWhere(v: Visibility): SQL | undefined {
  if (v.all) return undefined;
  const open = eq(projects.private, false);
  return v.privateIds.length ? or(open, inArray(projects.id, v.privateIds)) : open;
}

/**
 * The projects a session's user may see, before the session is checked (so that the list is read
 * beside the check, not after it): public ones, those they belong to, all for an admin. Null: public
 * ones. Only valid once the check confirms the user (routes/web/home.tsx redoes it otherwise).
 */
export function claimedVisibility(userId: number | null): SQL {
  const open = eq(projects.private, false);
  if (userId === null) return open;
  return or(
    open,
    sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${userId} AND ${users.isAdmin} = 1 AND ${users.isActive} = 1)`,
    inArray(
      projects.id,
      sql`(SELECT ${projectMembers.projectId} FROM ${projectMembers} WHERE ${projectMembers.userId} = ${userId})`,
    ),
  )!;
}

/** The first `limit` projects by name under `where` (visibleWhere or claimedVisibility), as a query to batch. */
export const projectListQuery = (db: TenantDb, where: SQL | undefined, limit: number) =>
  db.select().from(projects).where(where).orderBy(asc(projects.name)).limit(limit);

/** Their ids, as a subquery of another query of the same batch. */
export const projectIdsQuery = (db: TenantDb, where: SQL | undefined, limit: number) =>
  db.select({ id: projects.id }).from(projects).where(where).orderBy(asc(projects.name)).limit(limit);

/** One page of the projects a viewer may see, by name, and how many there are in all. */
export async function listVisibleProjects(
  db: TenantDb,
  visibility: Visibility,
  opts: { offset?: number; limit?: number } = {},
): Promise<{ items: Project[]; total: number }> {
  const where = visibleWhere(visibility);
  const [items, [count]] = await Promise.all([
    db.query.projects.findMany({ where, orderBy: asc(projects.name), offset: opts.offset ?? 0, limit: opts.limit ?? 100 }),
    db.select({ n: sql<number>`count(*)` }).from(projects).where(where),
  ]);
  return { items, total: count?.n ?? 0 };
}

export async function listAllRepoIds(db: TenantDb): Promise<string[]> {
  const rows = await db.select({ repoId: projects.repoId }).from(projects);
  return rows.map((r) => r.repoId);
}

/** Full ref names (refs/heads/...) of a project's protected branches. */
export function protectedRefs(project: Project): string[] {
  try {
    const names = JSON.parse(project.protectedBranches) as unknown;
    return Array.isArray(names) ? names.filter((n): n is string => typeof n === "string").map((n) => `refs/heads/${n}`) : [];
  } catch {
    return [];
  }
}
