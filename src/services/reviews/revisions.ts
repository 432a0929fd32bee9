// The revisions of a review: opening a review from two branches (its revision 1), each later
// push to the source branch recorded once (post-push), and line comments whose line a later
// revision changed marked outdated. Also reads a line of a revision for a new line comment.
import { and, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Env } from "../../env";
import type { TenantDb } from "../../db/tenant-db";
import { reviewComments, reviewRevisions, reviews } from "../../db/reviews-schema";
import { blobStorage } from "../../git/blob-stream";
import { Budget } from "../../git/budget";
import { isBinary, splitLines } from "../../git/diff";
import { mergeBase } from "../../git/ancestry";
import { ZERO_OID, type Oid } from "../../git/oid";
import { oidAtPath } from "../../git/tree-path";
import { refNameProblem } from "../../git/ref-names";
import { badRequest, conflict } from "../../utils/errors";
import type { Project } from "../projects";
import type { PushedEvent } from "../push-events";
import { openSource, refByName, type SourceRepo } from "../source";
import { recordEvent } from "../timeline";
import {
  ACTIVE_STATUSES,
  type Actor,
  cleanText,
  cleanTitle,
  insertReview,
  type LinePlace,
  listRevisions,
  type Review,
  type Revision,
} from "./model";

/** How far the merge base is looked for (commits): beyond it the review diffs from the target's tip. */
const MERGE_BASE_BUDGET = { ms: 5_000, steps: 100_000 };
/** The largest file a line comment reads its line from. */
const LINE_FILE_MAX = 8 * 1024 * 1024;

export const repoOf = (tenantId: string, project: Project) => ({ tenantId, repoId: project.repoId });

export function openReviewSource(env: Env, tenantId: string, project: Project): Promise<SourceRepo> {
  return openSource(env, repoOf(tenantId, project));
}

/** The commit a branch points at, or null when there is no such branch. */
export function branchTip(src: SourceRepo, branch: string): Oid | null {
  return refByName(src.snapshot, `refs/heads/${branch}`)?.oid ?? null;
}

/** Where a revision's diff starts: the merge base with the target (ZERO_OID: no common history). */
export async function baseFor(src: SourceRepo, target: Oid, head: Oid): Promise<Oid> {
  const budget = new Budget(Date.now() + MERGE_BASE_BUDGET.ms, MERGE_BASE_BUDGET.steps);
  const mb = await mergeBase(src.graph, target, head, budget);
  if (mb) return mb;
  return budget.outOfTime || budget.used > MERGE_BASE_BUDGET.steps ? target : ZERO_OID;
}

export interface NewReview {
  title: string;
  description?: string;
  source: string;
  target: string;
}

export function checkBranch(src: SourceRepo, name: string, which: string): Oid {
  const clean = name.trim();
  if (!clean) throw badRequest(`Choose the ${which} branch.`);
  if (refNameProblem(`refs/heads/${clean}`)) throw badRequest(`"${clean}" is not a valid branch name.`);
  const tip = branchTip(src, clean);
  if (!tip) throw badRequest(`There is no branch ${clean} in this repository: push it first.`);
  return tip;
}

/** Opens a review of `source` into `target`, both branches of the project's repository. */
export async function openReview(env: Env, db: TenantDb, tenantId: string, project: Project, actor: Actor, input: NewReview) {
  const title = cleanTitle(input.title);
  const description = cleanText(input.description ?? "", "description");
  const src = await openReviewSource(env, tenantId, project);
  const head = checkBranch(src, input.source, "source");
  const target = checkBranch(src, input.target, "target");
  if (input.source.trim() === input.target.trim()) throw badRequest("The source and target branches are the same: choose two.");
  const base = await baseFor(src, target, head);
  if (base === head)
    throw conflict(`${input.target.trim()} already has every commit of ${input.source.trim()}: nothing to review.`);
  return insertReview(db, project.id, actor, {
    title,
    description,
    sourceBranch: input.source.trim(),
    targetBranch: input.target.trim(),
    head,
    base,
  });
}

/** The text of one line of a file in a revision (side old: at the base, new: at the head), or why not. */
export async function lineAt(src: SourceRepo, rev: Revision, place: Omit<LinePlace, "lineText">): Promise<string> {
  const commit = place.side === "old" ? rev.baseOid : rev.headOid;
  if (commit === ZERO_OID) throw badRequest("That side of the diff is empty: comment on the other side.");
  const text = await fileText(src, commit, place.path);
  if (text === null)
    throw badRequest(
      `${place.path} is not a text file at the ${place.side === "old" ? "base" : "head"} of revision ${rev.number}.`,
    );
  const { lines } = splitLines(text);
  if (!Number.isSafeInteger(place.line) || place.line < 1 || place.line > lines.length)
    throw badRequest(`${place.path} has ${lines.length} lines there: line ${place.line} is not one of them.`);
  return lines[place.line - 1]!;
}

const decoder = new TextDecoder();

async function fileText(src: SourceRepo, commit: Oid, path: string): Promise<string | null> {
  const segments = path.split("/");
  if (!path || segments.some((s) => !s || s === "." || s === "..")) return null;
  const root = (await src.graph.commit(commit)).tree;
  const oid = await oidAtPath(src.store, root, segments).catch(() => null);
  if (!oid) return null;
  // Sized before it is read: a huge file is never inflated for one line.
  const size = await blobStorage(src.store, oid)
    .then((b) => b.size)
    .catch(() => Infinity);
  if (size > LINE_FILE_MAX) return null;
  const data = await src.store.read(oid).catch(() => null);
  if (data?.type !== "blob" || isBinary(data.data)) return null;
  return decoder.decode(data.data);
}

/**
 * Records a new revision of `review` at `head` (nothing when the review has one at that head
 * already) and, in the same transaction, marks outdated the line comments whose line it changed:
 * no page ever shows the new revision with those comments still current.
 */
export async function addRevision(
  src: SourceRepo,
  db: TenantDb,
  review: Review,
  head: Oid,
  actor: string | null,
  /** Where its diff starts (a patch series' base); default: the merge base with the target. */
  givenBase?: Oid,
): Promise<Revision | null> {
  const seen = await db.query.reviewRevisions.findFirst({
    where: and(eq(reviewRevisions.reviewId, review.id), eq(reviewRevisions.headOid, head)),
  });
  if (seen) return null;
  const target = branchTip(src, review.targetBranch);
  const base = givenBase ?? (target ? await baseFor(src, target, head) : ZERO_OID);
  const outdated = await outdatedBy(src, db, review, head, base);
  const number = sql`(SELECT number FROM ${reviewRevisions} WHERE review_id = ${review.id} AND head_oid = ${head})`;
  const statements: BatchItem<"sqlite">[] = [
    db
      .insert(reviewRevisions)
      .values({
        reviewId: review.id,
        number: sql`(SELECT coalesce(max(number), 0) + 1 FROM ${reviewRevisions} WHERE review_id = ${review.id})`,
        headOid: head,
        baseOid: base,
      })
      .onConflictDoNothing()
      .returning(),
    db.update(reviews).set({ updatedAt: new Date().toISOString() }).where(eq(reviews.id, review.id)),
  ];
  if (outdated.length)
    statements.push(
      db
        .update(reviewComments)
        .set({ outdatedRevision: number })
        .where(and(inArray(reviewComments.id, outdated), isNull(reviewComments.outdatedRevision))),
    );
  const [inserted] = (await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]))[0] as Revision[];
  const row = inserted;
  if (!row) return null;
  await recordEvent(db, {
    projectId: review.projectId,
    kind: "review",
    actor,
    title: `${actor ?? "someone"} ${review.kind === "patches" ? "uploaded" : "pushed"} revision ${row.number} of review ${review.number}: ${review.title}`,
    payload: { number: review.number, reviewId: review.id, action: "revision", revision: row.number, head },
    key: `review:${review.id}:revision:${head}`,
  });
  return row;
}

/** Ids of the line comments still current whose line (same file, side and number) reads differently at head/base. */
async function outdatedBy(src: SourceRepo, db: TenantDb, review: Review, head: Oid, base: Oid): Promise<number[]> {
  const comments = await db
    .select()
    .from(reviewComments)
    .where(and(eq(reviewComments.reviewId, review.id), isNotNull(reviewComments.path), isNull(reviewComments.outdatedRevision)))
    .limit(1000);
  const texts = new Map<string, string | null>();
  const out: number[] = [];
  for (const c of comments) {
    const commit = c.side === "old" ? base : head;
    const key = `${commit}:${c.path}`;
    if (!texts.has(key)) texts.set(key, commit === ZERO_OID ? null : await fileText(src, commit, c.path!));
    const text = texts.get(key);
    const line = text === null || text === undefined ? undefined : splitLines(text).lines[c.line! - 1];
    if (line !== c.lineText) out.push(c.id);
  }
  return out;
}

/**
 * After a push (post-push consumer): each branch it moved that is the source of an active review
 * becomes that review's next revision. Idempotent: a revision is unique per review and head.
 */
export async function recordReviewPushes(env: Env, db: TenantDb, project: Project, e: PushedEvent): Promise<number> {
  const moved = e.updates.filter((u) => u.name.startsWith("refs/heads/") && u.new !== ZERO_OID);
  if (!moved.length) return 0;
  // One query for the project's active reviews (not one per branch: a push may move thousands).
  const active = await db.query.reviews.findMany({
    where: and(eq(reviews.projectId, project.id), inArray(reviews.status, [...ACTIVE_STATUSES])),
  });
  if (!active.length) return 0;
  let added = 0;
  let src: SourceRepo | null = null;
  for (const u of moved) {
    const branch = u.name.slice("refs/heads/".length);
    for (const review of active.filter((r) => r.sourceBranch === branch)) {
      src ??= await openSource(env, { tenantId: e.tenantId, repoId: e.repoId });
      // The branch as it is now: a message handled late (or out of order) never records an
      // older head after a newer one; a deleted branch records nothing.
      const head = branchTip(src, branch);
      if (head && (await addRevision(src, db, review, head, e.pusher || null))) added++;
    }
  }
  return added;
}

export { listRevisions };
