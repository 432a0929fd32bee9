// The tracker's vocabulary: issues and their rights (canAccess decides, trackerRights combines),
// validation of fields, relations between issues, and what a change records.
import type { TenantDb } from "../../db/tenant-db";
import type { issueAttachments, issues } from "../../db/schema";
import { canAccess, type ProjectAccess, type Viewer } from "../../auth/access";
import { badRequest } from "../../utils/errors";
import { loadViewer } from "../members";
import { findUserByName } from "../users";

export type Issue = typeof issues.$inferSelect;
export type IssueAttachment = typeof issueAttachments.$inferSelect;

export interface UserRef {
  id: number;
  username: string;
  displayName: string | null;
}

export const SUMMARY_MAX = 200;
export const TEXT_MAX = 65_536;

// Rights

export interface TrackerRights {
  read: boolean;
  /** File issues, comment, star, attach files. */
  write: boolean;
  /** Change status, labels, owner, due date, relations, anyone's summary: project members. */
  triage: boolean;
  /** Edit the tracker's configuration and templates: project owners. */
  configure: boolean;
}

/** What a viewer may do in a project's tracker; canAccess decides, this only combines. */
export function trackerRights(viewer: Viewer, project: ProjectAccess): TrackerRights {
  const read = canAccess(viewer, project, "issues", "read");
  const write = read && canAccess(viewer, project, "issues", "write");
  const role = viewer.roles.get(project.id);
  const member = !!viewer.user?.isAdmin || role === "owner" || role === "member";
  return { read, write, triage: write && member, configure: read && canAccess(viewer, project, "admin", "write") };
}

/** Who makes a change: a user (with their rights), or the forge itself acting on a push. */
export interface Actor {
  user: UserRef | null;
  triage: boolean;
}

export const userRef = (u: { id: number; username: string; displayName: string | null }): UserRef => ({
  id: u.id,
  username: u.username,
  displayName: u.displayName,
});

// Validation

export function cleanSummary(value: string): string {
  const s = value.replace(/\s+/g, " ").trim();
  if (!s) throw badRequest("Give the issue a summary: one line that says what is wrong or wanted.");
  if (s.length > SUMMARY_MAX)
    throw badRequest(`A summary has at most ${SUMMARY_MAX} characters; put the details in the description.`);
  return s;
}

export function cleanText(value: string, what: string): string {
  const s = value.replace(/\r\n/g, "\n");
  if (s.length > TEXT_MAX) throw badRequest(`A ${what} has at most ${TEXT_MAX.toLocaleString("en")} characters.`);
  return s.trim() ? s : "";
}

/** A due date as YYYY-MM-DD; empty means none. */
export function parseDueDate(value: string | null | undefined): string | null {
  const s = (value ?? "").trim();
  if (!s) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!m || !d || d.toISOString().slice(0, 10) !== s)
    throw badRequest(`"${s.slice(0, 30)}" is not a date: write it as YYYY-MM-DD.`);
  return s;
}

/** The owner named by `username`: an active user who may read the project's issues. null clears. */
export async function resolveOwner(db: TenantDb, project: ProjectAccess, username: string | null): Promise<UserRef | null> {
  const name = (username ?? "").trim();
  if (!name) return null;
  const user = await findUserByName(db, name);
  if (!user?.isActive) throw badRequest(`There is no user ${name.slice(0, 40)} to own the issue.`);
  if (!canAccess(await loadViewer(db, user, "read"), project, "issues", "read")) {
    throw badRequest(`${user.username} cannot see this project's issues, so cannot own one.`);
  }
  return userRef(user);
}

// Relations

export const RELATION_KINDS = ["relates", "blocks", "blocked-by", "duplicates", "duplicated-by"] as const;
export type RelationKind = (typeof RELATION_KINDS)[number];
export const isRelationKind = (v: unknown): v is RelationKind => RELATION_KINDS.includes(v as RelationKind);

export const INVERSE: Record<RelationKind, RelationKind> = {
  relates: "relates",
  blocks: "blocked-by",
  "blocked-by": "blocks",
  duplicates: "duplicated-by",
  "duplicated-by": "duplicates",
};

export const RELATION_LABELS: Record<RelationKind, string> = {
  relates: "related to",
  blocks: "blocks",
  "blocked-by": "blocked by",
  duplicates: "duplicates",
  "duplicated-by": "duplicated by",
};

export interface RelationSpec {
  kind: RelationKind;
  number: number;
}

/** Stored once, in the active form (relates with the smaller id first). */
export function storedRelation(
  selfId: number,
  kind: RelationKind,
  otherId: number,
): { issueId: number; kind: string; otherId: number } {
  switch (kind) {
    case "relates":
      return { issueId: Math.min(selfId, otherId), kind, otherId: Math.max(selfId, otherId) };
    case "blocks":
    case "duplicates":
      return { issueId: selfId, kind, otherId };
    case "blocked-by":
      return { issueId: otherId, kind: "blocks", otherId: selfId };
    case "duplicated-by":
      return { issueId: otherId, kind: "duplicates", otherId: selfId };
  }
}

export interface RelationView {
  kind: RelationKind;
  number: number;
  summary: string;
  state: string;
}

export const relationText = (r: RelationSpec) => `${RELATION_LABELS[r.kind]} #${r.number}`;

// Changes

/** What a comment changed, as stored in issue_comments.changes. */
export interface IssueChanges {
  summary?: [string, string];
  description?: true;
  status?: [string, string];
  owner?: [string | null, string | null];
  labels?: { added: string[]; removed: string[] };
  due?: [string | null, string | null];
  relations?: { added: string[]; removed: string[] };
  attachments?: string[];
}

export const hasChanges = (c: IssueChanges) => Object.keys(c).length > 0;

export function parseChanges(json: string): IssueChanges {
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === "object" ? (v as IssueChanges) : {};
  } catch {
    return {};
  }
}

// Attachments received with a form or an API call, already in R2 (attachments.ts).
export interface NewAttachment {
  id: string;
  key: string;
  filename: string;
  contentType: string;
  size: number;
}
