// Shared pieces of the tracker's pages: loading the project with the viewer's rights, reading
// issue forms (with attachments streamed to R2), and turning form fields into issue changes.
import type { Context } from "hono";
import type { AppEnv, Tracker } from "../../context";
import { webIdentity } from "../../middleware/session";
import { findProject, findProjectForView, type Project } from "../../../services/projects";
import { trackerRights, isRelationKind, type IssueInput, type RelationSpec, type TrackerRights } from "../../../services/issues";
import { ATTACHMENTS_PER_POST, receiveIssueForm, type ReceivedForm } from "../../../services/issues/attachments";
import { splitLabels } from "../../../services/issues/config";
import { multipartBoundary } from "../../../utils/multipart";
import { ForgeError, badRequest } from "../../../utils/errors";
import { readForm } from "../helpers";

export type Ctx = Context<AppEnv>;

export type { Tracker };

/**
 * The project of the URL and what the viewer may do in its tracker; null when they may not read
 * it. Pages (GET) read the project from the isolate's 5-second cache, as the source and project
 * pages do; forms that change something read it fresh. `onProject` runs as soon as the project is
 * known, before the session check is awaited (guards.ts Prefetch).
 */
export async function loadTracker(c: Ctx, onProject?: (project: Project) => void): Promise<Tracker | null> {
  const name = c.req.param("project") ?? "";
  const db = c.get("db");
  const project = await (c.req.method === "GET" ? findProjectForView(db, c.get("tenant").id, name) : findProject(db, name));
  if (project) onProject?.(project);
  const { user, viewer } = await webIdentity(c);
  if (!project) return null;
  const rights = trackerRights(viewer, project);
  return rights.read ? { project, user, viewer, rights } : null;
}

/** Rows of a page of issues. */
export const PAGE_SIZE = 50;

/** The ?page= of a list (1 to 10,000). */
export const pageOf = (c: Ctx) => Math.max(1, Math.min(10_000, Number.parseInt(c.req.query("page") ?? "1", 10) || 1));

/** Sends someone who is signed out to the sign-in page, then back to `next`. */
export const signInTo = (c: Ctx, next: string) => c.redirect(`/account/login?next=${encodeURIComponent(next)}`, 303);

/**
 * The fields of an issue form, and its attachments once stored in R2. Multipart forms stream;
 * the plan's upload limit applies to each file. A refused upload comes back as `error`, with the
 * fields read before it (so the page can show again what was typed) and no attachment kept.
 */
export async function readIssueForm(c: Ctx, t: Tracker): Promise<ReceivedForm & { error?: ForgeError }> {
  const boundary = multipartBoundary(c.req.header("content-type"));
  if (!boundary) return { fields: await readForm(c), attachments: [] };
  const maxBytes = c.get("tenant").plan.maxUploadBytes;
  const length = Number(c.req.header("content-length") ?? "0");
  if (length > maxBytes * ATTACHMENTS_PER_POST + 1024 * 1024) {
    return {
      fields: {},
      attachments: [],
      error: new ForgeError("payload_too_large", "This form is too large: attach fewer or smaller files."),
    };
  }
  const body = c.req.raw.body;
  if (!body) throw badRequest("This form could not be read; reload the page and send it again.");
  const fields: Record<string, string> = {};
  try {
    return await receiveIssueForm(
      body,
      boundary,
      { bucket: c.env.OBJECTS, tenantId: c.get("tenant").id, projectId: t.project.id, maxBytes },
      fields,
    );
  } catch (err) {
    if (err instanceof ForgeError && err.status < 500) return { fields, attachments: [], error: err };
    throw err;
  }
}

/** Issue numbers typed in a field: "3, #5 7". */
export function parseNumbers(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^#?(\d{1,9})$/.exec(part);
    if (!m) throw badRequest(`"${part.slice(0, 20)}" is not an issue number.`);
    out.push(Number(m[1]));
  }
  return out;
}

/** The labels a form names: its one-value class selects (label_<class>) and its free text field. */
export function formLabels(fields: Record<string, string>): string[] | undefined {
  const keys = Object.keys(fields).filter((k) => k.startsWith("label_"));
  if (!keys.length && fields.labels === undefined) return undefined;
  return [...keys.map((k) => fields[k]!).filter(Boolean), ...splitLabels(fields.labels ?? "")];
}

/**
 * What a submitted form asks to change. Only fields the form carries count (a form without a
 * labels field leaves labels alone); triage fields only from those who may triage.
 */
export function inputFromForm(fields: Record<string, string>, rights: TrackerRights): IssueInput {
  const input: IssueInput = {};
  if (fields.summary !== undefined) input.summary = fields.summary;
  if (fields.description !== undefined) input.description = fields.description;
  if (!rights.triage) return input;
  if (fields.status !== undefined && fields.status !== "") input.status = fields.status;
  if (fields.owner !== undefined) input.owner = fields.owner;
  if (fields.due_date !== undefined) input.dueDate = fields.due_date;
  const labels = formLabels(fields);
  if (labels !== undefined) input.labels = labels;
  const numbers = fields.relation_numbers?.trim();
  if (numbers) {
    const kind = fields.relation_kind ?? "relates";
    if (!isRelationKind(kind)) throw badRequest("Choose how the issues are related.");
    input.addRelations = parseNumbers(numbers).map((number): RelationSpec => ({ kind, number }));
  }
  return input;
}
