// OpenAPI routes of the Gitea-compatible tracker API (issues, their comments and labels, the
// repository's labels): Gitea's paths, parameters and bodies, validated before the handlers of
// gitea-issues-api.ts and gitea-labels-api.ts run.
import { createRoute, z } from "@hono/zod-openapi";
import { GiteaPageQuery, giteaError, jsonBody, jsonResponse, locationHeader, pagedResponse } from "./responses";
import { GiteaCommentSchema, GiteaIssueSchema, GiteaLabelSchema, IssueParams, RepoParams, idParam } from "./gitea-schemas";

const rfc3339 = z.string().regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/, "an RFC 3339 date-time");
/** Label ids, or names (Gitea 1.23 takes either). */
const LabelRefs = z
  .array(z.union([z.number().int().positive(), z.string().min(1).max(60)]))
  .max(20)
  .openapi({ description: "Label ids (or names)" });

const ListQuery = GiteaPageQuery.extend({
  state: z.enum(["open", "closed", "all"]).optional().openapi({ description: "Default open" }),
  labels: z.string().max(1000).optional().openapi({ description: "Comma-separated label names: issues with every one" }),
  q: z.string().max(500).optional().openapi({ description: "Search words (full text: title, body, comments)" }),
  type: z.enum(["issues", "pulls"]).optional().openapi({ description: "pulls: always empty (no pull requests here)" }),
  milestones: z.string().max(1000).optional().openapi({ description: "Ignored: the tracker has no milestones" }),
  since: rfc3339.optional().openapi({ description: "Only issues updated at or after this time" }),
  before: rfc3339.optional().openapi({ description: "Only issues updated before this time" }),
  created_by: z.string().max(40).optional(),
  assigned_by: z.string().max(40).optional(),
  mentioned_by: z.string().max(40).optional().openapi({ description: "Not supported: answered with 422" }),
});

const NewIssue = z
  .object({
    title: z.string().min(1).max(1000),
    body: z.string().max(65536).optional(),
    assignee: z.string().max(40).optional(),
    assignees: z.array(z.string().max(40)).max(1).optional().openapi({ description: "At most one: an issue has one owner" }),
    closed: z.boolean().optional(),
    due_date: rfc3339.nullable().optional(),
    labels: LabelRefs.optional(),
    milestone: z.number().int().optional().openapi({ description: "Ignored" }),
    ref: z.string().optional().openapi({ description: "Ignored" }),
  })
  .openapi("GiteaCreateIssueOption");

const EditIssue = z
  .object({
    title: z.string().min(1).max(1000).optional(),
    body: z.string().max(65536).optional(),
    assignee: z.string().max(40).optional().openapi({ description: "Empty clears" }),
    assignees: z.array(z.string().max(40)).max(1).optional().openapi({ description: "At most one; [] clears" }),
    state: z.enum(["open", "closed"]).optional(),
    due_date: rfc3339.nullable().optional(),
    unset_due_date: z.boolean().optional(),
    labels: LabelRefs.optional().openapi({ description: "Replaces the labels (an extension: Gitea edits them apart)" }),
    milestone: z.number().int().optional().openapi({ description: "Ignored" }),
    ref: z.string().optional().openapi({ description: "Ignored" }),
  })
  .openapi("GiteaEditIssueOption");

const LabelsBody = jsonBody(z.object({ labels: LabelRefs }).openapi("GiteaIssueLabelsOption"));
const CommentBody = jsonBody(z.object({ body: z.string().min(1).max(65536) }).openapi("GiteaCommentOption"));
const LabelOption = z
  .object({
    name: z.string().min(1).max(50),
    color: z.string().max(7).openapi({ example: "#e11d21" }),
    description: z.string().max(200).optional(),
    exclusive: z.boolean().optional(),
    is_archived: z.boolean().optional().openapi({ description: "Ignored" }),
  })
  .openapi("GiteaCreateLabelOption");
const EditLabelOption = LabelOption.partial().openapi("GiteaEditLabelOption");

const CommentParams = RepoParams.extend({ id: idParam("id") });
const LabelParams = RepoParams.extend({ id: idParam("id") });
const IssueLabelParams = IssueParams.extend({
  identity: z.string().openapi({ param: { name: "identity", in: "path", required: true }, description: "Label id or name" }),
});

const errors = {
  401: giteaError("Missing or wrong credentials"),
  403: giteaError("Not allowed (read-only token, or a member-only field)"),
  404: giteaError("No such repository, issue, comment or label, or hidden from the caller"),
  422: giteaError("Invalid request"),
};
const tag = ["Gitea issues"];
const repo = "/api/v1/repos/{owner}/{repo}";
const issue = `${repo}/issues/{index}`;
const created = <T extends z.ZodType>(schema: T, what: string) => ({
  ...jsonResponse(schema, what),
  headers: locationHeader,
});

export const routes = {
  list: createRoute({
    method: "get",
    path: `${repo}/issues`,
    operationId: "issueListIssues",
    tags: tag,
    summary: "List issues, newest first",
    request: { params: RepoParams, query: ListQuery },
    responses: { 200: pagedResponse(z.array(GiteaIssueSchema), "A page of issues"), ...errors },
  }),
  create: createRoute({
    method: "post",
    path: `${repo}/issues`,
    operationId: "issueCreateIssue",
    tags: tag,
    summary: "File an issue (labels, assignees and closed: members only)",
    request: { params: RepoParams, body: jsonBody(NewIssue) },
    responses: { 201: created(GiteaIssueSchema, "The issue"), ...errors },
  }),
  get: createRoute({
    method: "get",
    path: issue,
    operationId: "issueGetIssue",
    tags: tag,
    summary: "An issue",
    request: { params: IssueParams },
    responses: { 200: jsonResponse(GiteaIssueSchema, "The issue"), ...errors },
  }),
  edit: createRoute({
    method: "patch",
    path: issue,
    operationId: "issueEditIssue",
    tags: tag,
    summary: "Change an issue; what changed is recorded on it",
    request: { params: IssueParams, body: jsonBody(EditIssue) },
    responses: { 201: jsonResponse(GiteaIssueSchema, "The issue"), 409: giteaError("Changing too fast; retry"), ...errors },
  }),
  comments: createRoute({
    method: "get",
    path: `${issue}/comments`,
    operationId: "issueGetComments",
    tags: tag,
    summary: "An issue's comments (those with text), oldest first",
    request: {
      params: IssueParams,
      query: GiteaPageQuery.extend({ since: rfc3339.optional(), before: rfc3339.optional() }),
    },
    responses: { 200: pagedResponse(z.array(GiteaCommentSchema), "A page of comments"), ...errors },
  }),
  createComment: createRoute({
    method: "post",
    path: `${issue}/comments`,
    operationId: "issueCreateComment",
    tags: tag,
    summary: "Comment on an issue",
    request: { params: IssueParams, body: CommentBody },
    responses: { 201: created(GiteaCommentSchema, "The comment"), ...errors },
  }),
  getComment: createRoute({
    method: "get",
    path: `${repo}/issues/comments/{id}`,
    operationId: "issueGetComment",
    tags: tag,
    summary: "A comment",
    request: { params: CommentParams },
    responses: { 200: jsonResponse(GiteaCommentSchema, "The comment"), ...errors },
  }),
  editComment: createRoute({
    method: "patch",
    path: `${repo}/issues/comments/{id}`,
    operationId: "issueEditComment",
    tags: tag,
    summary: "Change a comment's text (its author, or members)",
    request: { params: CommentParams, body: CommentBody },
    responses: { 200: jsonResponse(GiteaCommentSchema, "The comment"), ...errors },
  }),
  deleteComment: createRoute({
    method: "delete",
    path: `${repo}/issues/comments/{id}`,
    operationId: "issueDeleteComment",
    tags: tag,
    summary: "Delete a comment (its author, or members); what it changed stays recorded",
    request: { params: CommentParams },
    responses: { 204: { description: "Deleted" }, ...errors },
  }),
  issueLabels: createRoute({
    method: "get",
    path: `${issue}/labels`,
    operationId: "issueGetLabels",
    tags: tag,
    summary: "An issue's labels",
    request: { params: IssueParams },
    responses: { 200: jsonResponse(z.array(GiteaLabelSchema), "Labels"), ...errors },
  }),
  addLabels: createRoute({
    method: "post",
    path: `${issue}/labels`,
    operationId: "issueAddLabel",
    tags: tag,
    summary: "Add labels (one of a one-value class replaces the issue's label of that class)",
    request: { params: IssueParams, body: LabelsBody },
    responses: { 200: jsonResponse(z.array(GiteaLabelSchema), "The issue's labels"), ...errors },
  }),
  replaceLabels: createRoute({
    method: "put",
    path: `${issue}/labels`,
    operationId: "issueReplaceLabels",
    tags: tag,
    summary: "Replace the labels",
    request: { params: IssueParams, body: LabelsBody },
    responses: { 200: jsonResponse(z.array(GiteaLabelSchema), "The issue's labels"), ...errors },
  }),
  clearLabels: createRoute({
    method: "delete",
    path: `${issue}/labels`,
    operationId: "issueClearLabels",
    tags: tag,
    summary: "Remove every label",
    request: { params: IssueParams },
    responses: { 204: { description: "Removed" }, ...errors },
  }),
  removeLabel: createRoute({
    method: "delete",
    path: `${issue}/labels/{identity}`,
    operationId: "issueRemoveLabel",
    tags: tag,
    summary: "Remove a label, by id or name",
    request: { params: IssueLabelParams },
    responses: { 204: { description: "Removed" }, ...errors },
  }),
  listLabels: createRoute({
    method: "get",
    path: `${repo}/labels`,
    operationId: "issueListLabels",
    tags: tag,
    summary: "The repository's labels (the tracker's predefined labels)",
    request: { params: RepoParams, query: GiteaPageQuery },
    responses: { 200: pagedResponse(z.array(GiteaLabelSchema), "A page of labels"), ...errors },
  }),
  createLabel: createRoute({
    method: "post",
    path: `${repo}/labels`,
    operationId: "issueCreateLabel",
    tags: tag,
    summary: "Add a predefined label (project owners): Name or Class:Name; exclusive makes its class one-value",
    request: { params: RepoParams, body: jsonBody(LabelOption) },
    responses: { 201: created(GiteaLabelSchema, "The label"), 409: giteaError("A label of that name exists"), ...errors },
  }),
  getLabel: createRoute({
    method: "get",
    path: `${repo}/labels/{id}`,
    operationId: "issueGetLabel",
    tags: tag,
    summary: "A label",
    request: { params: LabelParams },
    responses: { 200: jsonResponse(GiteaLabelSchema, "The label"), ...errors },
  }),
  editLabel: createRoute({
    method: "patch",
    path: `${repo}/labels/{id}`,
    operationId: "issueEditLabel",
    tags: tag,
    summary: "Change a label (project owners); a rename renames it on every issue and gives it a new id",
    request: { params: LabelParams, body: jsonBody(EditLabelOption) },
    responses: { 200: jsonResponse(GiteaLabelSchema, "The label"), 409: giteaError("A label of that name exists"), ...errors },
  }),
  deleteLabel: createRoute({
    method: "delete",
    path: `${repo}/labels/{id}`,
    operationId: "issueDeleteLabel",
    tags: tag,
    summary: "Delete a label (project owners), from the list and from every issue",
    request: { params: LabelParams },
    responses: { 204: { description: "Deleted" }, ...errors },
  }),
};
