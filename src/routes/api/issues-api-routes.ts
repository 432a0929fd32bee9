// The tracker API's OpenAPI description: its JSON schemas (Gitea's field names) and routes, which
// validate every request before issues-api.ts handles it.
import { createRoute, z } from "@hono/zod-openapi";
import { RELATION_KINDS } from "../../services/issues";
import { SORTS } from "../../services/issues/lists";
import { errorResponse, PageQuery, jsonBody, jsonResponse, pagedResponse, locationHeader } from "./responses";

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

const common = {
  400: errorResponse("Invalid request"),
  401: errorResponse("Missing or wrong credentials"),
  403: errorResponse("Not allowed (read-only token, or a member-only field)"),
  404: errorResponse("No such project or issue, or hidden from the caller"),
};

const base = "/api/v1/projects/{project}/issues";
/** The same path as Hono matches it. */
export const ROUTE_BASE = "/api/v1/projects/:project/issues";
const tag = ["Issues"];

export const routes = {
  list: createRoute({
    operationId: "forgeIssuesList",
    method: "get",
    path: base,
    tags: tag,
    summary: "List issues (paginated; Link and X-Total-Count headers)",
    request: { params: ProjectParam, query: ListQuery },
    responses: { 200: pagedResponse(z.array(IssueSchema), "A page of issues"), ...common },
  }),
  create: createRoute({
    operationId: "forgeIssuesCreate",
    method: "post",
    path: base,
    tags: tag,
    summary: "File an issue",
    request: { params: ProjectParam, body: jsonBody(NewIssueSchema) },
    responses: { 201: { ...jsonResponse(IssueSchema, "The issue"), headers: locationHeader }, ...common },
  }),
  get: createRoute({
    operationId: "forgeIssuesGet",
    method: "get",
    path: `${base}/{number}`,
    tags: tag,
    summary: "An issue",
    request: { params: IssueParams },
    responses: { 200: jsonResponse(IssueSchema, "The issue"), ...common },
  }),
  update: createRoute({
    operationId: "forgeIssuesUpdate",
    method: "patch",
    path: `${base}/{number}`,
    tags: tag,
    summary: "Change an issue; what changed is recorded as a comment",
    request: { params: IssueParams, body: jsonBody(IssuePatchSchema) },
    responses: { 200: jsonResponse(IssueSchema, "The issue"), 409: errorResponse("Changing too fast; retry"), ...common },
  }),
  listComments: createRoute({
    operationId: "forgeIssuesListComments",
    method: "get",
    path: `${base}/{number}/comments`,
    tags: tag,
    summary: "An issue's comments, oldest first (paginated)",
    request: { params: IssueParams, query: PageQuery },
    responses: { 200: pagedResponse(z.array(CommentSchema), "A page of comments"), ...common },
  }),
  createComment: createRoute({
    operationId: "forgeIssuesCreateComment",
    method: "post",
    path: `${base}/{number}/comments`,
    tags: tag,
    summary: "Comment on an issue",
    request: { params: IssueParams, body: jsonBody(z.object({ body: z.string().max(65536) }).openapi("NewIssueComment")) },
    responses: { 201: jsonResponse(CommentSchema, "The comment"), ...common },
  }),
  labels: createRoute({
    operationId: "forgeIssuesLabels",
    method: "get",
    path: `${base}/{number}/labels`,
    tags: tag,
    summary: "An issue's labels",
    request: { params: IssueParams },
    responses: { 200: jsonResponse(z.array(LabelSchema), "Labels"), ...common },
  }),
  addLabels: createRoute({
    operationId: "forgeIssuesAddLabels",
    method: "post",
    path: `${base}/{number}/labels`,
    tags: tag,
    summary: "Add labels (a label of a one-value class replaces the issue's label of that class)",
    request: { params: IssueParams, body: jsonBody(LabelsBody) },
    responses: { 200: jsonResponse(z.array(LabelSchema), "The issue's labels"), ...common },
  }),
  replaceLabels: createRoute({
    operationId: "forgeIssuesReplaceLabels",
    method: "put",
    path: `${base}/{number}/labels`,
    tags: tag,
    summary: "Replace the labels (two of one one-value class are refused)",
    request: { params: IssueParams, body: jsonBody(LabelsBody) },
    responses: { 200: jsonResponse(z.array(LabelSchema), "The issue's labels"), ...common },
  }),
  removeLabel: createRoute({
    operationId: "forgeIssuesRemoveLabel",
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
    operationId: "forgeIssuesProjectLabels",
    method: "get",
    path: "/api/v1/projects/{project}/labels",
    tags: tag,
    summary: "The project's predefined labels",
    request: { params: ProjectParam },
    responses: { 200: jsonResponse(z.array(LabelSchema), "Predefined labels"), ...common },
  }),
  attach: createRoute({
    operationId: "forgeIssuesAttach",
    method: "post",
    path: `${base}/{number}/attachments`,
    tags: tag,
    summary:
      "Attach a file: the raw bytes as the body with ?name=<file name>, or multipart/form-data with an `attachment` field (limit: the plan's upload size)",
    request: { params: IssueParams, query: z.object({ name: z.string().max(255).optional() }) },
    responses: {
      201: jsonResponse(z.array(AttachmentSchema), "The stored attachments"),
      413: errorResponse("Larger than the plan allows"),
      ...common,
    },
  }),
};
