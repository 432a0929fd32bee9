// The tracker's REST API under /api/v1/projects/{project}/issues: Gitea's field names where the
// concept is the same (number, title, body, state, labels, assignee, created_at, updated_at), with
// InDefero's status beside state. Every answer goes through canAccess (trackerRights).
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../edge/context";
import { apiIdentity } from "../../edge/session";
import { deniedStatus } from "../../auth/access";
import { findProject, type Project } from "../../services/projects";
import {
  RELATION_KINDS,
  createIssue,
  getIssueDetail,
  listComments,
  trackerRights,
  updateIssue,
  type IssueDetail,
  type IssueInput,
  type TrackerRights,
  type UserRef,
} from "../../services/issues";
import { listIssues, SORTS, type IssueRow } from "../../services/issue-lists";
import { parseSearch } from "../../services/issue-search";
import { labelClass, loadConfig, requireStatus, type TrackerConfig } from "../../services/issue-config";
import { discardAttachments, receiveIssueForm, storeAttachment } from "../../services/issue-attachments";
import type { User } from "../../services/users";
import type { Viewer } from "../../auth/access";
import { ForgeError } from "../../utils/errors";
import { multipartBoundary } from "../../utils/multipart";
import { errorResponse, PageQuery, setPaginationHeaders } from "./responses";

type Ctx = Context<AppEnv>;

const IssueUserSchema = z
  .object({
    id: z.number(),
    login: z.string().openapi({ example: "alice" }),
    username: z.string().openapi({ description: "Same as login" }),
    full_name: z.string(),
  })
  .openapi("IssueUser");

const LabelSchema = z
  .object({
    name: z.string().openapi({ example: "Type:Defect" }),
    class: z
      .string()
      .nullable()
      .openapi({ description: "The part before the colon, lowercase; null for labels without a class" }),
    description: z.string(),
    exclusive: z.boolean().openapi({ description: "Its class is a one-value class: an issue has at most one label of it" }),
  })
  .openapi("IssueLabel");

const RelationSchema = z
  .object({ kind: z.enum(RELATION_KINDS), number: z.number(), title: z.string(), state: z.enum(["open", "closed"]) })
  .openapi("IssueRelation");

const IssueSchema = z
  .object({
    id: z.number(),
    number: z.number().openapi({ description: "Per project" }),
    title: z.string(),
    body: z.string().openapi({ description: "Markdown" }),
    state: z.enum(["open", "closed"]),
    status: z.string().openapi({ description: "InDefero's status; its list (open or closed) gives state", example: "New" }),
    labels: z.array(LabelSchema),
    user: IssueUserSchema.nullable().openapi({ description: "Who filed it" }),
    assignee: IssueUserSchema.nullable().openapi({ description: "The owner" }),
    assignees: z.array(IssueUserSchema),
    comments: z.number(),
    due_date: z.string().nullable().openapi({ description: "YYYY-MM-DD", example: "2026-12-31" }),
    relations: z.array(RelationSchema).optional().openapi({ description: "Single-issue answers only" }),
    created_at: z.string(),
    updated_at: z.string(),
    closed_at: z.string().nullable(),
    html_url: z.string(),
    url: z.string(),
  })
  .openapi("Issue");

const CommentSchema = z
  .object({
    id: z.number(),
    body: z.string(),
    user: IssueUserSchema.nullable(),
    changes: z
      .record(z.string(), z.unknown())
      .openapi({ description: "What the comment changed: status, labels, owner, summary, due, relations, attachments" }),
    created_at: z.string(),
    updated_at: z.string(),
    html_url: z.string(),
  })
  .openapi("IssueComment");

const AttachmentSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    size: z.number(),
    content_type: z.string(),
    browser_download_url: z.string(),
    created_at: z.string(),
  })
  .openapi("IssueAttachment");

const dueDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T.*)?$/, "YYYY-MM-DD (or an RFC 3339 time, whose date is kept)")
  .transform((s) => s.slice(0, 10))
  .nullable();
const RelationInput = z.object({ kind: z.enum(RELATION_KINDS), number: z.number().int().positive() });

const NewIssueSchema = z
  .object({
    title: z.string().max(1000),
    body: z.string().max(65536).optional(),
    labels: z.array(z.string().max(60)).max(20).optional().openapi({ description: "Label names (project members only)" }),
    assignee: z.string().max(40).nullable().optional().openapi({ description: "Owner's username (members only)" }),
    status: z.string().max(30).optional().openapi({ description: "Members only; default: the first open status" }),
    state: z.enum(["open", "closed"]).optional(),
    due_date: dueDate.optional(),
    relations: z.array(RelationInput).max(20).optional(),
  })
  .openapi("NewIssue");

const IssuePatchSchema = z
  .object({
    title: z.string().max(1000).optional(),
    body: z.string().max(65536).optional(),
    state: z.enum(["open", "closed"]).optional(),
    status: z.string().max(30).optional(),
    labels: z.array(z.string().max(60)).max(20).optional().openapi({ description: "Replaces the labels" }),
    assignee: z.string().max(40).nullable().optional().openapi({ description: "null or empty clears" }),
    due_date: dueDate.optional(),
    add_relations: z.array(RelationInput).max(20).optional(),
    remove_relations: z.array(RelationInput).max(20).optional(),
    comment: z.string().max(65536).optional().openapi({ description: "A comment recorded with the change" }),
  })
  .openapi("IssuePatch");

const LabelsBody = z.object({ labels: z.array(z.string().max(60)).max(20) }).openapi("IssueLabelNames");

const ProjectParam = z.object({ project: z.string().openapi({ param: { name: "project", in: "path" }, example: "website" }) });
const IssueParams = ProjectParam.extend({
  number: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "number", in: "path" }, example: 1 }),
});

const ListQuery = PageQuery.extend({
  state: z.enum(["open", "closed", "all"]).optional().openapi({ description: "Default open (all when a status is asked for)" }),
  labels: z.string().max(1000).optional().openapi({ description: "Comma-separated: issues with every one of them" }),
  q: z.string().max(500).optional().openapi({
    description: 'Full-text search (FTS5): words, "phrases", -excluded, prefix*; status:, label:, owner:, by: filters',
  }),
  owner: z.string().max(40).optional().openapi({ description: "Owner's username; none for unowned issues" }),
  submitter: z.string().max(40).optional().openapi({ description: "Who filed them" }),
  status: z.string().max(30).optional(),
  sort: z.enum(SORTS).optional().openapi({ description: "Default: number (newest first); relevance when q is given" }),
  order: z.enum(["asc", "desc"]).optional(),
});

const ok = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
const json = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } }, required: true });

const common = {
  400: errorResponse("Invalid request"),
  401: errorResponse("Missing or wrong credentials"),
  403: errorResponse("Not allowed (read-only token, or a member-only field)"),
  404: errorResponse("No such project or issue, or hidden from the caller"),
};

const base = "/api/v1/projects/{project}/issues";
const tag = ["Issues"];

const routes = {
  list: createRoute({
    method: "get",
    path: base,
    tags: tag,
    summary: "List issues (paginated; Link and X-Total-Count headers)",
    request: { params: ProjectParam, query: ListQuery },
    responses: { 200: ok(z.array(IssueSchema), "A page of issues"), ...common },
  }),
  create: createRoute({
    method: "post",
    path: base,
    tags: tag,
    summary: "File an issue",
    request: { params: ProjectParam, body: json(NewIssueSchema) },
    responses: { 201: ok(IssueSchema, "The issue"), ...common },
  }),
  get: createRoute({
    method: "get",
    path: `${base}/{number}`,
    tags: tag,
    summary: "An issue",
    request: { params: IssueParams },
    responses: { 200: ok(IssueSchema, "The issue"), ...common },
  }),
  update: createRoute({
    method: "patch",
    path: `${base}/{number}`,
    tags: tag,
    summary: "Change an issue; what changed is recorded as a comment",
    request: { params: IssueParams, body: json(IssuePatchSchema) },
    responses: { 200: ok(IssueSchema, "The issue"), 409: errorResponse("Changing too fast; retry"), ...common },
  }),
  listComments: createRoute({
    method: "get",
    path: `${base}/{number}/comments`,
    tags: tag,
    summary: "An issue's comments, oldest first (paginated)",
    request: { params: IssueParams, query: PageQuery },
    responses: { 200: ok(z.array(CommentSchema), "A page of comments"), ...common },
  }),
  createComment: createRoute({
    method: "post",
    path: `${base}/{number}/comments`,
    tags: tag,
    summary: "Comment on an issue",
    request: { params: IssueParams, body: json(z.object({ body: z.string().max(65536) }).openapi("NewIssueComment")) },
    responses: { 201: ok(CommentSchema, "The comment"), ...common },
  }),
  labels: createRoute({
    method: "get",
    path: `${base}/{number}/labels`,
    tags: tag,
    summary: "An issue's labels",
    request: { params: IssueParams },
    responses: { 200: ok(z.array(LabelSchema), "Labels"), ...common },
  }),
  addLabels: createRoute({
    method: "post",
    path: `${base}/{number}/labels`,
    tags: tag,
    summary: "Add labels (a label of a one-value class replaces the issue's label of that class)",
    request: { params: IssueParams, body: json(LabelsBody) },
    responses: { 200: ok(z.array(LabelSchema), "The issue's labels"), ...common },
  }),
  replaceLabels: createRoute({
    method: "put",
    path: `${base}/{number}/labels`,
    tags: tag,
    summary: "Replace the labels (two of one one-value class are refused)",
    request: { params: IssueParams, body: json(LabelsBody) },
    responses: { 200: ok(z.array(LabelSchema), "The issue's labels"), ...common },
  }),
  removeLabel: createRoute({
    method: "delete",
    path: `${base}/{number}/labels/{label}`,
    tags: tag,
    summary: "Remove a label",
    request: {
      params: IssueParams.extend({ label: z.string().openapi({ param: { name: "label", in: "path" }, example: "Type:Defect" }) }),
    },
    responses: { 204: { description: "Removed (or was not there)" }, ...common },
  }),
  projectLabels: createRoute({
    method: "get",
    path: "/api/v1/projects/{project}/labels",
    tags: tag,
    summary: "The project's predefined labels",
    request: { params: ProjectParam },
    responses: { 200: ok(z.array(LabelSchema), "Predefined labels"), ...common },
  }),
  attach: createRoute({
    method: "post",
    path: `${base}/{number}/attachments`,
    tags: tag,
    summary:
      "Attach a file: the raw bytes as the body with ?name=<file name>, or multipart/form-data with an `attachment` field (limit: the plan's upload size)",
    request: { params: IssueParams, query: z.object({ name: z.string().max(255).optional() }) },
    responses: {
      201: ok(z.array(AttachmentSchema), "The stored attachments"),
      413: errorResponse("Larger than the plan allows"),
      ...common,
    },
  }),
};

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

function detailJson(c: Ctx, project: Project, config: TrackerConfig, d: IssueDetail) {
  const i = d.issue;
  const owner = userJson(d.owner);
  return {
    id: i.id,
    number: i.number,
    title: i.summary,
    body: i.description,
    state: i.state === "closed" ? ("closed" as const) : ("open" as const),
    status: i.status,
    labels: d.labels.map((l) => labelJson(config, l)),
    user: userJson(d.submitter),
    assignee: owner,
    assignees: owner ? [owner] : [],
    comments: i.commentCount,
    due_date: i.dueDate,
    relations: d.relations.map((r) => ({
      kind: r.kind,
      number: r.number,
      title: r.summary,
      state: r.state === "closed" ? ("closed" as const) : ("open" as const),
    })),
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    closed_at: i.closedAt,
    ...urls(c, project.name, i.number),
  };
}

function rowJson(c: Ctx, project: Project, config: TrackerConfig, r: IssueRow) {
  const owner =
    r.ownerId !== null && r.owner
      ? { id: r.ownerId, login: r.owner, username: r.owner, full_name: r.ownerDisplayName ?? "" }
      : null;
  return {
    id: r.id,
    number: r.number,
    title: r.summary,
    body: r.description,
    state: r.state === "closed" ? ("closed" as const) : ("open" as const),
    status: r.status,
    labels: r.labels.map((l) => labelJson(config, l)),
    user:
      r.submitterId !== null && r.submitter
        ? { id: r.submitterId, login: r.submitter, username: r.submitter, full_name: r.submitterDisplayName ?? "" }
        : null,
    assignee: owner,
    assignees: owner ? [owner] : [],
    comments: r.commentCount,
    due_date: r.dueDate,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    closed_at: r.closedAt,
    ...urls(c, project.name, r.number),
  };
}

// Access

interface ApiTracker {
  project: Project;
  user: User | null;
  viewer: Viewer;
  rights: TrackerRights;
}

/** The project's tracker for this caller; 404 when they may not read it, 401/403 for writes they may not make. */
async function tracker(c: Ctx, name: string, mode: "read" | "write"): Promise<ApiTracker> {
  const [{ user, viewer }, project] = await Promise.all([apiIdentity(c), findProject(c.get("db"), name)]);
  const rights = project ? trackerRights(viewer, project) : null;
  if (!project || !rights?.read) throw new ForgeError("not_found", `project ${name} not found`);
  if (mode === "write" && !rights.write) {
    const status = deniedStatus(viewer, project, "issues", "write");
    if (status === 401) {
      c.header("WWW-Authenticate", 'token realm="edgeforge"');
      throw new ForgeError("unauthorized", "Sign in, or send Authorization: token <API token>.");
    }
    throw new ForgeError(
      "forbidden",
      viewer.scope !== "write" ? "This token is read-only." : "You may not write to this project's tracker.",
    );
  }
  return { project, user, viewer, rights };
}

const actorOf = (t: ApiTracker) => ({
  user: t.user ? { id: t.user.id, username: t.user.username, displayName: t.user.displayName } : null,
  triage: t.rights.triage,
});

async function issueOr404(c: Ctx, t: ApiTracker, number: number): Promise<IssueDetail> {
  const d = await getIssueDetail(c.get("db"), t.project.id, number, null);
  if (!d) throw new ForgeError("not_found", `issue ${number} not found in ${t.project.name}`);
  return d;
}

export function registerIssueApi(app: OpenAPIHono<AppEnv>): void {
  app.openapi(routes.list, async (c) => {
    c.get("meter").component = "api.issues";
    const { project: name } = c.req.valid("param");
    const q = c.req.valid("query");
    const t = await tracker(c, name, "read");
    const config = await loadConfig(c.get("db"), t.project.id);
    const search = parseSearch(q.q ?? "");
    const status = q.status ?? search.status;
    const labels = [
      ...(q.labels ?? "")
        .split(",")
        .map((l) => l.trim())
        .filter(Boolean),
      ...search.labels,
    ];
    const { items, total } = await listIssues(c.get("db"), t.project.id, {
      // A status names its own list: asking for Fixed finds closed issues.
      state: search.state ?? q.state ?? (status ? "all" : "open"),
      status: status ? requireStatus(config, status).name : undefined,
      labels,
      owner: q.owner ?? search.owner,
      submitter: q.submitter ?? search.submitter,
      match: search.match,
      sort: q.sort ?? (search.match ? "relevance" : "number"),
      order: q.order,
      offset: (q.page - 1) * q.limit,
      limit: q.limit,
      withBody: true,
    });
    setPaginationHeaders(c, total, q.page, q.limit);
    return c.json(
      items.map((r) => rowJson(c, t.project, config, r)),
      200,
    );
  });

  app.openapi(routes.create, async (c) => {
    c.get("meter").component = "api.issues";
    const { project: name } = c.req.valid("param");
    const t = await tracker(c, name, "write");
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
    c.get("meter").component = "api.issues";
    const { project: name, number } = c.req.valid("param");
    const t = await tracker(c, name, "read");
    const [config, d] = await Promise.all([loadConfig(c.get("db"), t.project.id), issueOr404(c, t, number)]);
    return c.json(detailJson(c, t.project, config, d), 200);
  });

  app.openapi(routes.update, async (c) => {
    c.get("meter").component = "api.issues";
    const { project: name, number } = c.req.valid("param");
    const t = await tracker(c, name, "write");
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
    c.get("meter").component = "api.issues";
    const { project: name, number } = c.req.valid("param");
    const { page, limit } = c.req.valid("query");
    const t = await tracker(c, name, "read");
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
    c.get("meter").component = "api.issues";
    const { project: name, number } = c.req.valid("param");
    const t = await tracker(c, name, "write");
    const { body } = c.req.valid("json");
    if (!body.trim()) throw new ForgeError("validation_failed", "body: a comment needs some text");
    const result = await updateIssue(c.get("db"), t.project, number, actorOf(t), {}, { comment: body });
    if (result.outcome !== "updated") throw new ForgeError("internal", "the comment was not recorded");
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
    c.get("meter").component = "api.issues";
    const { project: name, number } = c.req.valid("param");
    const t = await tracker(c, name, "read");
    return c.json(await labelsOf(c, t, number), 200);
  });

  app.openapi(routes.addLabels, async (c) => {
    c.get("meter").component = "api.issues";
    const { project: name, number } = c.req.valid("param");
    const t = await tracker(c, name, "write");
    await updateIssue(c.get("db"), t.project, number, actorOf(t), { addLabels: c.req.valid("json").labels });
    return c.json(await labelsOf(c, t, number), 200);
  });

  app.openapi(routes.replaceLabels, async (c) => {
    c.get("meter").component = "api.issues";
    const { project: name, number } = c.req.valid("param");
    const t = await tracker(c, name, "write");
    await updateIssue(c.get("db"), t.project, number, actorOf(t), { labels: c.req.valid("json").labels });
    return c.json(await labelsOf(c, t, number), 200);
  });

  app.openapi(routes.removeLabel, async (c) => {
    c.get("meter").component = "api.issues";
    const { project: name, number, label } = c.req.valid("param");
    const t = await tracker(c, name, "write");
    await updateIssue(c.get("db"), t.project, number, actorOf(t), { removeLabels: [label] });
    return c.body(null, 204);
  });

  app.openapi(routes.projectLabels, async (c) => {
    c.get("meter").component = "api.issues";
    const { project: name } = c.req.valid("param");
    const t = await tracker(c, name, "read");
    const config = await loadConfig(c.get("db"), t.project.id);
    return c.json(
      config.labels.map((l) => labelJson(config, l.name)),
      200,
    );
  });

  app.openapi(routes.attach, async (c) => {
    c.get("meter").component = "api.issues";
    const { project: name, number } = c.req.valid("param");
    const t = await tracker(c, name, "write");
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
