// The Gitea-compatible tracker API: issues (list with Gitea's filters, create, get, edit) and
// their comments, through the tracker's services (the same as its pages and the forge's own
// API); labels are in gitea-labels-api.ts. The guard requireGiteaRepo("issues") decides access.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv, Tracker } from "../context";
import { component } from "../middleware/guards";
import { requireGiteaRepo } from "../middleware/api-guards";
import { createIssue, getIssueDetail, updateIssue, type IssueDetail, type IssueInput } from "../../services/issues";
import { listIssues } from "../../services/issues/lists";
import { parseSearch } from "../../services/issues/search";
import { loadConfig } from "../../services/issues/config";
import { addTextComment, deleteComment, editComment, getTextComment, listTextComments } from "../../services/issues/comments";
import { labelInfo, resolveLabels } from "../../services/gitea/labels";
import { giteaComment, giteaIssueFromDetail, giteaIssueFromRow } from "../../services/gitea/model";
import { ForgeError } from "../../utils/errors";
import { pageOf, setPaginationHeaders } from "./responses";
import { giteaSite } from "./gitea-api";
import { routes } from "./gitea-issues-routes";

type Ctx = Context<AppEnv>;

export const actorOf = (t: Tracker) => ({
  user: t.user ? { id: t.user.id, username: t.user.username, displayName: t.user.displayName } : null,
  triage: t.rights.triage,
});

/** An RFC 3339 time as the stored form (UTC ISO 8601), so string comparisons order them; 422 if it is none. */
export function storedTime(value: string, what: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new ForgeError("validation_failed", `${what}: "${value}" is not an RFC 3339 date-time.`);
  return new Date(t).toISOString();
}

/** A Gitea due date (a date-time) as the tracker's day: its date in UTC. */
const dueDay = (value: string) => storedTime(value, "due_date").slice(0, 10);

/** Gitea's one-or-many assignees as the tracker's one owner: [] clears, two or more are a 422. */
function ownerOf(body: { assignee?: string; assignees?: string[] }): string | null | undefined {
  if (body.assignees !== undefined) {
    if (body.assignees.length > 1) throw new ForgeError("validation_failed", "assignees: an issue here has one owner at most.");
    return body.assignees[0] ?? null;
  }
  if (body.assignee !== undefined) return body.assignee || null;
  return undefined;
}

export async function issueOr404(c: Ctx, t: Tracker, index: number): Promise<IssueDetail> {
  const d = await getIssueDetail(c.get("db"), t.project.id, index, null);
  if (!d) throw new ForgeError("not_found", `issue ${index} not found in ${t.project.name}`);
  return d;
}

/** An issue as Gitea's JSON. */
export async function issueJson(c: Ctx, t: Tracker, d: IssueDetail) {
  const config = await loadConfig(c.get("db"), t.project.id);
  const [site, labelOf] = await Promise.all([giteaSite(c), labelInfo(c.get("db"), t.project.id, config)]);
  return giteaIssueFromDetail(site, t.project, labelOf, d);
}

export function registerGiteaIssuesApi(app: OpenAPIHono<AppEnv>): void {
  const guard = requireGiteaRepo("issues");
  app.use("/api/v1/repos/:owner/:repo/issues", component("api.gitea.issues"), guard);
  app.use("/api/v1/repos/:owner/:repo/issues/*", component("api.gitea.issues"), guard);

  app.openapi(routes.list, async (c) => {
    const q = c.req.valid("query");
    const t = c.get("tracker");
    const { page, limit } = pageOf(q);
    if (q.mentioned_by) throw new ForgeError("validation_failed", "mentioned_by: not supported by this forge.");
    if (q.type === "pulls") {
      setPaginationHeaders(c, 0, page, limit);
      return c.json([], 200);
    }
    const db = c.get("db");
    const config = await loadConfig(db, t.project.id);
    const search = parseSearch(q.q ?? "");
    const labels = [
      ...(q.labels ?? "")
        .split(",")
        .map((l) => l.trim())
        .filter(Boolean),
      ...search.labels,
    ];
    const { items, total } = await listIssues(db, t.project.id, {
      state: search.state ?? q.state ?? "open",
      status: search.status,
      labels,
      owner: q.assigned_by ?? search.owner,
      submitter: q.created_by ?? search.submitter,
      match: search.match,
      updatedSince: q.since ? storedTime(q.since, "since") : undefined,
      updatedBefore: q.before ? storedTime(q.before, "before") : undefined,
      sort: search.match ? "relevance" : "number",
      offset: (page - 1) * limit,
      limit,
      withBody: true,
    });
    setPaginationHeaders(c, total, page, limit);
    const [site, labelOf] = await Promise.all([giteaSite(c), labelInfo(db, t.project.id, config)]);
    return c.json(
      items.map((r) => giteaIssueFromRow(site, t.project, labelOf, r)),
      200,
    );
  });

  app.openapi(routes.create, async (c) => {
    const t = c.get("tracker");
    const body = c.req.valid("json");
    const db = c.get("db");
    const config = await loadConfig(db, t.project.id);
    const input: IssueInput & { summary: string } = { summary: body.title, description: body.body };
    if (body.labels?.length) input.labels = await resolveLabels(db, t.project.id, config, body.labels);
    const owner = ownerOf(body);
    if (owner) input.owner = owner;
    if (body.closed) input.state = "closed";
    if (body.due_date) input.dueDate = dueDay(body.due_date);
    const issue = await createIssue(db, t.project, actorOf(t), input);
    const json = await issueJson(c, t, await issueOr404(c, t, issue.number));
    c.header("Location", json.url);
    return c.json(json, 201);
  });

  app.openapi(routes.get, async (c) => {
    const t = c.get("tracker");
    return c.json(await issueJson(c, t, await issueOr404(c, t, c.req.valid("param").index)), 200);
  });

  app.openapi(routes.edit, async (c) => {
    const { index } = c.req.valid("param");
    const t = c.get("tracker");
    const body = c.req.valid("json");
    const db = c.get("db");
    const input: IssueInput = { summary: body.title, description: body.body, state: body.state, owner: ownerOf(body) };
    if (body.unset_due_date) input.dueDate = null;
    else if (body.due_date !== undefined) input.dueDate = body.due_date === null ? null : dueDay(body.due_date);
    if (body.labels !== undefined) {
      input.labels = await resolveLabels(db, t.project.id, await loadConfig(db, t.project.id), body.labels);
    }
    // A field the caller sends unchanged is no change: only members may touch member-only fields.
    const d = await issueOr404(c, t, index);
    if (input.state === (d.issue.state === "closed" ? "closed" : "open")) input.state = undefined;
    if (input.owner !== undefined && (input.owner ?? "").toLowerCase() === (d.owner?.username ?? "").toLowerCase()) {
      input.owner = undefined;
    }
    if (input.dueDate !== undefined && input.dueDate === d.issue.dueDate) input.dueDate = undefined;
    await updateIssue(db, t.project, index, actorOf(t), input);
    return c.json(await issueJson(c, t, await issueOr404(c, t, index)), 201);
  });

  app.openapi(routes.comments, async (c) => {
    const { index } = c.req.valid("param");
    const q = c.req.valid("query");
    const t = c.get("tracker");
    const { page, limit } = pageOf(q);
    const d = await issueOr404(c, t, index);
    const { items, total } = await listTextComments(c.get("db"), d.issue.id, {
      offset: (page - 1) * limit,
      limit,
      since: q.since ? storedTime(q.since, "since") : undefined,
      before: q.before ? storedTime(q.before, "before") : undefined,
    });
    setPaginationHeaders(c, total, page, limit);
    const site = await giteaSite(c);
    return c.json(
      items.map((cm) => giteaComment(site, t.project, cm)),
      200,
    );
  });

  app.openapi(routes.createComment, async (c) => {
    const { index } = c.req.valid("param");
    const t = c.get("tracker");
    const { body } = c.req.valid("json");
    const result = await addTextComment(c.get("db"), t.project, index, actorOf(t), body);
    const comment = giteaComment(
      await giteaSite(c),
      t.project,
      await getTextComment(c.get("db"), t.project.id, result.commentId),
    );
    // .../issues/{index} -> .../issues/comments/{id}
    c.header("Location", comment.issue_url.replace(/\/\d+$/, `/comments/${comment.id}`));
    return c.json(comment, 201);
  });

  app.openapi(routes.getComment, async (c) => {
    const t = c.get("tracker");
    const comment = await getTextComment(c.get("db"), t.project.id, c.req.valid("param").id);
    return c.json(giteaComment(await giteaSite(c), t.project, comment), 200);
  });

  app.openapi(routes.editComment, async (c) => {
    const t = c.get("tracker");
    const comment = await editComment(c.get("db"), t.project.id, c.req.valid("param").id, actorOf(t), c.req.valid("json").body);
    return c.json(giteaComment(await giteaSite(c), t.project, comment), 200);
  });

  app.openapi(routes.deleteComment, async (c) => {
    const t = c.get("tracker");
    await deleteComment(c.get("db"), t.project.id, c.req.valid("param").id, actorOf(t));
    return c.body(null, 204);
  });
}
