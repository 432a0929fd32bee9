// OpenAPI declarations of the downloads API (/api/v1/projects/{project}/downloads): schemas and routes.
import { createRoute, z } from "@hono/zod-openapi";
import { PageQuery, errorResponse, jsonBody, jsonResponse, pagedResponse } from "./responses";

export const DownloadSchema = z
  .object({
    id: z.string(),
    name: z.string().openapi({ example: "app-1.2.0.tar.gz", description: "Unique in the project; the last part of its URL" }),
    summary: z.string(),
    changelog: z.string().openapi({ description: "Markdown" }),
    labels: z.array(z.string()),
    size: z.number(),
    sha256: z.string().openapi({ description: "Hex SHA-256 of the bytes, computed while they were uploaded; also the ETag" }),
    download_count: z.number(),
    uploader: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    browser_download_url: z.string().openapi({ description: "The stable URL of the file: /p/<project>/downloads/<name>" }),
    html_url: z.string().openapi({ description: "The file's page" }),
    url: z.string(),
  })
  .openapi("Download");

const DownloadPatchSchema = z
  .object({
    summary: z.string().max(300).optional(),
    changelog: z.string().max(65536).optional(),
    labels: z.array(z.string().max(60)).max(20).optional().openapi({ description: "Replaces the labels" }),
  })
  .openapi("DownloadPatch");

const ProjectParam = z.object({ project: z.string().openapi({ param: { name: "project", in: "path" }, example: "website" }) });
const FileParams = ProjectParam.extend({
  name: z.string().openapi({ param: { name: "name", in: "path" }, example: "app-1.2.0.tar.gz" }),
});

const common = {
  400: errorResponse("Invalid request"),
  401: errorResponse("Missing or wrong credentials"),
  403: errorResponse("Not allowed (read-only token, or not a member)"),
  404: errorResponse("No such project or file, or hidden from the caller"),
};

const base = "/api/v1/projects/{project}/downloads";
/** The same paths as Hono matches them. */
export const ROUTE_BASE = "/api/v1/projects/:project/downloads";
const tags = ["Downloads"];

export const routes = {
  list: createRoute({
    operationId: "forgeDownloadsList",
    method: "get",
    path: base,
    tags,
    summary: "List a project's files, newest first (paginated; Link and X-Total-Count headers)",
    request: {
      params: ProjectParam,
      query: PageQuery.extend({
        label: z.string().max(60).optional().openapi({ description: "Only files carrying this label" }),
      }),
    },
    responses: { 200: pagedResponse(z.array(DownloadSchema), "A page of files"), ...common },
  }),
  upload: createRoute({
    operationId: "forgeDownloadsUpload",
    method: "post",
    path: base,
    tags,
    summary:
      "Upload a file: the raw bytes as the request body (streamed to storage, SHA-256 computed on the way), name and description in the query (members; limit: the plan's download size)",
    request: {
      params: ProjectParam,
      query: z.object({
        name: z.string().max(200).openapi({ description: "File name: no slashes or control characters, unique in the project" }),
        summary: z.string().max(300).optional(),
        changelog: z.string().max(65536).optional().openapi({ description: "Markdown" }),
        labels: z.string().max(1000).optional().openapi({ description: "Separated by commas or spaces: Featured, Type:Archive" }),
      }),
    },
    responses: {
      201: jsonResponse(DownloadSchema, "The stored file"),
      409: errorResponse("A file of that name exists"),
      413: errorResponse("Larger than the plan allows (nothing is kept)"),
      ...common,
    },
  }),
  get: createRoute({
    operationId: "forgeDownloadsGet",
    method: "get",
    path: `${base}/{name}`,
    tags,
    summary: "A file's metadata",
    request: { params: FileParams },
    responses: { 200: jsonResponse(DownloadSchema, "The file"), ...common },
  }),
  update: createRoute({
    operationId: "forgeDownloadsUpdate",
    method: "patch",
    path: `${base}/{name}`,
    tags,
    summary: "Change a file's summary, changelog or labels (members; the name and bytes never change)",
    request: { params: FileParams, body: jsonBody(DownloadPatchSchema) },
    responses: { 200: jsonResponse(DownloadSchema, "The file"), ...common },
  }),
  delete: createRoute({
    operationId: "forgeDownloadsDelete",
    method: "delete",
    path: `${base}/{name}`,
    tags,
    summary: "Delete a file and its bytes (members)",
    request: { params: FileParams },
    responses: { 204: { description: "Deleted" }, ...common },
  }),
  file: createRoute({
    operationId: "forgeDownloadsFile",
    method: "get",
    path: `${base}/{name}/file`,
    tags,
    summary: "The file's bytes (Range requests: 206/416; ETag: the SHA-256); counted as a download",
    request: { params: FileParams },
    responses: {
      200: {
        content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
        description: "The file",
      },
      206: { description: "The requested byte range" },
      304: { description: "Not modified (If-None-Match)" },
      416: { description: "The range starts past the end" },
      ...common,
    },
  }),
};
