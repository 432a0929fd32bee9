// Filing an issue: fields checked (triage fields need triage rights), number taken, labels,
// relations and attachments stored with it in one batch, and a timeline entry.
import { and, eq, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { TenantDb } from "../../db/tenant-db";
import { issueAttachments, issueLabels, issueRelations, issueStars, issues } from "../../db/schema";
import type { ProjectAccess } from "../../auth/access";
import { ForgeError, badRequest } from "../../utils/errors";
import {
  defaultClosedStatus,
  defaultOpenStatus,
  labelKey,
  loadConfig,
  normalizeLabels,
  requireStatus,
  type TrackerConfig,
} from "./config";
import { recordEvent } from "../timeline";
import {
  resolveOwner,
  cleanSummary,
  cleanText,
  parseDueDate,
  type Actor,
  type Issue,
  type NewAttachment,
  type RelationSpec,
} from "./model";

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

export function requireTriage(actor: Actor, input: IssueInput): void {
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
export async function resolveNumbers(
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
    payload: { number: issue.number, action: "opened", issueId: issue.id },
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
export function statusFor(
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
