// Project members and authorized users, per-area access levels, and the Viewer a request acts as.
import { and, asc, eq, sql, type SQL } from "drizzle-orm";
import type { TenantDb } from "../db/tenant-db";
import { projectMembers, projects, revokedSessions, users } from "../db/schema";
import type { AccessLevel, LeveledArea, ProjectRole, Viewer } from "../auth/access";
import type { TokenScope } from "../auth/tokens";
import { badRequest, notFound } from "../utils/errors";
import { forgetProject, type Project } from "./projects";
import type { User } from "./users";

export const PROJECT_ROLES: readonly ProjectRole[] = ["owner", "member", "authorized"];

/**
 * A user's roles in every project. The user may be named by a subquery, so that this query can
 * go in one batch with the one that finds the user (a session or a token): one round trip.
 */
export const rolesQuery = (db: TenantDb, userId: number | SQL) =>
  db
    .select({ projectId: projectMembers.projectId, role: projectMembers.role })
    .from(projectMembers)
    .where(eq(projectMembers.userId, userId as number));

/** The Viewer of `user` with the rows of rolesQuery. */
export function viewerOf(user: User | null, rows: { projectId: number; role: string }[], scope: TokenScope): Viewer {
  if (!user?.isActive) return { user: null, roles: new Map(), scope: "read" };
  return {
    user: { id: user.id, username: user.username, isAdmin: user.isAdmin },
    roles: new Map(rows.map((r) => [r.projectId, r.role as ProjectRole])),
    scope,
  };
}

/**
 * A session's user, whether that session was signed out, and the Viewer it acts as, in one batch:
 * a signed-in page waits for one round trip. `sessionId` null (a cookie from before session ids):
 * never revoked.
 */
export async function findSessionViewer(
  db: TenantDb,
  userId: number,
  sessionId: string | null,
): Promise<{ user: User; revoked: boolean; viewer: Viewer } | undefined> {
  // Named: rows of a batch are mapped by column name.
  const revoked = (
    sessionId === null
      ? sql<number>`0`
      : sql<number>`EXISTS (SELECT 1 FROM ${revokedSessions} WHERE ${revokedSessions.id} = ${sessionId})`
  ).as("session_revoked");
  const [[row], roles] = await db.batch([
    db.select({ user: users, revoked }).from(users).where(eq(users.id, userId)).limit(1),
    rolesQuery(db, userId),
  ]);
  return row && { user: row.user, revoked: !!row.revoked, viewer: viewerOf(row.user, roles, "write") };
}

/** The viewer of a signed-in user (or of a token's user): their roles in every project, one query. */
export async function loadViewer(db: TenantDb, user: User | null, scope: TokenScope): Promise<Viewer> {
  if (!user?.isActive) return viewerOf(null, [], scope);
  return viewerOf(user, await rolesQuery(db, user.id), scope);
}

export interface MemberRow {
  userId: number;
  username: string;
  displayName: string | null;
  role: ProjectRole;
}

export async function listMembers(db: TenantDb, projectId: number): Promise<MemberRow[]> {
  const rows = await db
    .select({ userId: users.id, username: users.username, displayName: users.displayName, role: projectMembers.role })
    .from(projectMembers)
    .innerJoin(users, eq(users.id, projectMembers.userId))
    .where(eq(projectMembers.projectId, projectId))
    .orderBy(asc(projectMembers.role), asc(users.usernameKey));
  return rows.map((r) => ({ ...r, role: r.role as ProjectRole }));
}

export async function setMember(db: TenantDb, projectId: number, userId: number, role: ProjectRole): Promise<void> {
  if (!PROJECT_ROLES.includes(role)) throw badRequest(`role must be one of ${PROJECT_ROLES.join(", ")}`);
  await db
    .insert(projectMembers)
    .values({ projectId, userId, role })
    .onConflictDoUpdate({ target: [projectMembers.projectId, projectMembers.userId], set: { role } });
}

/** Removes someone from a project; the last owner stays (a project always has someone to run it). */
export async function removeMember(db: TenantDb, projectId: number, userId: number): Promise<void> {
  const members = await listMembers(db, projectId);
  const target = members.find((m) => m.userId === userId);
  if (!target) throw notFound("member");
  if (target.role === "owner" && members.filter((m) => m.role === "owner").length === 1) {
    throw badRequest("a project keeps at least one owner: add another owner first");
  }
  await db.delete(projectMembers).where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId)));
}

export interface ProjectSettingsPatch {
  description?: string;
  private?: boolean;
  /** Branch names that refuse deletion and non-fast-forward pushes. */
  protectedBranches?: string[];
  /** Reviews merge into a protected branch only once approved (services/reviews/merge.ts). */
  protectedNeedApproval?: boolean;
  access?: Partial<Record<LeveledArea, AccessLevel>>;
}

/** Changes a project's settings; `tenantId` names the forge whose cached lookups it drops. */
export async function updateProjectSettings(
  db: TenantDb,
  tenantId: string,
  project: Project,
  patch: ProjectSettingsPatch,
): Promise<Project> {
  const a = patch.access ?? {};
  const [row] = await db
    .update(projects)
    .set({
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.private !== undefined ? { private: patch.private } : {}),
      ...(patch.protectedBranches !== undefined ? { protectedBranches: JSON.stringify(patch.protectedBranches) } : {}),
      ...(patch.protectedNeedApproval !== undefined ? { protectedNeedApproval: patch.protectedNeedApproval } : {}),
      ...(a.source ? { accessSource: a.source } : {}),
      ...(a.issues ? { accessIssues: a.issues } : {}),
      ...(a.wiki ? { accessWiki: a.wiki } : {}),
      ...(a.downloads ? { accessDownloads: a.downloads } : {}),
      ...(a.review ? { accessReview: a.review } : {}),
      updatedAt: new Date().toISOString(),
    })
    .where(eq(projects.id, project.id))
    .returning();
  forgetProject(tenantId, project.name);
  return row!;
}
