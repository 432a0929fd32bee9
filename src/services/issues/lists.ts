// Lists of issues: filtered, sorted and paginated (open, closed, by label, owner or submitter,
// overdue, starred, full-text search), the summary counts, the watch list and feed entries.
import { and, asc, desc, eq, sql, type SQL } from "drizzle-orm";
import { alias, sqliteTable, integer, text } from "drizzle-orm/sqlite-core";
import type { TenantDb } from "../../db/tenant-db";
import { issueComments, issueLabels, issueStars, issues, projects, users } from "../../db/schema";
import { labelKey } from "./config";
import type { Issue } from ".";

/**
 * The FTS5 table of migration 0003, declared here for queries only (drizzle-kit reads schema.ts,
 * which must not declare it: it would try to create it as a plain table).
 */
const issuesFts = sqliteTable("issues_fts", {
  rowid: integer("rowid").notNull(),
  summary: text("summary"),
  description: text("description"),
  comments: text("comments"),
});

export const SORTS = ["updated", "created", "number", "due", "status", "summary", "relevance"] as const;
export type IssueSort = (typeof SORTS)[number];
export const isSort = (v: unknown): v is IssueSort => SORTS.includes(v as IssueSort);

export interface IssueQuery {
  state?: "open" | "closed" | "all";
  status?: string;
  /** Every one of these labels (case-insensitive). */
  labels?: string[];
  /** Owner's username; "none" for issues nobody owns. */
  owner?: string;
  submitter?: string;
  starredBy?: number;
  /** Open issues whose due date has passed (before `today`, YYYY-MM-DD, UTC). */
  overdue?: boolean;
  /** FTS5 MATCH expression (search.ts). */
  match?: string | null;
  /** Updated at or after / before these times (ISO 8601 UTC, as stored; Gitea's since/before). */
  updatedSince?: string;
  updatedBefore?: string;
  sort?: IssueSort;
  order?: "asc" | "desc";
  offset?: number;
  limit?: number;
  /** Include descriptions (the API's `body`); pages do without. */
  withBody?: boolean;
  /** With `match`: the best matching passage of each issue (search pages). */
  withSnippet?: boolean;
}

export interface IssueRow {
  id: number;
  number: number;
  summary: string;
  status: string;
  state: string;
  dueDate: string | null;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  commentCount: number;
  description: string;
  owner: string | null;
  ownerId: number | null;
  ownerDisplayName: string | null;
  submitter: string | null;
  submitterId: number | null;
  submitterDisplayName: string | null;
  labels: string[];
  /** Search results: the best matching passage, terms between U+E000 and U+E001. */
  snippet?: string;
}

export const today = () => new Date().toISOString().slice(0, 10);
export const SNIPPET_START = "\uE000";
export const SNIPPET_END = "\uE001";

const ownerUser = alias(users, "owner_user");
const submitterUser = alias(users, "submitter_user");

function conditions(projectId: number, q: IssueQuery): SQL[] {
  const where: SQL[] = [eq(issues.projectId, projectId)];
  const state = q.overdue ? "open" : (q.state ?? "open");
  if (state !== "all") where.push(eq(issues.state, state));
  if (q.status) where.push(sql`lower(${issues.status}) = ${q.status.toLowerCase()}`);
  for (const label of q.labels ?? []) {
    where.push(sql`EXISTS (SELECT 1 FROM ${issueLabels} WHERE issue_id = ${issues.id} AND name_key = ${labelKey(label)})`);
  }
  if (q.owner === "none") where.push(sql`${issues.ownerId} IS NULL`);
  else if (q.owner) where.push(sql`${issues.ownerId} = (SELECT id FROM ${users} WHERE username_key = ${q.owner.toLowerCase()})`);
  if (q.submitter)
    where.push(sql`${issues.submitterId} = (SELECT id FROM ${users} WHERE username_key = ${q.submitter.toLowerCase()})`);
  if (q.starredBy !== undefined) {
    where.push(sql`EXISTS (SELECT 1 FROM ${issueStars} WHERE issue_id = ${issues.id} AND user_id = ${q.starredBy})`);
  }
  if (q.overdue) where.push(sql`${issues.dueDate} < ${today()}`);
  if (q.match) where.push(sql`issues_fts MATCH ${q.match}`);
  if (q.updatedSince) where.push(sql`${issues.updatedAt} >= ${q.updatedSince}`);
  if (q.updatedBefore) where.push(sql`${issues.updatedAt} < ${q.updatedBefore}`);
  return where;
}

function ordering(q: IssueQuery): SQL[] {
  const sort = q.sort ?? (q.match ? "relevance" : q.overdue ? "due" : "updated");
  const dir = (c: SQL | typeof issues.number) => ((q.order ?? defaultOrder(sort)) === "asc" ? asc(c) : desc(c));
  switch (sort) {
    case "relevance":
      return q.match ? [sql`bm25(issues_fts, 10.0, 3.0, 1.0)`, desc(issues.number)] : [desc(issues.number)];
    case "created":
      return [dir(sql`${issues.createdAt}`), desc(issues.number)];
    case "number":
      return [dir(issues.number)];
    case "due":
      // Issues without a due date come last either way.
      return [sql`${issues.dueDate} IS NULL`, dir(sql`${issues.dueDate}`), desc(issues.number)];
    case "status":
      return [dir(sql`lower(${issues.status})`), desc(issues.number)];
    case "summary":
      return [dir(sql`lower(${issues.summary})`), desc(issues.number)];
    case "updated":
      return [dir(sql`${issues.updatedAt}`), desc(issues.number)];
  }
}

export const defaultOrder = (sort: IssueSort): "asc" | "desc" =>
  sort === "due" || sort === "summary" || sort === "status" ? "asc" : "desc";

/** One page of issues and how many match, in one D1 round trip. */
export async function listIssues(
  db: TenantDb,
  projectId: number,
  q: IssueQuery = {},
): Promise<{ items: IssueRow[]; total: number }> {
  const [rows, count] = issueListQueries(db, projectId, q);
  return issueListFrom(await db.batch([rows, count]));
}

/** The page of issues and the count, as two queries for a batch (listIssues, or a page's own batch). */
export function issueListQueries(db: TenantDb, projectId: number, q: IssueQuery = {}) {
  const where = and(...conditions(projectId, q));
  const limit = Math.min(Math.max(q.limit ?? 50, 1), 100);
  const fields = {
    id: issues.id,
    number: issues.number,
    summary: issues.summary,
    status: issues.status,
    state: issues.state,
    dueDate: issues.dueDate,
    createdAt: issues.createdAt,
    updatedAt: issues.updatedAt,
    closedAt: issues.closedAt,
    commentCount: issues.commentCount,
    description: q.withBody ? issues.description : sql<string>`''`.as("description"),
    // Unique names: drizzle maps batch rows by column name.
    owner: sql<string | null>`${ownerUser.username}`.as("owner_username"),
    ownerId: issues.ownerId,
    ownerDisplayName: sql<string | null>`${ownerUser.displayName}`.as("owner_display_name"),
    submitter: sql<string | null>`${submitterUser.username}`.as("submitter_username"),
    submitterId: issues.submitterId,
    submitterDisplayName: sql<string | null>`${submitterUser.displayName}`.as("submitter_display_name"),
    labels: sql<string | null>`(SELECT group_concat(name, ' ') FROM ${issueLabels} WHERE issue_id = ${issues.id})`.as(
      "label_names",
    ),
    snippet: (q.match && q.withSnippet
      ? sql<string>`snippet(issues_fts, -1, ${SNIPPET_START}, ${SNIPPET_END}, '…', 24)`
      : sql<string | null>`NULL`
    ).as("snippet"),
  };
  // With a text query, the FTS table drives (CROSS JOIN keeps SQLite from reordering): else it
  // may walk the project's issues and run the full-text match once per row, 100x slower.
  const rows = q.match ? db.select(fields).from(issuesFts).crossJoin(issues) : db.select(fields).from(issues);
  const count = q.match
    ? db.select({ n: sql<number>`count(*)` }).from(issuesFts).crossJoin(issues)
    : db.select({ n: sql<number>`count(*)` }).from(issues);
  const ftsRow = q.match ? sql`${issues.id} = issues_fts.rowid` : undefined;
  return [
    rows
      .leftJoin(ownerUser, eq(ownerUser.id, issues.ownerId))
      .leftJoin(submitterUser, eq(submitterUser.id, issues.submitterId))
      .where(and(ftsRow, where))
      .orderBy(...ordering(q))
      .limit(limit)
      .offset(q.offset ?? 0),
    count.where(and(ftsRow, where)),
  ] as const;
}

type ListRow = Omit<IssueRow, "labels" | "snippet"> & { labels: string | null; snippet: string | null };

/** The answer of listIssues from the rows of issueListQueries. */
export function issueListFrom([items, totals]: [ListRow[], { n: number }[]]): { items: IssueRow[]; total: number } {
  return {
    items: items.map((r) => ({ ...r, labels: r.labels ? r.labels.split(" ") : [], snippet: r.snippet ?? undefined })),
    total: totals[0]?.n ?? 0,
  };
}

export interface TrackerSummary {
  byStatus: { status: string; state: string; count: number }[];
  byLabel: { name: string; count: number }[];
  byOwner: { owner: string | null; count: number }[];
  overdue: number;
}

/** Counts for the summary page: every status, and open issues by label and by owner. */
export async function trackerSummary(db: TenantDb, projectId: number): Promise<TrackerSummary> {
  const [byStatus, byLabel, byOwner, overdue] = await db.batch([
    db
      .select({ status: issues.status, state: issues.state, count: sql<number>`count(*)` })
      .from(issues)
      .where(eq(issues.projectId, projectId))
      .groupBy(issues.status, issues.state),
    db
      .select({ name: sql<string>`min(${issueLabels.name})`, count: sql<number>`count(*)` })
      .from(issueLabels)
      .innerJoin(issues, eq(issues.id, issueLabels.issueId))
      .where(and(eq(issueLabels.projectId, projectId), eq(issues.state, "open")))
      .groupBy(issueLabels.nameKey)
      .orderBy(asc(issueLabels.nameKey)),
    db
      .select({ owner: users.username, count: sql<number>`count(*)` })
      .from(issues)
      .leftJoin(users, eq(users.id, issues.ownerId))
      .where(and(eq(issues.projectId, projectId), eq(issues.state, "open")))
      .groupBy(issues.ownerId)
      .orderBy(desc(sql`count(*)`)),
    db
      .select({ n: sql<number>`count(*)` })
      .from(issues)
      .where(and(eq(issues.projectId, projectId), eq(issues.state, "open"), sql`${issues.dueDate} < ${today()}`)),
  ]);
  return { byStatus, byLabel, byOwner, overdue: overdue[0]?.n ?? 0 };
}

export interface WatchedIssue {
  project: typeof projects.$inferSelect;
  issue: Issue;
}

/**
 * Issues a user starred, across the forge, most recently updated first. The caller drops those
 * in projects the user may no longer read (canAccess), so this reads a bounded window.
 */
export async function watchedIssues(
  db: TenantDb,
  userId: number,
  state: "open" | "closed" | "all",
  limit = 200,
): Promise<WatchedIssue[]> {
  const where = [eq(issueStars.userId, userId)];
  if (state !== "all") where.push(eq(issues.state, state));
  return db
    .select({ project: projects, issue: issues })
    .from(issueStars)
    .innerJoin(issues, eq(issues.id, issueStars.issueId))
    .innerJoin(projects, eq(projects.id, issues.projectId))
    .where(and(...where))
    .orderBy(desc(issues.updatedAt))
    .limit(limit);
}

export interface ActivityEntry {
  kind: "issue" | "comment";
  id: number;
  number: number;
  summary: string;
  status: string;
  body: string;
  changes: string;
  author: string | null;
  at: string;
}

/** Newest filings and comments of a project (or of one issue), for Atom feeds. */
export async function issueActivity(
  db: TenantDb,
  projectId: number,
  opts: { number?: number; limit?: number } = {},
): Promise<ActivityEntry[]> {
  const limit = Math.min(opts.limit ?? 50, 100);
  const author = alias(users, "author");
  const only = opts.number !== undefined ? eq(issues.number, opts.number) : undefined;
  const [filed, comments] = await db.batch([
    db
      .select({
        id: issues.id,
        number: issues.number,
        summary: issues.summary,
        status: issues.status,
        body: issues.description,
        author: author.username,
        at: issues.createdAt,
      })
      .from(issues)
      .leftJoin(author, eq(author.id, issues.submitterId))
      .where(and(eq(issues.projectId, projectId), only))
      .orderBy(desc(issues.id))
      .limit(limit),
    db
      .select({
        id: issueComments.id,
        number: issues.number,
        summary: issues.summary,
        status: issues.status,
        body: issueComments.body,
        changes: issueComments.changes,
        author: author.username,
        at: issueComments.createdAt,
      })
      .from(issueComments)
      .innerJoin(issues, eq(issues.id, issueComments.issueId))
      .leftJoin(author, eq(author.id, issueComments.authorId))
      .where(and(eq(issueComments.projectId, projectId), only))
      .orderBy(desc(issueComments.id))
      .limit(limit),
  ]);
  return [
    ...filed.map((f) => ({ ...f, kind: "issue" as const, changes: "{}" })),
    ...comments.map((c) => ({ ...c, kind: "comment" as const })),
  ]
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
    .slice(0, limit);
}
