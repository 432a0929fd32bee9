// Drizzle schema of code reviews in the tenant's database (beside schema.ts, which would pass 400
// lines): review requests of a branch (or an uploaded patch series) into another, their revisions,
// verdicts, comments.
import { sql } from "drizzle-orm";
import { integer, sqliteTable, text, index, primaryKey, uniqueIndex } from "drizzle-orm/sqlite-core";
import { projects, users } from "./schema";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/** A request to merge `source_branch` into `target_branch`; `number` counts per project. */
export const reviews = sqliteTable(
  "reviews",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    title: text("title").notNull(),
    /** Markdown. */
    description: text("description").notNull().default(""),
    /** open | accepted | rejected | merged | closed */
    status: text("status").notNull().default("open"),
    authorId: integer("author_id").references(() => users.id, { onDelete: "set null" }),
    /**
     * branch: the source branch's pushes are its revisions; patches: uploaded patch series, each
     * revision's commits kept under the hidden ref refs/reviews/patches/<head> (source_branch "").
     */
    kind: text("kind").notNull().default("branch"),
    /** Branch names without refs/heads/. */
    sourceBranch: text("source_branch").notNull(),
    targetBranch: text("target_branch").notNull(),
    /** The commit the target branch was moved to by the merge (null until merged). */
    mergedOid: text("merged_oid"),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("reviews_project_number").on(t.projectId, t.number),
    index("reviews_project_status").on(t.projectId, t.status, t.number),
    index("reviews_project_source").on(t.projectId, t.sourceBranch),
  ],
);

/**
 * Each state of the source branch a review has seen (its opening, then each push to the branch):
 * the head and the merge base with the target at that time. Unique per head, so a push seen twice
 * records one revision.
 */
export const reviewRevisions = sqliteTable(
  "review_revisions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    reviewId: integer("review_id")
      .notNull()
      .references(() => reviews.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    headOid: text("head_oid").notNull(),
    baseOid: text("base_oid").notNull(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("review_revisions_number").on(t.reviewId, t.number),
    uniqueIndex("review_revisions_head").on(t.reviewId, t.headOid),
  ],
);

/** Verdicts: approve | changes (request changes); one per reviewer, the latest wins. */
export const reviewReviewers = sqliteTable(
  "review_reviewers",
  {
    reviewId: integer("review_id")
      .notNull()
      .references(() => reviews.id, { onDelete: "cascade" }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    verdict: text("verdict").notNull(),
    /** The revision number the verdict was given on. */
    revision: integer("revision").notNull(),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.reviewId, t.userId] })],
);

/**
 * Comments on the whole request (path null) or on one line of a file in a revision: `side` old
 * (the base) or new (the head), the 1-based line and its text, so a later revision that changes the
 * line marks the comment outdated (`outdated_revision`: the revision number that did).
 */
export const reviewComments = sqliteTable(
  "review_comments",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    reviewId: integer("review_id")
      .notNull()
      .references(() => reviews.id, { onDelete: "cascade" }),
    authorId: integer("author_id").references(() => users.id, { onDelete: "set null" }),
    /** Markdown. */
    body: text("body").notNull(),
    /** Revision number the comment was made on. */
    revision: integer("revision").notNull(),
    path: text("path"),
    side: text("side"),
    line: integer("line"),
    lineText: text("line_text"),
    outdatedRevision: integer("outdated_revision"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("review_comments_review").on(t.reviewId, t.id)],
);
