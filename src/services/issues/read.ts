// Reading the issue page: one issue with its labels, relations, attachments and comments, and
// the comments of an issue page by page.
import { and, asc, eq, or, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { TenantDb } from "../../db/tenant-db";
import { issueAttachments, issueComments, issueLabels, issueRelations, issueStars, issues, users } from "../../db/schema";
import {
  type Issue,
  type IssueChanges,
  type RelationKind,
  type UserRef,
  type IssueAttachment,
  INVERSE,
  parseChanges,
  type RelationView,
} from "./model";
import { configFrom, configQuery, loadConfig, type TrackerConfig } from "./config";

// Reading

export async function findIssue(db: TenantDb, projectId: number, number: number): Promise<Issue | undefined> {
  if (!Number.isSafeInteger(number) || number < 1) return undefined;
  return db.query.issues.findFirst({ where: and(eq(issues.projectId, projectId), eq(issues.number, number)) });
}

export interface CommentView {
  id: number;
  author: UserRef | null;
  body: string;
  changes: IssueChanges;
  createdAt: string;
}

export interface IssueDetail {
  issue: Issue;
  labels: string[];
  owner: UserRef | null;
  submitter: UserRef | null;
  comments: CommentView[];
  attachments: IssueAttachment[];
  relations: RelationView[];
  stars: number;
  starred: boolean;
}

const ownerUser = alias(users, "owner_user");
const submitterUser = alias(users, "submitter_user");

/** Everything the issue page shows, in one D1 round trip. */
export async function getIssueDetail(
  db: TenantDb,
  projectId: number,
  number: number,
  viewerId: number | null,
): Promise<IssueDetail | null> {
  if (!Number.isSafeInteger(number) || number < 1) return null;
  return issueDetailFrom(await db.batch(issueDetailQueries(db, projectId, number, viewerId)));
}

/**
 * The issue page's detail and the tracker's configuration in one batch: the whole page in one
 * round trip. `viewerId` is the session's user (for "starred"), before the session is checked:
 * the caller reads again if the check says otherwise.
 */
export async function getIssuePage(
  db: TenantDb,
  projectId: number,
  number: number,
  viewerId: number | null,
): Promise<{ detail: IssueDetail | null; config: TrackerConfig }> {
  if (!Number.isSafeInteger(number) || number < 1) return { detail: null, config: await loadConfig(db, projectId) };
  const [config, ...detail] = await db.batch([
    configQuery(db, projectId),
    ...issueDetailQueries(db, projectId, number, viewerId),
  ]);
  return { detail: issueDetailFrom(detail), config: configFrom(config) };
}

function issueDetailQueries(db: TenantDb, projectId: number, number: number, viewerId: number | null) {
  const idOf = sql`(SELECT id FROM ${issues} WHERE project_id = ${projectId} AND number = ${number})`;
  const other = alias(issues, "other_issue");
  return [
    db
      .select({
        issue: issues,
        ownerName: sql<string | null>`${ownerUser.username}`.as("owner_username"),
        ownerDisplayName: sql<string | null>`${ownerUser.displayName}`.as("owner_display_name"),
        submitterName: sql<string | null>`${submitterUser.username}`.as("submitter_username"),
        submitterDisplayName: sql<string | null>`${submitterUser.displayName}`.as("submitter_display_name"),
      })
      .from(issues)
      .leftJoin(ownerUser, eq(ownerUser.id, issues.ownerId))
      .leftJoin(submitterUser, eq(submitterUser.id, issues.submitterId))
      .where(and(eq(issues.projectId, projectId), eq(issues.number, number))),
    db
      .select({ name: issueLabels.name })
      .from(issueLabels)
      .where(eq(issueLabels.issueId, idOf))
      .orderBy(asc(issueLabels.nameKey)),
    db
      .select(commentFields)
      .from(issueComments)
      .leftJoin(users, eq(users.id, issueComments.authorId))
      .where(eq(issueComments.issueId, idOf))
      .orderBy(asc(issueComments.id)),
    db.select().from(issueAttachments).where(eq(issueAttachments.issueId, idOf)).orderBy(asc(issueAttachments.createdAt)),
    db
      .select({
        issueId: issueRelations.issueId,
        kind: issueRelations.kind,
        number: other.number,
        summary: other.summary,
        state: other.state,
      })
      .from(issueRelations)
      .innerJoin(
        other,
        sql`${other.id} = CASE WHEN ${issueRelations.issueId} = ${idOf} THEN ${issueRelations.otherId} ELSE ${issueRelations.issueId} END`,
      )
      .where(or(eq(issueRelations.issueId, idOf), eq(issueRelations.otherId, idOf)))
      .orderBy(asc(other.number)),
    db
      .select({ n: sql<number>`count(*)`, mine: sql<number>`coalesce(sum(${issueStars.userId} = ${viewerId ?? -1}), 0)` })
      .from(issueStars)
      .where(eq(issueStars.issueId, idOf)),
  ] as const;
}

/** The rows of issueDetailQueries' batch. */
function issueDetailFrom(rows: readonly unknown[]): IssueDetail | null {
  const [issueRows, labelRows, commentRows, attachmentRows, relationRows, starRows] = rows as unknown as [
    {
      issue: Issue;
      ownerName: string | null;
      ownerDisplayName: string | null;
      submitterName: string | null;
      submitterDisplayName: string | null;
    }[],
    { name: string }[],
    Parameters<typeof commentView>[0][],
    IssueAttachment[],
    { issueId: number; kind: string; number: number; summary: string; state: string }[],
    { n: number; mine: number }[],
  ];
  const row = issueRows[0];
  if (!row) return null;
  const issueId = row.issue.id;
  return {
    issue: row.issue,
    owner:
      row.issue.ownerId !== null && row.ownerName
        ? { id: row.issue.ownerId, username: row.ownerName, displayName: row.ownerDisplayName }
        : null,
    submitter:
      row.issue.submitterId !== null && row.submitterName
        ? { id: row.issue.submitterId, username: row.submitterName, displayName: row.submitterDisplayName }
        : null,
    labels: labelRows.map((l) => l.name),
    comments: commentRows.map(commentView),
    attachments: attachmentRows,
    relations: relationRows.map((r) => {
      const kind = r.kind as RelationKind;
      return { kind: r.issueId === issueId ? kind : INVERSE[kind], number: r.number, summary: r.summary, state: r.state };
    }),
    stars: starRows[0]?.n ?? 0,
    starred: (starRows[0]?.mine ?? 0) > 0,
  };
}

/**
 * Columns of a comment and its author. Selects that run in a D1 batch need unique column names
 * (drizzle maps batch rows by name), hence the aliases.
 */
const commentFields = {
  comment: issueComments,
  authorName: sql<string | null>`${users.username}`.as("author_username"),
  authorDisplayName: sql<string | null>`${users.displayName}`.as("author_display_name"),
};

/** A comment row with its author, as pages and APIs show it. */
export function commentView(r: {
  comment: typeof issueComments.$inferSelect;
  authorName: string | null;
  authorDisplayName: string | null;
}): CommentView {
  return {
    id: r.comment.id,
    author:
      r.comment.authorId !== null && r.authorName
        ? { id: r.comment.authorId, username: r.authorName, displayName: r.authorDisplayName }
        : null,
    body: r.comment.body,
    changes: parseChanges(r.comment.changes),
    createdAt: r.comment.createdAt,
  };
}

/** One page of an issue's comments, oldest first, and how many there are. */
export async function listComments(
  db: TenantDb,
  issueId: number,
  opts: { offset: number; limit: number },
): Promise<{ items: CommentView[]; total: number }> {
  const [rows, count] = await db.batch([
    db
      .select(commentFields)
      .from(issueComments)
      .leftJoin(users, eq(users.id, issueComments.authorId))
      .where(eq(issueComments.issueId, issueId))
      .orderBy(asc(issueComments.id))
      .limit(opts.limit)
      .offset(opts.offset),
    db.select({ n: sql<number>`count(*)` }).from(issueComments).where(eq(issueComments.issueId, issueId)),
  ]);
  return { items: rows.map(commentView), total: count[0]?.n ?? 0 };
}
