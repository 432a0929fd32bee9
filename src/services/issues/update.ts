// Changing an issue: every change is a comment that records it (status, labels, owner, summary,
// due date, relations, attachments), applied in one batch and idempotent by its key; and stars.
import { and, desc, eq, getTableColumns, inArray, sql, type SQL } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { BatchItem } from "drizzle-orm/batch";
import type { TenantDb } from "../../db/tenant-db";
import { issueAttachments, issueComments, issueLabels, issueRelations, issueStars, issues } from "../../db/schema";
import type { ProjectAccess } from "../../auth/access";
import { ForgeError } from "../../utils/errors";
import { addLabels, labelKey, loadConfig, normalizeLabels, type TrackerConfig } from "./config";
import { recordEvent } from "../timeline";
import {
  relationText,
  resolveOwner,
  storedRelation,
  cleanSummary,
  cleanText,
  parseDueDate,
  type Actor,
  type Issue,
  type IssueChanges,
  type NewAttachment,
  type RelationSpec,
  hasChanges,
} from "./model";
import { requireTriage, resolveNumbers, statusFor, type IssueInput } from "./create";
import { getIssueDetail, type IssueDetail } from "./read";

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
        issueId: updated.id,
        action: changes.status ? (updated.state === "closed" ? "closed" : "reopened") : "updated",
        // The timeline links the entry to this comment (#c<id> on the issue page).
        comment: commentId,
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
