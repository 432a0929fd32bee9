// Review requests in the tenant's database: opening one (with its first revision), reading them
// with their revisions, verdicts and comments, and the changes people make (comment, approve or
// request changes, status). Reviews of a project are always looked up by project id and number.
import { and, asc, desc, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { TenantDb } from "../../db/tenant-db";
import { reviewComments, reviewReviewers, reviewRevisions, reviews } from "../../db/reviews-schema";
import { users } from "../../db/schema";
import { badRequest, conflict, ForgeError, notFound } from "../../utils/errors";
import { recordEvent } from "../timeline";

export type Review = typeof reviews.$inferSelect;
export type Revision = typeof reviewRevisions.$inferSelect;

export const REVIEW_STATUSES = ["open", "accepted", "rejected", "merged", "closed"] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];
export const isReviewStatus = (v: string): v is ReviewStatus => (REVIEW_STATUSES as readonly string[]).includes(v);
/** Statuses a person may set by hand (merged only comes from merging). */
export const SETTABLE_STATUSES = ["open", "accepted", "rejected", "closed"] as const;
/** Still waiting for a merge: new pushes to the source branch become revisions. */
export const ACTIVE_STATUSES: readonly string[] = ["open", "accepted"];

export const TITLE_MAX = 200;
export const TEXT_MAX = 65_536;

export interface Actor {
  id: number;
  username: string;
}

export interface CommentView {
  id: number;
  author: string | null;
  body: string;
  revision: number;
  path: string | null;
  side: "old" | "new" | null;
  line: number | null;
  lineText: string | null;
  /** The revision whose change of the line made the comment outdated (null: still current). */
  outdatedRevision: number | null;
  createdAt: string;
}

export interface VerdictView {
  user: string;
  verdict: "approve" | "changes";
  revision: number;
  updatedAt: string;
}

export interface ReviewSummary extends Review {
  author: string | null;
}

export function cleanTitle(title: string): string {
  const t = title.replace(/\s+/g, " ").trim();
  if (!t) throw badRequest("A review needs a title: one line saying what the change does.");
  if (t.length > TITLE_MAX) throw badRequest(`The title is ${t.length} characters long; keep it within ${TITLE_MAX}.`);
  return t;
}

export function cleanText(text: string, what: string): string {
  if (text.length > TEXT_MAX) throw badRequest(`The ${what} is ${text.length} characters long; keep it within ${TEXT_MAX}.`);
  return text.replace(/\r\n/g, "\n");
}

export interface NewReviewRow {
  title: string;
  description: string;
  sourceBranch: string;
  targetBranch: string;
  head: string;
  base: string;
  /** "patches": an uploaded series (sourceBranch ""); default "branch". */
  kind?: "branch" | "patches";
}

/** Inserts a review and its revision 1 in one transaction, and records it on the timeline. */
export async function insertReview(db: TenantDb, projectId: number, actor: Actor, r: NewReviewRow): Promise<Review> {
  const now = new Date().toISOString();
  const id = sql`(SELECT max(id) FROM ${reviews} WHERE project_id = ${projectId})`;
  const statements: BatchItem<"sqlite">[] = [
    db
      .insert(reviews)
      .values({
        projectId,
        number: sql`(SELECT coalesce(max(number), 0) + 1 FROM ${reviews} WHERE project_id = ${projectId})`,
        title: r.title,
        description: r.description,
        authorId: actor.id,
        kind: r.kind ?? "branch",
        sourceBranch: r.sourceBranch,
        targetBranch: r.targetBranch,
        createdAt: now,
        updatedAt: now,
      })
      .returning(),
    db.insert(reviewRevisions).values({ reviewId: id, number: 1, headOid: r.head, baseOid: r.base, createdAt: now }),
  ];
  const [inserted] = (await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]))[0] as Review[];
  const review = inserted!;
  await recordEvent(db, {
    projectId,
    kind: "review",
    actor: actor.username,
    title: `${actor.username} opened review ${review.number}: ${review.title}`,
    payload: { number: review.number, reviewId: review.id, action: "opened" },
    key: `review:${review.id}:opened`,
  });
  return review;
}

export async function findReview(db: TenantDb, projectId: number, number: number): Promise<Review | undefined> {
  if (!Number.isSafeInteger(number) || number < 1) return undefined;
  return db.query.reviews.findFirst({ where: and(eq(reviews.projectId, projectId), eq(reviews.number, number)) });
}

export async function getReview(db: TenantDb, projectId: number, number: number): Promise<Review> {
  const review = await findReview(db, projectId, number);
  if (!review) throw notFound(`review ${number}`);
  return review;
}

/** A page of a project's reviews, newest first; `status` "all" or one status ("open" default). */
export async function listReviews(
  db: TenantDb,
  projectId: number,
  q: { status?: string; offset?: number; limit?: number },
): Promise<{ items: ReviewSummary[]; total: number }> {
  const status = q.status ?? "open";
  if (status !== "all" && !isReviewStatus(status))
    throw badRequest(`status is all or one of ${REVIEW_STATUSES.join(", ")}; "${status}" is neither.`);
  const where = and(eq(reviews.projectId, projectId), status === "all" ? undefined : eq(reviews.status, status));
  const [rows, [count]] = await Promise.all([
    db
      .select({ review: reviews, author: users.username })
      .from(reviews)
      .leftJoin(users, eq(users.id, reviews.authorId))
      .where(where)
      .orderBy(desc(reviews.number))
      .limit(q.limit ?? 50)
      .offset(q.offset ?? 0),
    db.select({ n: sql<number>`count(*)` }).from(reviews).where(where),
  ]);
  return { items: rows.map((r) => ({ ...r.review, author: r.author })), total: count?.n ?? 0 };
}

export async function authorName(db: TenantDb, review: Review): Promise<string | null> {
  if (review.authorId === null) return null;
  const u = await db.query.users.findFirst({ where: eq(users.id, review.authorId), columns: { username: true } });
  return u?.username ?? null;
}

export function listRevisions(db: TenantDb, reviewId: number): Promise<Revision[]> {
  return db.query.reviewRevisions.findMany({
    where: eq(reviewRevisions.reviewId, reviewId),
    orderBy: asc(reviewRevisions.number),
  });
}

export async function listComments(db: TenantDb, reviewId: number): Promise<CommentView[]> {
  const rows = await db
    .select({ c: reviewComments, author: users.username })
    .from(reviewComments)
    .leftJoin(users, eq(users.id, reviewComments.authorId))
    .where(eq(reviewComments.reviewId, reviewId))
    .orderBy(asc(reviewComments.id))
    .limit(1000);
  return rows.map(({ c, author }) => ({
    id: c.id,
    author,
    body: c.body,
    revision: c.revision,
    path: c.path,
    side: c.side as CommentView["side"],
    line: c.line,
    lineText: c.lineText,
    outdatedRevision: c.outdatedRevision,
    createdAt: c.createdAt,
  }));
}

export async function listVerdicts(db: TenantDb, reviewId: number): Promise<VerdictView[]> {
  const rows = await db
    .select({ v: reviewReviewers, user: users.username })
    .from(reviewReviewers)
    .innerJoin(users, eq(users.id, reviewReviewers.userId))
    .where(eq(reviewReviewers.reviewId, reviewId))
    .orderBy(asc(users.username));
  return rows.map(({ v, user }) => ({
    user,
    verdict: v.verdict as VerdictView["verdict"],
    revision: v.revision,
    updatedAt: v.updatedAt,
  }));
}

/** A line comment's place: the file, the side of the diff and the line with its text. */
export interface LinePlace {
  path: string;
  side: "old" | "new";
  line: number;
  lineText: string;
}

export async function insertComment(
  db: TenantDb,
  projectId: number,
  review: Review,
  actor: Actor,
  revision: number,
  body: string,
  place: LinePlace | null,
): Promise<number> {
  const text = cleanText(body, "comment").trim();
  if (!text) throw badRequest("The comment is empty: write something to say.");
  const [row] = await db
    .insert(reviewComments)
    .values({
      reviewId: review.id,
      authorId: actor.id,
      body: text,
      revision,
      path: place?.path ?? null,
      side: place?.side ?? null,
      line: place?.line ?? null,
      lineText: place?.lineText ?? null,
    })
    .returning({ id: reviewComments.id });
  await touch(db, review);
  await recordEvent(db, {
    projectId,
    kind: "review",
    actor: actor.username,
    title: `${actor.username} commented on review ${review.number}${place ? ` (${place.path}:${place.line})` : ""}`,
    payload: { number: review.number, reviewId: review.id, action: "commented", comment: row!.id },
    key: `review:${review.id}:comment:${row!.id}`,
  });
  return row!.id;
}

const touch = (db: TenantDb, review: Review) =>
  db.update(reviews).set({ updatedAt: new Date().toISOString() }).where(eq(reviews.id, review.id));

export async function setVerdict(
  db: TenantDb,
  projectId: number,
  review: Review,
  actor: Actor,
  verdict: "approve" | "changes",
  revision: number,
): Promise<void> {
  if (!ACTIVE_STATUSES.includes(review.status))
    throw conflict(`Review ${review.number} is ${review.status}: it takes no verdicts now.`);
  const now = new Date().toISOString();
  await db
    .insert(reviewReviewers)
    .values({ reviewId: review.id, userId: actor.id, verdict, revision, updatedAt: now })
    .onConflictDoUpdate({
      target: [reviewReviewers.reviewId, reviewReviewers.userId],
      set: { verdict, revision, updatedAt: now },
    });
  await touch(db, review);
  await recordEvent(db, {
    projectId,
    kind: "review",
    actor: actor.username,
    title: `${actor.username} ${verdict === "approve" ? "approved" : "requested changes on"} review ${review.number}`,
    payload: { number: review.number, reviewId: review.id, action: verdict, revision },
  });
}

/** Sets a status by hand; a merged review stays merged. Writes only if the status is still `from`. */
export async function setStatus(db: TenantDb, projectId: number, review: Review, actor: Actor, status: string): Promise<void> {
  if (!(SETTABLE_STATUSES as readonly string[]).includes(status))
    throw badRequest(`status is one of ${SETTABLE_STATUSES.join(", ")} (a review becomes merged by merging it).`);
  if (review.status === "merged") throw conflict(`Review ${review.number} is merged already: its status stays.`);
  if (review.status === status) return;
  const [row] = await db
    .update(reviews)
    .set({ status, updatedAt: new Date().toISOString() })
    .where(and(eq(reviews.id, review.id), eq(reviews.status, review.status)))
    .returning({ id: reviews.id });
  if (!row) throw new ForgeError("conflict", "The review changed meanwhile; reload it and try again.");
  await recordEvent(db, {
    projectId,
    kind: "review",
    actor: actor.username,
    title: `${actor.username} set review ${review.number} to ${status}`,
    payload: { number: review.number, reviewId: review.id, action: "status", status },
  });
}

/** Marks the review merged (only from an active status), with the commit the target now points at. */
export async function markMerged(db: TenantDb, review: Review, mergedOid: string): Promise<boolean> {
  const [row] = await db
    .update(reviews)
    .set({ status: "merged", mergedOid, updatedAt: new Date().toISOString() })
    .where(and(eq(reviews.id, review.id), sql`${reviews.status} IN ('open', 'accepted')`))
    .returning({ id: reviews.id });
  return !!row;
}
