// The wiki API's OpenAPI description: its JSON schemas and routes under
// /api/v1/projects/{project}/wiki, which validate every request before wiki-api.ts handles it.
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponse, jsonBody, jsonResponse, locationHeader } from "./responses";

const PageSummarySchema = z
  .object({
    name: z.string().openapi({ example: "Install", description: "URL name: letters, digits, - and _" }),
    title: z.string(),
    labels: z.array(z.string()).openapi({ example: ["Featured", "Phase:Draft"] }),
    revision: z.number().openapi({ description: "The current revision's number" }),
    updated_at: z.string(),
    html_url: z.string(),
    url: z.string(),
  })
  .openapi("WikiPageSummary");

const PageSchema = PageSummarySchema.extend({
  content: z.string().openapi({ description: "Markdown" }),
  html: z.string().openapi({ description: "The content rendered (sanitized HTML)" }),
  author: z.string().nullable().openapi({ description: "Who wrote this revision" }),
  comment: z.string().openapi({ description: "What the author said about this revision" }),
  current_revision: z.number().openapi({ description: "The page's current revision (differs from revision for an old one)" }),
}).openapi("WikiPage");

const RevisionSchema = z
  .object({
    number: z.number(),
    title: z.string(),
    labels: z.array(z.string()),
    comment: z.string(),
    author: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("WikiRevision");

const ResourceSchema = z
  .object({
    name: z.string().openapi({ example: "diagram.png" }),
    revision: z.number(),
    content_type: z.string().openapi({ description: "The type it is served with, decided from its bytes and name" }),
    size: z.number(),
    comment: z.string(),
    uploader: z.string().nullable(),
    created_at: z.string(),
    browser_download_url: z.string(),
  })
  .openapi("WikiResource");

const PageInput = {
  title: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: "Default: the name with dashes as spaces (new pages), else unchanged" }),
  content: z
    .string()
    .max(256 * 1024)
    .openapi({ description: "Markdown; [[Page]] links, ![](resource:name.png) files" }),
  labels: z
    .array(z.string().max(60))
    .max(10)
    .optional()
    .openapi({ description: "Featured, Deprecated and one Phase:<name> of the project's phases; omitted: unchanged" }),
  message: z.string().max(500).optional().openapi({ description: "What changed (the revision's comment)" }),
};

const NewPageSchema = z.object({ name: z.string().max(100), ...PageInput }).openapi("NewWikiPage");
const PageUpdateSchema = z
  .object({
    ...PageInput,
    base_revision: z
      .number()
      .int()
      .positive()
      .openapi({ description: "The revision the change was made from: 409 if it is no longer current" }),
  })
  .openapi("WikiPageUpdate");

const ProjectParam = z.object({ project: z.string().openapi({ param: { name: "project", in: "path" }, example: "website" }) });
const PageParams = ProjectParam.extend({
  page: z
    .string()
    .max(100)
    .openapi({ param: { name: "page", in: "path" }, example: "Install" }),
});
const RevisionParams = PageParams.extend({
  revision: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "revision", in: "path" }, example: 1 }),
});
const ResourceParams = PageParams.extend({
  name: z
    .string()
    .max(100)
    .openapi({ param: { name: "name", in: "path" }, example: "diagram.png" }),
});
const RevisionQuery = z.object({ revision: z.coerce.number().int().positive().optional() });

const common = {
  400: errorResponse("Invalid request"),
  401: errorResponse("Missing or wrong credentials"),
  403: errorResponse("Not allowed (read-only token, or not a member)"),
  404: errorResponse("No such project, page, revision or file, or hidden from the caller"),
};
const conflict = { 409: errorResponse("The page changed since base_revision (or already exists, or the revision is its last)") };

const base = "/api/v1/projects/{project}/wiki/pages";
/** The same path as Hono matches it. */
export const WIKI_ROUTE_BASE = "/api/v1/projects/:project/wiki";
const tags = ["Wiki"];

export const wikiRoutes = {
  list: createRoute({
    operationId: "forgeWikiList",
    method: "get",
    path: base,
    tags,
    summary: "List the wiki's pages (by title), or those with a label",
    request: { params: ProjectParam, query: z.object({ label: z.string().max(60).optional() }) },
    responses: { 200: jsonResponse(z.array(PageSummarySchema), "The pages"), ...common },
  }),
  create: createRoute({
    operationId: "forgeWikiCreate",
    method: "post",
    path: base,
    tags,
    summary: "Create a page (its revision 1)",
    request: { params: ProjectParam, body: jsonBody(NewPageSchema) },
    responses: { 201: { ...jsonResponse(PageSchema, "The page"), headers: locationHeader }, ...common, ...conflict },
  }),
  get: createRoute({
    operationId: "forgeWikiGet",
    method: "get",
    path: `${base}/{page}`,
    tags,
    summary: "Get a page: its current revision, or ?revision=N; raw Markdown and rendered HTML",
    request: { params: PageParams, query: RevisionQuery },
    responses: { 200: jsonResponse(PageSchema, "The page"), ...common },
  }),
  update: createRoute({
    operationId: "forgeWikiUpdate",
    method: "put",
    path: `${base}/{page}`,
    tags,
    summary: "Save a new revision of a page, made from base_revision",
    request: { params: PageParams, body: jsonBody(PageUpdateSchema) },
    responses: { 200: jsonResponse(PageSchema, "The page"), ...common, ...conflict },
  }),
  remove: createRoute({
    operationId: "forgeWikiRemove",
    method: "delete",
    path: `${base}/{page}`,
    tags,
    summary: "Delete a page with its revisions and files (members)",
    request: { params: PageParams },
    responses: { 204: { description: "Deleted" }, ...common },
  }),
  revisions: createRoute({
    operationId: "forgeWikiRevisions",
    method: "get",
    path: `${base}/{page}/revisions`,
    tags,
    summary: "List a page's revisions, newest first",
    request: { params: PageParams },
    responses: { 200: jsonResponse(z.array(RevisionSchema), "The revisions"), ...common },
  }),
  revision: createRoute({
    operationId: "forgeWikiRevision",
    method: "get",
    path: `${base}/{page}/revisions/{revision}`,
    tags,
    summary: "Get one revision of a page (Markdown and rendered HTML)",
    request: { params: RevisionParams },
    responses: { 200: jsonResponse(PageSchema, "The revision"), ...common },
  }),
  deleteRevision: createRoute({
    operationId: "forgeWikiDeleteRevision",
    method: "delete",
    path: `${base}/{page}/revisions/{revision}`,
    tags,
    summary: "Delete one revision (members; never the last one)",
    request: { params: RevisionParams },
    responses: { 204: { description: "Deleted" }, ...common, ...conflict },
  }),
  resources: createRoute({
    operationId: "forgeWikiResources",
    method: "get",
    path: `${base}/{page}/resources`,
    tags,
    summary: "List a page's files (the current revision of each)",
    request: { params: PageParams },
    responses: { 200: jsonResponse(z.array(ResourceSchema.extend({ revisions: z.number() })), "The files"), ...common },
  }),
  upload: createRoute({
    operationId: "forgeWikiUpload",
    method: "post",
    path: `${base}/{page}/resources`,
    tags,
    summary: "Upload a file (the raw bytes as the body, ?name=); the same name again is its next revision",
    request: {
      params: PageParams,
      query: z.object({ name: z.string().max(100), message: z.string().max(500).optional() }),
    },
    responses: {
      201: jsonResponse(ResourceSchema, "The stored file"),
      413: errorResponse("Larger than the plan allows"),
      ...common,
      ...conflict,
    },
  }),
  resource: createRoute({
    operationId: "forgeWikiResource",
    method: "get",
    path: `${base}/{page}/resources/{name}`,
    tags,
    summary: "Download a file: its current revision, or ?revision=N",
    request: { params: ResourceParams, query: RevisionQuery },
    responses: {
      200: {
        description: "The file's bytes, with its type",
        content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
      },
      ...common,
    },
  }),
};
