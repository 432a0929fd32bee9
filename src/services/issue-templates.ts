// Issue templates: a project's prepared summaries and descriptions offered on the new-issue page.
import { and, asc, eq } from "drizzle-orm";
import type { TenantDb } from "../db/tenant-db";
import { issueTemplates } from "../db/schema";
import { badRequest, conflict } from "../utils/errors";
import { cleanText } from "./issues";
import { normalizeLabels, splitLabels, type TrackerConfig } from "./issue-config";

export type IssueTemplate = typeof issueTemplates.$inferSelect;

export const TEMPLATES_MAX = 30;

export async function listTemplates(db: TenantDb, projectId: number): Promise<IssueTemplate[]> {
  return db.select().from(issueTemplates).where(eq(issueTemplates.projectId, projectId)).orderBy(asc(issueTemplates.name));
}

export async function findTemplate(db: TenantDb, projectId: number, id: number): Promise<IssueTemplate | undefined> {
  if (!Number.isSafeInteger(id)) return undefined;
  return db.query.issueTemplates.findFirst({ where: and(eq(issueTemplates.projectId, projectId), eq(issueTemplates.id, id)) });
}

export interface TemplateInput {
  name: string;
  summary: string;
  body: string;
  labels: string;
}

export async function createTemplate(
  db: TenantDb,
  projectId: number,
  config: TrackerConfig,
  input: TemplateInput,
): Promise<IssueTemplate> {
  const name = input.name.replace(/\s+/g, " ").trim();
  if (!name || name.length > 60) throw badRequest("Name the template (at most 60 characters).");
  const summary = input.summary.replace(/\s+/g, " ").trim().slice(0, 200);
  const body = cleanText(input.body, "template");
  const labels = normalizeLabels(config, splitLabels(input.labels)).join(" ");
  if ((await listTemplates(db, projectId)).length >= TEMPLATES_MAX)
    throw badRequest(`A project has at most ${TEMPLATES_MAX} templates.`);
  const [row] = await db
    .insert(issueTemplates)
    .values({ projectId, name, summary, body, labels })
    .onConflictDoNothing()
    .returning();
  if (!row) throw conflict(`There is a template named ${name} already.`);
  return row;
}

export async function deleteTemplate(db: TenantDb, projectId: number, id: number): Promise<void> {
  await db.delete(issueTemplates).where(and(eq(issueTemplates.projectId, projectId), eq(issueTemplates.id, id)));
}
