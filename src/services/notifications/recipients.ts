// Who hears of an event: the people who follow it (watchers of the project, the issue or the wiki
// page; an issue's reporter and owner; a review's author, reviewers and commenters) and the
// project's notification addresses for its kind; never who did it, only people who may read it
// (canAccess), as their preferences allow.
import { and, eq, inArray, or } from "drizzle-orm";
import { MAX_BOUND_PARAMETERS, type TenantDb } from "../../db/tenant-db";
import { chunks } from "../../utils/chunks";
import { issueStars, issues, projectMembers, users } from "../../db/schema";
import { notificationPrefs, projectNotifyAddresses, watches } from "../../db/notifications-schema";
import { reviewComments, reviewReviewers, reviews } from "../../db/reviews-schema";
import { canAccess, levelOf, type ProjectRole, type Viewer } from "../../auth/access";
import type { Project } from "../projects";
import { EVENT_AREA, type EventKind } from "../timeline";

/** The kinds a user can turn off one by one (account settings); review events follow `issue`. */
export const PREF_KINDS = ["issue", "push", "wiki", "download"] as const;
export type PrefKind = (typeof PREF_KINDS)[number];
export const prefKindOf = (kind: EventKind): PrefKind => (kind === "review" ? "issue" : kind);

export interface Recipient {
  address: string;
  /** The user it is (their preferences and unsubscribe), or null for a project's address. */
  userId: number | null;
  username: string | null;
}

/** What the event is about, beyond its project: the issue, the wiki page or the review. */
export interface Subject {
  kind: EventKind;
  issueId?: number;
  pageId?: number;
  reviewId?: number;
  /** Username of who did it (events.actor): never told. */
  actor: string | null;
}

const sameAddress = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/** The users who follow the subject, by id (before access, preferences and the actor are checked). */
async function followers(db: TenantDb, project: Project, s: Subject): Promise<Set<number>> {
  const ids = new Set<number>();
  const targets = [and(eq(watches.kind, "project"), eq(watches.targetId, 0))];
  if (s.kind === "wiki" && s.pageId !== undefined) targets.push(and(eq(watches.kind, "wiki"), eq(watches.targetId, s.pageId)));
  const watching = await db
    .select({ userId: watches.userId })
    .from(watches)
    .where(and(eq(watches.projectId, project.id), or(...targets)));
  for (const w of watching) ids.add(w.userId);
  if (s.kind === "issue" && s.issueId !== undefined) {
    const [issue] = await db
      .select({ submitterId: issues.submitterId, ownerId: issues.ownerId })
      .from(issues)
      .where(and(eq(issues.id, s.issueId), eq(issues.projectId, project.id)));
    if (issue?.submitterId) ids.add(issue.submitterId);
    if (issue?.ownerId) ids.add(issue.ownerId);
    for (const star of await db.select({ userId: issueStars.userId }).from(issueStars).where(eq(issueStars.issueId, s.issueId)))
      ids.add(star.userId);
  }
  if (s.kind === "review" && s.reviewId !== undefined) {
    const [review] = await db
      .select({ authorId: reviews.authorId })
      .from(reviews)
      .where(and(eq(reviews.id, s.reviewId), eq(reviews.projectId, project.id)));
    // Only a review of this project (the id comes from the event's payload) lends its people.
    if (review) {
      if (review.authorId) ids.add(review.authorId);
      const [verdicts, commenters] = await db.batch([
        db.select({ userId: reviewReviewers.userId }).from(reviewReviewers).where(eq(reviewReviewers.reviewId, s.reviewId)),
        db
          .selectDistinct({ userId: reviewComments.authorId })
          .from(reviewComments)
          .where(eq(reviewComments.reviewId, s.reviewId)),
      ]);
      for (const v of verdicts) ids.add(v.userId);
      for (const c of commenters) if (c.userId) ids.add(c.userId);
    }
  }
  return ids;
}

/** Everyone to mail about the subject, one entry per address. */
export async function recipientsOf(db: TenantDb, project: Project, s: Subject): Promise<Recipient[]> {
  const ids = [...(await followers(db, project, s))];
  // A review's page shows its diff: its readers are those of the review area and of the source
  // (as routes/web/reviews/shared.ts requireReviews lets in).
  const areas = s.kind === "review" ? [EVENT_AREA.review, EVENT_AREA.push] : [EVENT_AREA[s.kind]];
  const pref = prefKindOf(s.kind);
  const out: Recipient[] = [];
  let actorEmail: string | null = null;
  for (const part of chunks(ids, MAX_BOUND_PARAMETERS - 10)) {
    const [people, roles, prefs] = await db.batch([
      db
        .select({
          id: users.id,
          username: users.username,
          usernameKey: users.usernameKey,
          email: users.email,
          confirmed: users.emailConfirmedAt,
          isActive: users.isActive,
          isAdmin: users.isAdmin,
        })
        .from(users)
        .where(inArray(users.id, part)),
      db
        .select({ userId: projectMembers.userId, role: projectMembers.role })
        .from(projectMembers)
        .where(and(eq(projectMembers.projectId, project.id), inArray(projectMembers.userId, part))),
      db.select().from(notificationPrefs).where(inArray(notificationPrefs.userId, part)),
    ]);
    const roleOf = new Map(roles.map((r) => [r.userId, r.role as ProjectRole]));
    const prefOf = new Map(prefs.map((p) => [p.userId, p]));
    for (const u of people.sort((a, b) => a.id - b.id)) {
      if (s.actor && u.usernameKey === s.actor.toLowerCase()) {
        actorEmail = u.email;
        continue;
      }
      // An unconfirmed address may be someone else's: the forge mails it nothing but the confirmation.
      if (!u.isActive || !u.confirmed) continue;
      const role = roleOf.get(u.id);
      const viewer: Viewer = {
        user: { id: u.id, username: u.username, isAdmin: u.isAdmin },
        roles: new Map(role ? [[project.id, role]] : []),
        scope: "read",
      };
      if (!areas.every((area) => canAccess(viewer, project, area, "read"))) continue;
      const p = prefOf.get(u.id);
      if (p && (!p.enabled || !p[pref])) continue;
      out.push({ address: u.email, userId: u.id, username: u.username });
    }
  }
  if (s.actor && actorEmail === null) {
    const [actor] = await db.select({ email: users.email }).from(users).where(eq(users.usernameKey, s.actor.toLowerCase()));
    actorEmail = actor?.email ?? null;
  }
  // The project's own addresses (set by its owners, who chose to send this area's news there),
  // unless the area is off for everyone.
  const lists = areas.some((area) => levelOf(project, area) === "off")
    ? []
    : await db
        .select({ address: projectNotifyAddresses.address })
        .from(projectNotifyAddresses)
        .where(and(eq(projectNotifyAddresses.projectId, project.id), eq(projectNotifyAddresses.kind, pref)));
  for (const { address } of lists) out.push({ address, userId: null, username: null });
  const seen = new Set<string>();
  return out.filter((r) => {
    const key = r.address.trim().toLowerCase();
    if (seen.has(key) || (actorEmail !== null && sameAddress(r.address, actorEmail))) return false;
    seen.add(key);
    return true;
  });
}
