// Patch reviews: a patch series uploaded by anyone who may take part in reviews (no push access
// needed) is parsed, applied to its base like `git am`, and its commits pushed by the forge under
// the hidden ref refs/reviews/patches/<head> (through the push path, like a merge); the review is
// then an ordinary review whose revision heads are those commits. A series that does not parse or
// apply is refused before anything is written.
import { eq } from "drizzle-orm";
import type { Env } from "../../env";
import type { TenantDb } from "../../db/tenant-db";
import { users } from "../../db/schema";
import type { Person } from "../../git/merge";
import { HIDDEN_REF_PREFIX } from "../../git/ref-names";
import { ZERO_OID, type Oid } from "../../git/oid";
import { badRequest, conflict, ForgeError } from "../../utils/errors";
import { protectedRefs, type Project } from "../projects";
import { forgetEdgeRefs } from "../repositories";
import { resolveRev, type SourceRepo } from "../source";
import { ACTIVE_STATUSES, type Actor, cleanText, cleanTitle, insertReview, type Review, type Revision } from "./model";
import { applySeries, type AppliedSeries } from "./patch-apply";
import { parseSeries, type ParsedSeries } from "./patch-series";
import { pushMerge } from "./push-merge";
import { addRevision, checkBranch, openReviewSource, repoOf } from "./revisions";

export interface PatchUpload {
  /** The series: `git format-patch` output (one mbox or one .patch). */
  series: Uint8Array;
  /** The branch the series is for (and merges into). */
  target: string;
  /** What it applies to: a branch, tag or commit id; default the target's tip. */
  base?: string;
  /** Seconds since the epoch for the commits (tests pass a fixed one). */
  now?: number;
}

export interface PatchReviewInput extends PatchUpload {
  /** Default: the cover letter's subject, else the first patch's. */
  title?: string;
  /** Default: the cover letter's body. */
  description?: string;
}

interface Ctx {
  env: Env;
  db: TenantDb;
  tenantId: string;
  maxRepoBytes: number;
  project: Project;
  actor: Actor;
}

/** The hidden ref that keeps a series' commits (and so its revision) in the repository. */
export const seriesRef = (head: Oid) => `${HIDDEN_REF_PREFIX}patches/${head}`;

/** Opens a review of an uploaded patch series into `target`. */
export async function openPatchReview(ctx: Ctx, input: PatchReviewInput): Promise<Review> {
  const parsed = parseSeries(input.series);
  const title = cleanTitle(input.title?.trim() || parsed.cover?.subject || parsed.patches[0]!.subject);
  const description = cleanText(input.description?.trim() ? input.description : (parsed.cover?.body ?? ""), "description");
  const src = await freshSource(ctx);
  const { base, applied } = await applyUpload(ctx, src, parsed, input, title);
  await storeSeries(ctx, applied);
  try {
    return await insertReview(ctx.db, ctx.project.id, ctx.actor, {
      title,
      description,
      kind: "patches",
      sourceBranch: "",
      targetBranch: input.target.trim(),
      head: applied.head,
      base,
    });
  } catch (err) {
    // No review: no hidden ref kept for it either.
    await dropSeries(ctx, applied.head).catch(() => {});
    throw err;
  }
}

/** Uploads a new version of a patch review's series: its next revision. */
export async function addPatchRevision(ctx: Ctx, review: Review, upload: PatchUpload, mayManage: boolean): Promise<Revision> {
  if (review.kind !== "patches")
    throw conflict(`Review ${review.number} is of the branch ${review.sourceBranch}: push to it to add a revision.`);
  if (!ACTIVE_STATUSES.includes(review.status))
    throw conflict(`Review ${review.number} is ${review.status}: only an open or accepted review takes a new version.`);
  if (review.authorId !== ctx.actor.id && !mayManage)
    throw new ForgeError("forbidden", "Only the review's author, or those who may push, upload a new version of its patches.");
  const parsed = parseSeries(upload.series);
  const src = await freshSource(ctx);
  const { base, applied } = await applyUpload(ctx, src, parsed, { ...upload, target: review.targetBranch }, review.title);
  await storeSeries(ctx, applied);
  // The new commits are in the repository now: read them through a fresh snapshot (pushMerge dropped the copy).
  const fresh = await openReviewSource(ctx.env, ctx.tenantId, ctx.project);
  const revision = await addRevision(fresh, ctx.db, review, applied.head, ctx.actor.username, base);
  // Only a race gets here (the hidden ref of an existing head refuses the push above); its ref is
  // that revision's, so it stays.
  if (!revision) throw conflict(`Review ${review.number} has this very series as a revision already.`);
  return revision;
}

/** The repository as it is now (not the data centre's copy of its refs, up to 5 s old): the series applies to the target's tip. */
async function freshSource(ctx: Ctx): Promise<SourceRepo> {
  await forgetEdgeRefs(repoOf(ctx.tenantId, ctx.project));
  return openReviewSource(ctx.env, ctx.tenantId, ctx.project);
}

async function applyUpload(
  ctx: Ctx,
  src: SourceRepo,
  parsed: ParsedSeries,
  input: PatchUpload,
  title: string,
): Promise<{ base: Oid; applied: AppliedSeries }> {
  const tip = checkBranch(src, input.target, "target");
  let base = tip;
  if (input.base?.trim()) {
    const rev = await resolveRev(src, input.base.trim());
    if (!rev)
      throw badRequest(`There is no branch, tag or commit ${input.base.trim()} in this repository to apply the patches to.`);
    base = rev.commit;
  }
  const who = await ctx.db.query.users.findFirst({
    where: eq(users.id, ctx.actor.id),
    columns: { username: true, displayName: true, email: true },
  });
  const uploader: Person = {
    name: who?.displayName || ctx.actor.username,
    email: who?.email ?? `${ctx.actor.username}@forge`,
    time: input.now ?? Math.floor(Date.now() / 1000),
  };
  const tree = (await src.graph.commit(base)).tree;
  return { base, applied: await applySeries(src.store, { commit: base, tree }, parsed.patches, uploader, uploader, title) };
}

/** Moves a series' hidden ref through the push path (quota, connectivity, atomic update). */
async function moveSeriesRef(ctx: Ctx, head: Oid, old: Oid, next: Oid, objects: AppliedSeries["objects"]): Promise<void> {
  await pushMerge(ctx.env, {
    tenantId: ctx.tenantId,
    repoId: ctx.project.repoId,
    projectName: ctx.project.name,
    pusher: ctx.actor.username,
    maxRepoBytes: ctx.maxRepoBytes,
    protectedRefs: protectedRefs(ctx.project),
    ref: seriesRef(head),
    old,
    next,
    objects,
    hidden: true,
  });
}

/** Pushes the series' objects under its hidden ref. */
const storeSeries = (ctx: Ctx, applied: AppliedSeries) =>
  moveSeriesRef(ctx, applied.head, ZERO_OID, applied.head, applied.objects);

/** Deletes the hidden ref of a series whose review was not stored. */
const dropSeries = (ctx: Ctx, head: Oid) => moveSeriesRef(ctx, head, head, ZERO_OID, []);
