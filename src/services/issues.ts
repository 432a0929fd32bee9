// The issue tracker's writes and the issue page: filing issues, changing them (every change is a
// comment that records it), relations, stars. Lists and search are in issue-lists.ts.
import { and, asc, desc, eq, getTableColumns, inArray, or, sql, type SQL } from "drizzle-orm";
import { alias, type SQLiteTable } from "drizzle-orm/sqlite-core";
import type { BatchItem } from "drizzle-orm/batch";
import type { TenantDb } from "../db/tenant-db";
import { issueAttachments, issueComments, issueLabels, issueRelations, issueStars, issues, users } from "../db/schema";
import { canAccess, type ProjectAccess, type Viewer } from "../auth/access";
import { ForgeError, badRequest } from "../utils/errors";
import {
  addLabels,
  defaultClosedStatus,
  defaultOpenStatus,
  labelKey,
  loadConfig,
  normalizeLabels,
  requireStatus,
  type TrackerConfig,
} from "./issue-config";
import { loadViewer } from "./members";
import { findUserByName } from "./users";
import { recordEvent } from "./timeline";

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

const userRef = (u: { id: number; username: string; displayName: string | null }): UserRef => ({
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
async function resolveOwner(db: TenantDb, project: ProjectAccess, username: string | null): Promise<UserRef | null> {
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

const INVERSE: Record<RelationKind, RelationKind> = {
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
function storedRelation(selfId: number, kind: RelationKind, otherId: number): { issueId: number; kind: string; otherId: number } {
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

const relationText = (r: RelationSpec) => `${RELATION_LABELS[r.kind]} #${r.number}`;

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

// Attachments received with a form or an API call, already in R2 (issue-attachments.ts).
export interface NewAttachment {
  id: string;
  key: string;
  filename: string;
  contentType: string;
  size: number;
}

// Filing

export interface IssueInput {
  summary?: string;
  description?: string;
  status?: string;
  state?: "open" | "closed";
  /** Replace the labels with these. */
  labels?: string[];
  /** Add these (a one-value class's label replaces the issue's label of that class). */
  addLabels?: string[];
  removeLabels?: string[];
  /** Username; null or "" clears. */
  owner?: string | null;
  dueDate?: string | null;
  addRelations?: RelationSpec[];
  removeRelations?: RelationSpec[];
}

const TRIAGE_FIELDS = [
  "status",
  "state",
  "labels",
  "addLabels",
  "removeLabels",
  "owner",
  "dueDate",
  "addRelations",
  "removeRelations",
] as const;

function requireTriage(actor: Actor, input: IssueInput): void {
  if (actor.triage) return;
  // An empty list of additions or removals asks for nothing, but `labels: []` replaces the labels
  // with none: a change like any other, so it needs the right like any other.
  const asked = TRIAGE_FIELDS.filter((k) => {
    const v = input[k];
    return v !== undefined && !(k !== "labels" && Array.isArray(v) && v.length === 0);
  });
  if (asked.length) {
    throw new ForgeError(
      "forbidden",
      `Only project members set the status, labels, owner, due date and relations of issues (you sent ${asked.join(", ")}).`,
    );
  }
}

/** The issue's numbers as ids, for relations; every one must be an issue of the project. */
async function resolveNumbers(
  db: TenantDb,
  projectId: number,
  specs: RelationSpec[],
  selfNumber: number | null,
): Promise<Map<number, Issue>> {
  const numbers = [...new Set(specs.map((s) => s.number))];
  if (numbers.length > 20) throw badRequest("Change at most 20 relations at once.");
  for (const n of numbers) {
    if (!Number.isSafeInteger(n) || n < 1) throw badRequest(`"${n}" is not an issue number.`);
    if (n === selfNumber) throw badRequest("An issue cannot be related to itself.");
  }
  if (!numbers.length) return new Map();
  const rows = await db
    .select()
    .from(issues)
    .where(
      and(
        eq(issues.projectId, projectId),
        sql`${issues.number} IN (${sql.join(
          numbers.map((n) => sql`${n}`),
          sql`, `,
        )})`,
      ),
    );
  const found = new Map(rows.map((r) => [r.number, r]));
  const missing = numbers.filter((n) => !found.has(n));
  if (missing.length) throw badRequest(`There is no issue ${missing.map((n) => `#${n}`).join(", ")} in this project.`);
  return found;
}

/** A new issue's id inside the batch that inserts it: ids only grow, and a batch is one transaction. */
const newIssueId = (projectId: number) => sql`(SELECT max(id) FROM ${issues} WHERE project_id = ${projectId})`;

export async function createIssue(
  db: TenantDb,
  project: ProjectAccess & { name: string },
  actor: Actor,
  input: IssueInput & { summary: string },
  attachments: NewAttachment[] = [],
): Promise<Issue> {
  requireTriage(actor, input);
  const config = await loadConfig(db, project.id);
  const summary = cleanSummary(input.summary);
  const description = cleanText(input.description ?? "", "description");
  const status = statusFor(config, input.status, input.state, null);
  const labels = normalizeLabels(config, [...(input.labels ?? []), ...(input.addLabels ?? [])]);
  const owner = input.owner === undefined ? null : await resolveOwner(db, project, input.owner);
  const dueDate = parseDueDate(input.dueDate);
  const related = await resolveNumbers(db, project.id, input.addRelations ?? [], null);
  const now = new Date().toISOString();
  const id = newIssueId(project.id);
  const statements: BatchItem<"sqlite">[] = [
    db
      .insert(issues)
      .values({
        projectId: project.id,
        number: sql`(SELECT coalesce(max(number), 0) + 1 FROM ${issues} WHERE project_id = ${project.id})`,
        summary,
        description,
        status: status.name,
        state: status.state,
        submitterId: actor.user?.id ?? null,
        ownerId: owner?.id ?? null,
        dueDate,
        createdAt: now,
        updatedAt: now,
        closedAt: status.state === "closed" ? now : null,
      })
      .returning(),
  ];
  for (const name of labels) {
    statements.push(db.insert(issueLabels).values({ issueId: id, projectId: project.id, name, nameKey: labelKey(name) }));
  }
  if (actor.user) statements.push(db.insert(issueStars).values({ issueId: id, userId: actor.user.id }).onConflictDoNothing());
  for (const spec of input.addRelations ?? []) {
    // Stored in the active form; the new issue has the largest id, so it is second in "relates".
    const other = related.get(spec.number)!.id;
    const newFirst = spec.kind === "blocks" || spec.kind === "duplicates";
    const kind = spec.kind === "blocked-by" ? "blocks" : spec.kind === "duplicated-by" ? "duplicates" : spec.kind;
    statements.push(
      db
        .insert(issueRelations)
        .values({ issueId: newFirst ? id : other, kind, otherId: newFirst ? other : id, projectId: project.id })
        .onConflictDoNothing(),
    );
  }
  for (const a of attachments) statements.push(attachmentInsert(db, project.id, id, null, a, actor));
  const [inserted] = (await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]))[0] as Issue[];
  const issue = inserted!;
  await recordEvent(db, {
    projectId: project.id,
    kind: "issue",
    actor: actor.user?.username ?? null,
    title: `${actor.user?.username ?? "someone"} opened issue ${issue.number}: ${issue.summary}`,
    payload: { number: issue.number, action: "opened" },
    key: `issue:${issue.id}:opened`,
  });
  return issue;
}

function attachmentInsert(
  db: TenantDb,
  projectId: number,
  issueId: number | SQL,
  commentId: SQL | null,
  a: NewAttachment,
  actor: Actor,
) {
  return db.insert(issueAttachments).values({
    id: a.id,
    issueId,
    projectId,
    commentId,
    filename: a.filename,
    contentType: a.contentType,
    size: a.size,
    r2Key: a.key,
    uploaderId: actor.user?.id ?? null,
  });
}

/**
 * The status an issue gets from what was asked: a status (its state follows), a state alone
 * (the first status of that list, unless the issue is in that state already), or nothing.
 */
function statusFor(
  config: TrackerConfig,
  status: string | undefined,
  state: "open" | "closed" | undefined,
  current: { status: string; state: string } | null,
): { name: string; state: "open" | "closed" } {
  if (status !== undefined && status.trim() !== "") {
    const found = requireStatus(config, status);
    if (state && state !== found.state) throw badRequest(`The status ${found.name} is ${found.state}, not ${state}.`);
    return found;
  }
  if (state && current?.state !== state) {
    return { name: state === "closed" ? defaultClosedStatus(config) : defaultOpenStatus(config), state };
  }
  if (current) return { name: current.status, state: current.state === "closed" ? "closed" : "open" };
  return { name: defaultOpenStatus(config), state: "open" };
}

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
  const idOf = sql`(SELECT id FROM ${issues} WHERE project_id = ${projectId} AND number = ${number})`;
  const other = alias(issues, "other_issue");
  const [issueRows, labelRows, commentRows, attachmentRows, relationRows, starRows] = await db.batch([
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
  ]);
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

function commentView(r: {
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

// Changing

export interface UpdateOptions {
  /** Markdown comment to add. */
  comment?: string;
  attachments?: NewAttachment[];
  /**
   * The version the caller's form showed: if the issue changed since and this update would
   * change fields, it is refused (409) rather than silently undoing someone else's change.
   */
  baseVersion?: number;
  /** Unique key of the comment (commit links): an update already made with it is not made again. */
  key?: string;
  /** May the actor edit the summary and description (members, or the submitter)? Computed when absent. */
  editText?: boolean;
}

export type UpdateResult =
  | { outcome: "updated"; issue: Issue; changes: IssueChanges; commented: boolean; commentId: number }
  | { outcome: "unchanged"; issue: Issue }
  | { outcome: "duplicate"; issue: Issue };

const isUniqueKeyViolation = (err: unknown) =>
  /UNIQUE constraint failed: issue_comments\.key/.test(String((err as Error)?.message ?? err));

/**
 * Changes an issue and records what changed in a comment, atomically: every statement of the
 * batch is conditional on the version the changes were computed from, so a concurrent change
 * makes the whole batch a no-op, and it is computed again from the new state.
 */
export async function updateIssue(
  db: TenantDb,
  project: ProjectAccess & { name: string },
  number: number,
  actor: Actor,
  input: IssueInput,
  opts: UpdateOptions = {},
): Promise<UpdateResult> {
  requireTriage(actor, input);
  const config = await loadConfig(db, project.id);
  const comment = cleanText(opts.comment ?? "", "comment");
  for (let attempt = 0; attempt < 4; attempt++) {
    const detail = await getIssueDetail(db, project.id, number, null);
    if (!detail) throw new ForgeError("not_found", `There is no issue ${number} in ${project.name}.`);
    const { issue } = detail;
    if (opts.key) {
      const done = await db.query.issueComments.findFirst({ where: eq(issueComments.key, opts.key) });
      if (done) return { outcome: "duplicate", issue };
    }
    const plan = await planChanges(db, project, config, detail, actor, input, opts);
    const commented = comment !== "" || (opts.attachments?.length ?? 0) > 0;
    if (!hasChanges(plan.changes) && !commented) return { outcome: "unchanged", issue };
    if (opts.baseVersion !== undefined && opts.baseVersion !== issue.version && hasChanges(plan.changes)) {
      throw new ForgeError(
        "conflict",
        "Someone changed this issue while you were writing. Check the fields (they now show its current state) and send your comment again.",
      );
    }
    const changes: IssueChanges = { ...plan.changes };
    if (opts.attachments?.length) changes.attachments = opts.attachments.map((a) => a.filename);
    const guard = sql`EXISTS (SELECT 1 FROM ${issues} WHERE id = ${issue.id} AND version = ${issue.version})`;
    const now = new Date().toISOString();
    const statements: BatchItem<"sqlite">[] = [...plan.statements(guard)];
    statements.push(
      guardedInsert(
        db,
        issueComments,
        {
          issueId: issue.id,
          projectId: project.id,
          authorId: actor.user?.id ?? null,
          body: comment,
          changes: JSON.stringify(changes),
          key: opts.key ?? null,
          createdAt: now,
        },
        guard,
      ),
    );
    const newCommentId = sql`(SELECT max(id) FROM ${issueComments} WHERE issue_id = ${issue.id})`;
    for (const a of opts.attachments ?? []) {
      statements.push(
        guardedInsert(
          db,
          issueAttachments,
          {
            id: a.id,
            issueId: issue.id,
            projectId: project.id,
            commentId: newCommentId,
            filename: a.filename,
            contentType: a.contentType,
            size: a.size,
            r2Key: a.key,
            uploaderId: actor.user?.id ?? null,
            createdAt: now,
          },
          guard,
        ),
      );
    }
    statements.push(
      db
        .update(issues)
        .set({
          ...plan.set,
          updatedAt: now,
          version: sql`${issues.version} + 1`,
          ...(comment ? { commentCount: sql`${issues.commentCount} + 1` } : {}),
        })
        .where(and(eq(issues.id, issue.id), eq(issues.version, issue.version)))
        .returning(),
    );
    // Still inside the transaction: the comment just written, if the update applied.
    statements.push(
      db
        .select({ id: issueComments.id })
        .from(issueComments)
        .where(eq(issueComments.issueId, issue.id))
        .orderBy(desc(issueComments.id))
        .limit(1),
    );
    let results: unknown[];
    try {
      results = await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    } catch (err) {
      if (opts.key && isUniqueKeyViolation(err)) return { outcome: "duplicate", issue };
      throw err;
    }
    const updated = (results[results.length - 2] as Issue[])[0];
    if (!updated) continue; // changed meanwhile: nothing of the batch applied; compute again
    const commentId = (results[results.length - 1] as { id: number }[])[0]!.id;
    await recordEvent(db, {
      projectId: project.id,
      kind: "issue",
      actor: actor.user?.username ?? null,
      title: describeUpdate(actor, updated, changes, comment !== ""),
      payload: {
        number: updated.number,
        action: changes.status ? (updated.state === "closed" ? "closed" : "reopened") : "updated",
        changes,
      },
      key: `issue:${updated.id}:v${updated.version}`,
    });
    return { outcome: "updated", issue: updated, changes, commented: comment !== "", commentId };
  }
  throw new ForgeError("conflict", "The issue is changing too fast right now; try again.");
}

function describeUpdate(actor: Actor, issue: Issue, changes: IssueChanges, commented: boolean): string {
  const who = actor.user?.username ?? "someone";
  if (changes.status) {
    return `${who} ${issue.state === "closed" ? "closed" : "changed"} issue ${issue.number} (${issue.status}): ${issue.summary}`;
  }
  return `${who} ${commented ? "commented on" : "changed"} issue ${issue.number}: ${issue.summary}`;
}

interface Plan {
  changes: IssueChanges;
  set: Partial<typeof issues.$inferInsert>;
  statements(guard: SQL): BatchItem<"sqlite">[];
}

async function planChanges(
  db: TenantDb,
  project: ProjectAccess,
  config: TrackerConfig,
  detail: IssueDetail,
  actor: Actor,
  input: IssueInput,
  opts: UpdateOptions,
): Promise<Plan> {
  const { issue } = detail;
  const changes: IssueChanges = {};
  const set: Partial<typeof issues.$inferInsert> = {};
  const editText = opts.editText ?? (actor.triage || (actor.user !== null && actor.user.id === issue.submitterId));
  if (input.summary !== undefined) {
    const summary = cleanSummary(input.summary);
    if (summary !== issue.summary) {
      if (!editText) throw new ForgeError("forbidden", "Only project members and the submitter change an issue's summary.");
      changes.summary = [issue.summary, summary];
      set.summary = summary;
    }
  }
  if (input.description !== undefined) {
    const description = cleanText(input.description, "description");
    if (description !== issue.description) {
      if (!editText) throw new ForgeError("forbidden", "Only project members and the submitter change an issue's description.");
      changes.description = true;
      set.description = description;
    }
  }
  const status = statusFor(config, input.status, input.state, issue);
  if (status.name !== issue.status) {
    changes.status = [issue.status, status.name];
    set.status = status.name;
    if (status.state !== issue.state) {
      set.state = status.state;
      set.closedAt = status.state === "closed" ? new Date().toISOString() : null;
    }
  }
  // Labels: replace, or add and remove.
  let labels = detail.labels;
  if (input.labels !== undefined) labels = normalizeLabels(config, input.labels);
  if (input.addLabels?.length) labels = addLabels(config, labels, input.addLabels);
  if (input.removeLabels?.length) {
    const gone = new Set(input.removeLabels.map(labelKey));
    labels = labels.filter((l) => !gone.has(labelKey(l)));
  }
  const before = new Set(detail.labels.map(labelKey));
  const after = new Set(labels.map(labelKey));
  const added = labels.filter((l) => !before.has(labelKey(l)));
  const removed = detail.labels.filter((l) => !after.has(labelKey(l)));
  if (added.length || removed.length) changes.labels = { added, removed };
  if (input.owner !== undefined) {
    const owner = await resolveOwner(db, project, input.owner);
    if ((owner?.id ?? null) !== issue.ownerId) {
      changes.owner = [detail.owner?.username ?? null, owner?.username ?? null];
      set.ownerId = owner?.id ?? null;
    }
  }
  if (input.dueDate !== undefined) {
    const due = parseDueDate(input.dueDate);
    if (due !== issue.dueDate) {
      changes.due = [issue.dueDate, due];
      set.dueDate = due;
    }
  }
  // Relations, as seen from this issue.
  const addRel = input.addRelations ?? [];
  const removeRel = input.removeRelations ?? [];
  const others = await resolveNumbers(db, issue.projectId, [...addRel, ...removeRel], issue.number);
  const has = (r: RelationSpec) => detail.relations.some((x) => x.kind === r.kind && x.number === r.number);
  const relAdded = dedupe(addRel.filter((r) => !has(r)));
  const relRemoved = dedupe(removeRel.filter(has));
  if (relAdded.length || relRemoved.length) {
    changes.relations = { added: relAdded.map(relationText), removed: relRemoved.map(relationText) };
  }
  return {
    changes,
    set,
    statements: (guard) => {
      const out: BatchItem<"sqlite">[] = [];
      if (removed.length) {
        const keys = removed.map(labelKey);
        out.push(db.delete(issueLabels).where(and(eq(issueLabels.issueId, issue.id), inArray(issueLabels.nameKey, keys), guard)));
      }
      for (const l of added) {
        out.push(
          guardedInsert(db, issueLabels, { issueId: issue.id, projectId: issue.projectId, name: l, nameKey: labelKey(l) }, guard),
        );
      }
      for (const r of relRemoved) {
        const s = storedRelation(issue.id, r.kind, others.get(r.number)!.id);
        out.push(
          db
            .delete(issueRelations)
            .where(
              and(
                eq(issueRelations.issueId, s.issueId),
                eq(issueRelations.kind, s.kind),
                eq(issueRelations.otherId, s.otherId),
                guard,
              ),
            ),
        );
      }
      for (const r of relAdded) {
        const s = storedRelation(issue.id, r.kind, others.get(r.number)!.id);
        out.push(guardedInsert(db, issueRelations, { ...s, projectId: issue.projectId }, guard).onConflictDoNothing());
      }
      return out;
    },
  };
}

function dedupe(specs: RelationSpec[]): RelationSpec[] {
  const seen = new Set<string>();
  return specs.filter((s) => {
    const k = `${s.kind}:${s.number}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * INSERT ... SELECT <row> WHERE <guard>: a row written only if the guard holds when the batch
 * reaches it. Values go in the table's column order (drizzle's insert-select writes every
 * column); a missing one is NULL (an id NULL gets the next one).
 */
function guardedInsert(db: TenantDb, table: SQLiteTable, row: Record<string, unknown>, guard: SQL) {
  const values = Object.keys(getTableColumns(table)).map((k) => (row[k] === undefined ? sql`NULL` : sql`${row[k]}`));
  return db.insert(table).select(sql`SELECT ${sql.join(values, sql`, `)} WHERE ${guard}`);
}

// Stars

export async function setStar(db: TenantDb, issueId: number, userId: number, on: boolean): Promise<void> {
  if (on) await db.insert(issueStars).values({ issueId, userId }).onConflictDoNothing();
  else await db.delete(issueStars).where(and(eq(issueStars.issueId, issueId), eq(issueStars.userId, userId)));
}
