// Comments as conversation (Gitea's API): the comments that have text, page by page, one by id,
// and editing or deleting one's own (members any). A comment that also recorded changes keeps
// that record when its text is deleted: the issue's history stays whole.
import { and, asc, eq, ne, sql } from "drizzle-orm";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import type { TenantDb } from "../../db/tenant-db";
import { issueComments, issues, users } from "../../db/schema";
import { ForgeError } from "../../utils/errors";
import { cleanText, hasChanges, type Actor } from "./model";
import { commentView, type CommentView } from "./read";
import { updateIssue, type UpdateResult } from "./update";

const fields = {
  comment: issueComments,
  authorName: sql<string | null>`${users.username}`.as("author_username"),
  authorDisplayName: sql<string | null>`${users.displayName}`.as("author_display_name"),
  issueNumber: sql<number>`${issues.number}`.as("issue_number"),
};

export interface TextComment extends CommentView {
  issueId: number;
  issueNumber: number;
}

function view(r: {
  comment: typeof issueComments.$inferSelect;
  authorName: string | null;
  authorDisplayName: string | null;
  issueNumber: number;
}): TextComment {
  return { ...commentView(r), issueId: r.comment.issueId, issueNumber: r.issueNumber };
}

/**
 * One page of an issue's comments that have text (what `comment_count` counts), oldest first,
 * and how many there are. With `since`/`before` (RFC 3339), only those written in that span.
 */
export async function listTextComments(
  db: TenantDb,
  issueId: number,
  opts: { offset: number; limit: number; since?: string; before?: string },
): Promise<{ items: TextComment[]; total: number }> {
  const where = and(
    eq(issueComments.issueId, issueId),
    ne(issueComments.body, ""),
    opts.since ? sql`${issueComments.createdAt} >= ${opts.since}` : undefined,
    opts.before ? sql`${issueComments.createdAt} < ${opts.before}` : undefined,
  );
  const [rows, count] = await db.batch([
    db
      .select(fields)
      .from(issueComments)
      .innerJoin(issues, eq(issues.id, issueComments.issueId))
      .leftJoin(users, eq(users.id, issueComments.authorId))
      .where(where)
      .orderBy(asc(issueComments.id))
      .limit(opts.limit)
      .offset(opts.offset),
    db.select({ n: sql<number>`count(*)` }).from(issueComments).where(where),
  ]);
  return { items: rows.map(view), total: count[0]?.n ?? 0 };
}

/** A comment with text of the project by its id, or a 404. */
export async function getTextComment(db: TenantDb, projectId: number, commentId: number): Promise<TextComment> {
  const rows = await db
    .select(fields)
    .from(issueComments)
    .innerJoin(issues, eq(issues.id, issueComments.issueId))
    .leftJoin(users, eq(users.id, issueComments.authorId))
    .where(and(eq(issueComments.id, commentId), eq(issueComments.projectId, projectId), ne(issueComments.body, "")))
    .limit(1);
  if (!rows[0]) throw new ForgeError("not_found", `There is no comment ${commentId} in this repository.`);
  return view(rows[0]);
}

function requireAuthorOrTriage(actor: Actor, comment: TextComment): void {
  if (actor.triage || (actor.user && comment.author?.id === actor.user.id)) return;
  throw new ForgeError("forbidden", "Only its author and the project's members change a comment.");
}

/**
 * The issue's full-text row keeps its comments' text; an edit or deletion rewrites that part
 * from what the comments now say (an insert appends to it by trigger, migration 0003).
 */
const refreshSearch = (db: TenantDb, issueId: number) =>
  db
    .update(issuesFts)
    .set({
      comments: sql`coalesce((SELECT group_concat(body, char(10)) FROM ${issueComments} WHERE issue_id = ${issueId} AND body <> ''), '')`,
    })
    .where(eq(issuesFts.rowid, issueId));

/** The FTS5 table of migration 0003, declared for this update only (schema.ts must not declare it). */
const issuesFts = sqliteTable("issues_fts", { rowid: integer("rowid").notNull(), comments: text("comments") });

/** Adds a comment of text alone to issue `number` (the APIs' "create a comment"); the update that recorded it. */
export async function addTextComment(
  db: TenantDb,
  project: Parameters<typeof updateIssue>[1],
  number: number,
  actor: Actor,
  body: string,
): Promise<Extract<UpdateResult, { outcome: "updated" }>> {
  if (!body.trim()) throw new ForgeError("validation_failed", "body: a comment needs some text.");
  const result = await updateIssue(db, project, number, actor, {}, { comment: body });
  if (result.outcome !== "updated") throw new ForgeError("internal", "the comment was not recorded");
  return result;
}

/** Replaces a comment's text (author or members); the edited comment. */
export async function editComment(
  db: TenantDb,
  projectId: number,
  commentId: number,
  actor: Actor,
  body: string,
): Promise<TextComment> {
  const comment = await getTextComment(db, projectId, commentId);
  requireAuthorOrTriage(actor, comment);
  const text = cleanText(body, "comment");
  if (!text.trim()) throw new ForgeError("validation_failed", "body: a comment needs some text; delete it instead.");
  const { issueId } = comment;
  await db.batch([
    db.update(issueComments).set({ body: text }).where(eq(issueComments.id, commentId)),
    db.update(issues).set({ updatedAt: new Date().toISOString() }).where(eq(issues.id, issueId)),
    refreshSearch(db, issueId),
  ]);
  return { ...comment, body: text };
}

/**
 * Deletes a comment (author or members): the row, or only its text when it also recorded
 * changes; the issue's comment count follows.
 */
export async function deleteComment(db: TenantDb, projectId: number, commentId: number, actor: Actor): Promise<void> {
  const comment = await getTextComment(db, projectId, commentId);
  requireAuthorOrTriage(actor, comment);
  const { issueId } = comment;
  await db.batch([
    hasChanges(comment.changes)
      ? db.update(issueComments).set({ body: "" }).where(eq(issueComments.id, commentId))
      : db.delete(issueComments).where(eq(issueComments.id, commentId)),
    db
      .update(issues)
      .set({ commentCount: sql`max(${issues.commentCount} - 1, 0)`, updatedAt: new Date().toISOString() })
      .where(eq(issues.id, issueId)),
    refreshSearch(db, issueId),
  ]);
}
