// Shared pieces of the tracker's pages: loading the project with the viewer's rights, reading
// issue forms (with attachments streamed to R2), and turning form fields into issue changes.
import type { Context } from "hono";
import type { AppEnv } from "../../edge/context";
import { webIdentity } from "../../edge/session";
import type { Viewer } from "../../auth/access";
import { findProject, type Project } from "../../services/projects";
import type { User } from "../../services/users";
import { trackerRights, isRelationKind, type IssueInput, type RelationSpec, type TrackerRights } from "../../services/issues";
import { ATTACHMENTS_PER_POST, receiveIssueForm, type ReceivedForm } from "../../services/issue-attachments";
import { splitLabels } from "../../services/issue-config";
import { multipartBoundary } from "../../utils/multipart";
import { ForgeError, badRequest } from "../../utils/errors";
import { readForm } from "./helpers";
import { notFoundPage } from "./errors";

export type Ctx = Context<AppEnv>;

export interface Tracker {
  project: Project;
  user: User | null;
  viewer: Viewer;
  rights: TrackerRights;
}

/** The project of the URL and what the viewer may do in its tracker; null when they may not read it. */
export async function loadTracker(c: Ctx): Promise<Tracker | null> {
  const [project, { user, viewer }] = await Promise.all([findProject(c.get("db"), c.req.param("project") ?? ""), webIdentity(c)]);
  if (!project) return null;
  const rights = trackerRights(viewer, project);
  return rights.read ? { project, user, viewer, rights } : null;
}

/** Sends someone who is signed out to the sign-in page, then back to `next`. */
export const signInTo = (c: Ctx, next: string) => c.redirect(`/account/login?next=${encodeURIComponent(next)}`, 303);

type Need = "read" | "write" | "configure";

/**
 * A tracker route: sets the request's component, loads the tracker, and answers 404 to those who
 * may not read it (hidden and missing look alike); writes ask the signed-out to sign in first.
 */
export function trackerRoute(component: string, need: Need, handler: (c: Ctx, t: Tracker) => Response | Promise<Response>) {
  return async (c: Ctx) => {
    c.get("meter").component = component;
    const t = await loadTracker(c);
    if (!t) return notFoundPage(c);
    if (need !== "read") {
      const allowed = need === "write" ? t.rights.write : t.rights.configure;
      if (!allowed) {
        if (!t.user) return signInTo(c, c.req.method === "GET" ? c.req.path : `/p/${t.project.name}/issues/`);
        if (need === "configure") return notFoundPage(c);
        throw new ForgeError("forbidden", "You may read this project's issues but not write to its tracker.");
      }
    }
    return handler(c, t);
  };
}

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
