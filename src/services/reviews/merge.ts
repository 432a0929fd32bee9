// Merging a review by the forge: a fast-forward when the target has nothing the source lacks,
// else a merge commit of a file-level three-way merge (refused, naming the files, when both sides
// changed one differently), written through the push path (push-merge.ts). Then the review is
// merged, the timeline says so and the commits' `fixes #N` apply to the target branch.
import { eq } from "drizzle-orm";
import type { Env } from "../../env";
import type { TenantDb } from "../../db/tenant-db";
import { users } from "../../db/schema";
import { mergeBase } from "../../git/ancestry";
import { commitObject, mergeTrees, type NewObject } from "../../git/merge";
import type { Oid } from "../../git/oid";
import { conflict, ForgeError } from "../../utils/errors";
import { linkPushedCommits } from "../commit-links";
import { protectedRefs, type Project } from "../projects";
import { recordEvent } from "../timeline";
import { ACTIVE_STATUSES, type Actor, listRevisions, listVerdicts, markMerged, type Review } from "./model";
import { pushMerge } from "./push-merge";
import { addRevision, branchTip, openReviewSource } from "./revisions";

export interface MergeInput {
  tenantId: string;
  maxRepoBytes: number;
  project: Project;
  actor: Actor;
  /** Seconds since the epoch for the merge commit (tests pass a fixed one). */
  now?: number;
}

export interface MergeResult {
  kind: "fast-forward" | "merge";
  oid: Oid;
}

/** Why the approval rule holds a merge back, or null when it may go ahead. */
export async function approvalProblem(db: TenantDb, project: Project, review: Review): Promise<string | null> {
  if (!project.protectedNeedApproval) return null;
  if (!protectedRefs(project).includes(`refs/heads/${review.targetBranch}`)) return null;
  const verdicts = await listVerdicts(db, review.id);
  const changes = verdicts.filter((v) => v.verdict === "changes");
  if (changes.length)
    return `${changes.map((v) => v.user).join(", ")} asked for changes: a merge into ${review.targetBranch} waits until they approve.`;
  const author = review.authorId;
  const approvals = await Promise.all(
    verdicts
      .filter((v) => v.verdict === "approve")
      .map(async (v) => (await db.query.users.findFirst({ where: eq(users.username, v.user) }))?.id),
  );
  if (!approvals.some((id) => id !== undefined && id !== author))
    return `${review.targetBranch} is protected: a review merges into it once someone other than its author approves it.`;
  return null;
}

export async function mergeReview(env: Env, db: TenantDb, input: MergeInput, review: Review): Promise<MergeResult> {
  const { project, actor } = input;
  if (!ACTIVE_STATUSES.includes(review.status))
    throw conflict(`Review ${review.number} is ${review.status}: only an open or accepted review merges.`);
  const held = await approvalProblem(db, project, review);
  if (held) throw new ForgeError("conflict", held);
  const src = await openReviewSource(env, input.tenantId, project);
  const revisions = await listRevisions(db, review.id);
  const patches = review.kind === "patches";
  // A patch series' commits are its latest revision, kept under a hidden ref; a branch's, its tip.
  const head = patches ? revisions[revisions.length - 1]!.headOid : branchTip(src, review.sourceBranch);
  const target = branchTip(src, review.targetBranch);
  if (!head) throw conflict(`The source branch ${review.sourceBranch} is gone: push it again to merge this review.`);
  if (!target) throw conflict(`The target branch ${review.targetBranch} is gone: push it again, or close this review.`);
  if (!patches && revisions[revisions.length - 1]?.headOid !== head) {
    // A push the post-push step has not recorded yet: record it, and let people look first.
    const added = await addRevision(src, db, review, head, null);
    throw conflict(
      `${review.sourceBranch} has moved since the revision you saw${added ? `: it is revision ${added.number} now` : ""}. Look at it, then merge.`,
    );
  }
  const base = await mergeBase(src.graph, target, head);
  const source = patches ? `the patches of review ${review.number}` : review.sourceBranch;
  if (base === head) throw conflict(`${review.targetBranch} already has every commit of ${source}: nothing to merge.`);
  let next: Oid;
  let objects: NewObject[] = [];
  let kind: MergeResult["kind"];
  if (base === target) {
    next = head;
    kind = "fast-forward";
  } else {
    const [ours, theirs] = [(await src.graph.commit(target)).tree, (await src.graph.commit(head)).tree];
    const merged = await mergeTrees(src.store, base ? (await src.graph.commit(base)).tree : null, ours, theirs);
    if (!merged.tree) {
      const n = merged.conflicts.length;
      throw new ForgeError(
        "conflict",
        `${source} and ${review.targetBranch} both changed ${n === 1 ? "this file" : `these ${n} files`}: ${merged.conflicts.slice(0, 20).join(", ")}${n > 20 ? ", ..." : ""}. ${patches ? `Upload the series again made on ${review.targetBranch}.` : `Merge ${review.targetBranch} into ${review.sourceBranch} yourself, resolve, and push.`}`,
        { conflicts: merged.conflicts },
      );
    }
    const who = await db.query.users.findFirst({
      where: eq(users.id, actor.id),
      columns: { username: true, displayName: true, email: true },
    });
    const commit = commitObject(
      merged.tree,
      [target, head],
      {
        name: who?.displayName || actor.username,
        email: who?.email ?? `${actor.username}@forge`,
        time: input.now ?? Date.now() / 1000,
      },
      `Merge review #${review.number}: ${review.title}\n\n${patches ? `Apply the patch series of review #${review.number} to` : `Merge branch '${review.sourceBranch}' into`} ${review.targetBranch}`,
    );
    objects = [...merged.objects, commit];
    next = commit.oid;
    kind = "merge";
  }
  await pushMerge(env, {
    tenantId: input.tenantId,
    repoId: project.repoId,
    projectName: project.name,
    pusher: actor.username,
    maxRepoBytes: input.maxRepoBytes,
    protectedRefs: protectedRefs(project),
    ref: `refs/heads/${review.targetBranch}`,
    old: target,
    next,
    objects,
  });
  await markMerged(db, review, next);
  await recordEvent(db, {
    projectId: project.id,
    kind: "review",
    actor: actor.username,
    title: `${actor.username} merged review ${review.number} into ${review.targetBranch}: ${review.title}`,
    payload: { number: review.number, reviewId: review.id, action: "merged", oid: next, kind },
    key: `review:${review.id}:merged`,
  });
  // The review's commits are new to the target: their "fixes #N" apply there (once per commit and issue).
  await linkPushedCommits(env, db, project, {
    tenantId: input.tenantId,
    repoId: project.repoId,
    pusher: actor.username,
    updates: [{ name: `refs/heads/${review.targetBranch}`, old: target, new: next }],
    at: new Date().toISOString(),
    known: [],
  });
  return { kind, oid: next };
}
