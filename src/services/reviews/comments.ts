// Commenting on a review: on the whole request, or on one line of a file in a revision, whose
// text is read from the repository (never taken from the client) so that a later revision that
// changes the line marks the comment outdated.
import type { Env } from "../../env";
import type { TenantDb } from "../../db/tenant-db";
import { badRequest } from "../../utils/errors";
import type { Project } from "../projects";
import { type Actor, insertComment, type LinePlace, listRevisions, type Review } from "./model";
import { lineAt, openReviewSource } from "./revisions";

export interface NewComment {
  body: string;
  /** The revision commented on (default: the latest). */
  revision?: number;
  /** A line comment: all three. */
  path?: string;
  side?: string;
  line?: number;
}

export async function commentOnReview(
  env: Env,
  db: TenantDb,
  tenantId: string,
  project: Project,
  review: Review,
  actor: Actor,
  input: NewComment,
): Promise<{ id: number; revision: number }> {
  const revisions = await listRevisions(db, review.id);
  const rev =
    input.revision === undefined ? revisions[revisions.length - 1]! : revisions.find((r) => r.number === input.revision);
  if (!rev) throw badRequest(`Review ${review.number} has no revision ${input.revision} (it has 1 to ${revisions.length}).`);
  let place: LinePlace | null = null;
  if (input.path !== undefined || input.side !== undefined || input.line !== undefined) {
    const { path, side, line } = input;
    if (!path || (side !== "old" && side !== "new") || line === undefined || !Number.isSafeInteger(line) || line < 1)
      throw badRequest("A line comment names a file (path), a side (old or new) and a line number from 1.");
    const src = await openReviewSource(env, tenantId, project);
    place = { path, side, line, lineText: await lineAt(src, rev, { path, side, line }) };
  }
  const id = await insertComment(db, project.id, review, actor, rev.number, input.body, place);
  return { id, revision: rev.number };
}
