// The tracker's REST API under /api/v1/projects/{project}/issues: Gitea's field names where the
// concept is the same (number, title, body, state, labels, assignee, created_at, updated_at), with
// InDefero's status beside state. Every answer goes through canAccess (trackerRights).
import type { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv, Tracker } from "../context";
import { component } from "../middleware/guards";
import { apiTracker } from "../middleware/api-guards";
import type { Project } from "../../services/projects";
import {
  createIssue,
  getIssueDetail,
  listComments,
  updateIssue,
  type IssueDetail,
  type IssueInput,
  type UserRef,
} from "../../services/issues";
import { listIssues, type IssueRow } from "../../services/issues/lists";
import { parseSearch } from "../../services/issues/search";
import { labelClass, loadConfig, requireStatus, type TrackerConfig } from "../../services/issues/config";
import { discardAttachments, receiveIssueForm, storeAttachment } from "../../services/issues/attachments";
import { addTextComment } from "../../services/issues/comments";
import { ForgeError } from "../../utils/errors";
import { multipartBoundary } from "../../utils/multipart";
import { setPaginationHeaders } from "./responses";
import { ROUTE_BASE, routes } from "./issues-api-routes";

type Ctx = Context<AppEnv>;

// JSON

const userJson = (u: UserRef | null) =>
  u ? { id: u.id, login: u.username, username: u.username, full_name: u.displayName ?? "" } : null;

function labelJson(config: TrackerConfig, name: string) {
  const cls = labelClass(name);
  const predefined = config.labels.find((l) => l.name.toLowerCase() === name.toLowerCase());
  return {
    name,
    class: cls,
    description: predefined?.description ?? "",
    exclusive: cls !== null && config.oneValueClasses.includes(cls),
  };
}

function urls(c: Ctx, project: string, n: number) {
  const origin = new URL(c.req.url).origin;
  const p = encodeURIComponent(project);
  return { html_url: `${origin}/p/${p}/issues/${n}`, url: `${origin}/api/v1/projects/${p}/issues/${n}` };
}

/** The fields an issue row of a list and an issue of the issue page share. */
type IssueFields = Pick<
  IssueDetail["issue"],
  | "id"
  | "number"
  | "summary"
  | "description"
  | "state"
  | "status"
  | "commentCount"
  | "dueDate"
  | "createdAt"
  | "updatedAt"
  | "closedAt"
>;

/** One mapping for both: a list row and a single issue differ only in where their users come from. */
function issueJson(
  c: Ctx,
  project: Project,
  config: TrackerConfig,
  i: IssueFields,
  labels: string[],
  submitter: UserRef | null,
  ownerRef: UserRef | null,
) {
  const owner = userJson(ownerRef);
  return {
    id: i.id,
    number: i.number,
    title: i.summary,
    body: i.description,
    state: i.state === "closed" ? ("closed" as const) : ("open" as const),
    status: i.status,
    labels: labels.map((l) => labelJson(config, l)),
    user: userJson(submitter),
    assignee: owner,
    assignees: owner ? [owner] : [],
    comments: i.commentCount,
    due_date: i.dueDate,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    closed_at: i.closedAt,
    ...urls(c, project.name, i.number),
  };
}

function detailJson(c: Ctx, project: Project, config: TrackerConfig, d: IssueDetail) {
  return {
    ...issueJson(c, project, config, d.issue, d.labels, d.submitter, d.owner),
    relations: d.relations.map((r) => ({
      kind: r.kind,
      number: r.number,
      title: r.summary,
      state: r.state === "closed" ? ("closed" as const) : ("open" as const),
    })),
  };
}

const refOf = (id: number | null, username: string | null, displayName: string | null): UserRef | null =>
  id !== null && username ? { id, username, displayName } : null;

const rowJson = (c: Ctx, project: Project, config: TrackerConfig, r: IssueRow) =>
  issueJson(
    c,
    project,
    config,
    r,
    r.labels,
    refOf(r.submitterId, r.submitter, r.submitterDisplayName),
    refOf(r.ownerId, r.owner, r.ownerDisplayName),
  );

// Access

type ApiTracker = Tracker;

const actorOf = (t: ApiTracker) => ({
  user: t.user ? { id: t.user.id, username: t.user.username, displayName: t.user.displayName } : null,
  triage: t.rights.triage,
});

async function issueOr404(c: Ctx, t: ApiTracker, number: number): Promise<IssueDetail> {
  const d = await getIssueDetail(c.get("db"), t.project.id, number, null);
  if (!d) throw new ForgeError("not_found", `issue ${number} not found in ${t.project.name}`);
  return d;
}

type ListQuery = z.infer<typeof routes.list.request.query>;

/**
 * A list's reads: the configuration and the page of issues, in parallel. A status is matched as
 * typed (case-insensitively, as the configured spelling would be) and checked afterwards.
 */
function listData(c: Ctx, project: Project, q: ListQuery) {
  const db = c.get("db");
  const search = parseSearch(q.q ?? "");
  const status = q.status ?? search.status;
  const labels = [
    ...(q.labels ?? "")
      .split(",")
      .map((l) => l.trim())
      .filter(Boolean),
    ...search.labels,
  ];
  return Promise.all([
    loadConfig(db, project.id),
    listIssues(db, project.id, {
      // A status names its own list: asking for Fixed finds closed issues.
      state: search.state ?? q.state ?? (status ? "all" : "open"),
      status: status || undefined,
      labels,
      owner: q.owner ?? search.owner,
      submitter: q.submitter ?? search.submitter,
      match: search.match,
      sort: q.sort ?? (search.match ? "relevance" : "number"),
      order: q.order,
      offset: (q.page - 1) * q.limit,
      limit: q.limit,
      withBody: true,
    }),
  ]);
}
type ListData = ReturnType<typeof listData>;

/** The list's reads, started by the guard beside the credential check, for a list request whose query is valid. */
function prefetchList(c: Ctx, project: Project): ListData | null {
  if (c.req.method !== "GET" || !/^\/api\/v1\/projects\/[^/]+\/issues\/?$/.test(c.req.path)) return null;
  const q = routes.list.request.query.safeParse(c.req.query());
  return q.success ? listData(c, project, q.data) : null;
}

export function registerIssueApi(app: OpenAPIHono<AppEnv>): void {
  for (const group of [`${ROUTE_BASE}/*`, "/api/v1/projects/:project/labels"])
    app.use(group, component("api.issues"), apiTracker(prefetchList));
  app.openapi(routes.list, async (c) => {
    const q = c.req.valid("query");
    const t = c.get("tracker");
    const [config, { items, total }] = await ((c.get("prefetched") as ListData | undefined) ?? listData(c, t.project, q));
    // With the configuration now: an unknown status is refused (its results, none, not sent).
    const status = q.status ?? parseSearch(q.q ?? "").status;
    if (status) requireStatus(config, status);
    setPaginationHeaders(c, total, q.page, q.limit);
    return c.json(
      items.map((r) => rowJson(c, t.project, config, r)),
      200,
    );
  });

  app.openapi(routes.create, async (c) => {
    const t = c.get("tracker");
    const body = c.req.valid("json");
    const issue = await createIssue(c.get("db"), t.project, actorOf(t), {
      summary: body.title,
      description: body.body,
      labels: body.labels,
      owner: body.assignee,
      status: body.status,
      state: body.state,
      dueDate: body.due_date,
      addRelations: body.relations,
    });
    const [config, d] = await Promise.all([loadConfig(c.get("db"), t.project.id), issueOr404(c, t, issue.number)]);
    c.header("Location", urls(c, t.project.name, issue.number).url);
    return c.json(detailJson(c, t.project, config, d), 201);
  });

  app.openapi(routes.get, async (c) => {
    const { number } = c.req.valid("param");
    const t = c.get("tracker");
    const [config, d] = await Promise.all([loadConfig(c.get("db"), t.project.id), issueOr404(c, t, number)]);
    return c.json(detailJson(c, t.project, config, d), 200);
  });

  app.openapi(routes.update, async (c) => {
    const { number } = c.req.valid("param");
    const t = c.get("tracker");
    const body = c.req.valid("json");
    const input: IssueInput = {
      summary: body.title,
      description: body.body,
      state: body.state,
      status: body.status,
      labels: body.labels,
      owner: body.assignee,
      dueDate: body.due_date,
      addRelations: body.add_relations,
      removeRelations: body.remove_relations,
    };
    await updateIssue(c.get("db"), t.project, number, actorOf(t), input, { comment: body.comment });
    const [config, d] = await Promise.all([loadConfig(c.get("db"), t.project.id), issueOr404(c, t, number)]);
    return c.json(detailJson(c, t.project, config, d), 200);
  });

  app.openapi(routes.listComments, async (c) => {
    const { number } = c.req.valid("param");
    const { page, limit } = c.req.valid("query");
    const t = c.get("tracker");
    const d = await issueOr404(c, t, number);
    const { items, total } = await listComments(c.get("db"), d.issue.id, { offset: (page - 1) * limit, limit });
    setPaginationHeaders(c, total, page, limit);
    const { html_url } = urls(c, t.project.name, number);
    return c.json(
      items.map((cm) => ({
        id: cm.id,
        body: cm.body,
        user: userJson(cm.author),
        changes: cm.changes as Record<string, unknown>,
        created_at: cm.createdAt,
        updated_at: cm.createdAt,
        html_url: `${html_url}#c${cm.id}`,
      })),
      200,
    );
  });

  app.openapi(routes.createComment, async (c) => {
    const { number } = c.req.valid("param");
    const t = c.get("tracker");
    const { body } = c.req.valid("json");
    const result = await addTextComment(c.get("db"), t.project, number, actorOf(t), body);
    const { html_url } = urls(c, t.project.name, number);
    return c.json(
      {
        id: result.commentId,
        body: body.replace(/\r\n/g, "\n"),
        user: userJson(actorOf(t).user),
        changes: {},
        created_at: result.issue.updatedAt,
        updated_at: result.issue.updatedAt,
        html_url: `${html_url}#c${result.commentId}`,
      },
      201,
    );
  });

  const labelsOf = async (c: Ctx, t: ApiTracker, number: number) => {
    const [config, d] = await Promise.all([loadConfig(c.get("db"), t.project.id), issueOr404(c, t, number)]);
    return d.labels.map((l) => labelJson(config, l));
  };

  app.openapi(routes.labels, async (c) => {
    const { number } = c.req.valid("param");
    const t = c.get("tracker");
    return c.json(await labelsOf(c, t, number), 200);
  });

  app.openapi(routes.addLabels, async (c) => {
    const { number } = c.req.valid("param");
    const t = c.get("tracker");
    await updateIssue(c.get("db"), t.project, number, actorOf(t), { addLabels: c.req.valid("json").labels });
    return c.json(await labelsOf(c, t, number), 200);
  });

  app.openapi(routes.replaceLabels, async (c) => {
    const { number } = c.req.valid("param");
    const t = c.get("tracker");
    await updateIssue(c.get("db"), t.project, number, actorOf(t), { labels: c.req.valid("json").labels });
    return c.json(await labelsOf(c, t, number), 200);
  });

  app.openapi(routes.removeLabel, async (c) => {
    const { number, label } = c.req.valid("param");
    const t = c.get("tracker");
    await updateIssue(c.get("db"), t.project, number, actorOf(t), { removeLabels: [label] });
    return c.body(null, 204);
  });

  app.openapi(routes.projectLabels, async (c) => {
    const t = c.get("tracker");
    const config = await loadConfig(c.get("db"), t.project.id);
    return c.json(
      config.labels.map((l) => labelJson(config, l.name)),
      200,
    );
  });

  app.openapi(routes.attach, async (c) => {
    const { number } = c.req.valid("param");
    const t = c.get("tracker");
    await issueOr404(c, t, number);
    const target = {
      bucket: c.env.OBJECTS,
      tenantId: c.get("tenant").id,
      projectId: t.project.id,
      maxBytes: c.get("tenant").plan.maxUploadBytes,
    };
    const length = Number(c.req.header("content-length") ?? "0");
    const boundary = multipartBoundary(c.req.header("content-type"));
    if (!boundary && length > target.maxBytes)
      throw new ForgeError("payload_too_large", `The file is larger than this forge's limit of ${target.maxBytes} bytes.`);
    const raw = c.req.raw.body;
    if (!raw) throw new ForgeError("bad_request", "Send the file as the request body.");
    let attachments: Awaited<ReturnType<typeof storeAttachment>>[];
    if (boundary) {
      attachments = (await receiveIssueForm(raw, boundary, target)).attachments;
      if (!attachments.length) throw new ForgeError("bad_request", "Send the file in a multipart field named attachment.");
    } else {
      const filename = c.req.valid("query").name;
      if (!filename) throw new ForgeError("bad_request", "Name the file: ?name=<file name>.");
      attachments = [await storeAttachment(raw, filename, target)];
    }
    try {
      await updateIssue(c.get("db"), t.project, number, actorOf(t), {}, { attachments });
    } catch (err) {
      await discardAttachments(c.env.OBJECTS, attachments);
      throw err;
    }
    const origin = new URL(c.req.url).origin;
    const now = new Date().toISOString();
    return c.json(
      attachments.map((a) => ({
        id: a.id,
        name: a.filename,
        size: a.size,
        content_type: a.contentType,
        browser_download_url: `${origin}/p/${encodeURIComponent(t.project.name)}/issues/attachments/${a.id}/${encodeURIComponent(a.filename)}`,
        created_at: now,
      })),
      201,
    );
  });
}
