// Repositories of the Gitea-compatible API: the projects a viewer may see, searched by name, and
// each one's count of open issues, in one query per page.
import { and, asc, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import type { TenantDb } from "../../db/tenant-db";
import { issues, projects } from "../../db/schema";
import { visibleWhere, type Project, type Visibility } from "../projects";

/** `%`, `_` and `\` match themselves in a LIKE pattern only when escaped. */
const likeEscape = (s: string) => s.replace(/[\\%_]/g, (ch) => `\\${ch}`);

/**
 * One page of the projects a viewer may see, by name, whose name (or, with `inDescription`, its
 * description) holds `q` (case-insensitive; all when empty), and how many match in all.
 */
export async function searchProjects(
  db: TenantDb,
  visibility: Visibility,
  opts: { q?: string; inDescription?: boolean; private?: boolean; offset: number; limit: number },
): Promise<{ items: Project[]; total: number }> {
  const conditions: (SQL | undefined)[] = [visibleWhere(visibility)];
  if (opts.private !== undefined) conditions.push(eq(projects.private, opts.private));
  const q = opts.q?.trim().toLowerCase();
  if (q) {
    const pattern = `%${likeEscape(q)}%`;
    const byName = sql`lower(${projects.name}) LIKE ${pattern} ESCAPE '\\'`;
    const byDescription = sql`lower(${projects.description}) LIKE ${pattern} ESCAPE '\\'`;
    conditions.push(opts.inDescription ? or(byName, byDescription) : byName);
  }
  const where = and(...conditions);
  const [items, count] = await db.batch([
    db.select().from(projects).where(where).orderBy(asc(projects.name)).limit(opts.limit).offset(opts.offset),
    db.select({ n: sql<number>`count(*)` }).from(projects).where(where),
  ]);
  return { items, total: count[0]?.n ?? 0 };
}

/** Open issues per project, for the projects given (absent: none). */
export async function openIssueCounts(db: TenantDb, projectIds: number[]): Promise<Map<number, number>> {
  if (!projectIds.length) return new Map();
  const rows = await db
    .select({ projectId: issues.projectId, n: sql<number>`count(*)` })
    .from(issues)
    .where(and(inArray(issues.projectId, projectIds), eq(issues.state, "open")))
    .groupBy(issues.projectId);
  return new Map(rows.map((r) => [r.projectId, r.n]));
}
