// The downloads REST API under /api/v1/projects/{project}/downloads: list, metadata, upload of a
// raw body streamed to R2, changes, deletion and the bytes themselves. Access: canAccess "downloads".
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { component } from "../middleware/guards";
import { requireApiDownloads } from "../middleware/api-guards";
import { apiIdentity } from "../middleware/session";
import {
  countDownload,
  createDownload,
  deleteDownload,
  discardStored,
  downloadLimit,
  findDownload,
  findDownloadRow,
  listDownloads,
  serveDownload,
  splitLabels,
  storeRawFile,
  checkNewName,
  tooLarge,
  updateDownload,
  type DownloadFile,
} from "../../services/downloads";
import { ForgeError } from "../../utils/errors";
import { detailsHref, fileHref } from "../../views/downloads";
import { setPaginationHeaders } from "./responses";
import { ROUTE_BASE, routes } from "./downloads-api-routes";

type Ctx = Context<AppEnv>;

function fileJson(c: Ctx, project: string, f: DownloadFile) {
  const origin = new URL(c.req.url).origin;
  return {
    id: f.id,
    name: f.name,
    summary: f.summary,
    changelog: f.changelog,
    labels: f.labels,
    size: f.size,
    sha256: f.sha256,
    download_count: f.downloadCount,
    uploader: f.uploader,
    created_at: f.createdAt,
    updated_at: f.updatedAt,
    browser_download_url: origin + fileHref(project, f.name),
    html_url: origin + detailsHref(project, f.name),
    url: `${origin}/api/v1/projects/${encodeURIComponent(project)}/downloads/${encodeURIComponent(f.name)}`,
  };
}

const missing = (name: string) => new ForgeError("not_found", `There is no file named ${name} in this project.`);

async function actor(c: Ctx) {
  const { user } = await apiIdentity(c);
  if (!user) throw new ForgeError("unauthorized", "Sign in, or send Authorization: token <API token>.");
  return user;
}

/** Whether a request is an upload, whose body the route streams itself (no API body limit). */
export const isDownloadUpload = (method: string, path: string) =>
  method === "POST" && /^\/api\/v1\/projects\/[^/]+\/downloads\/?$/.test(path);

export function registerDownloadsApi(app: OpenAPIHono<AppEnv>): void {
  for (const group of [ROUTE_BASE, `${ROUTE_BASE}/*`]) app.use(group, component("api.downloads"), requireApiDownloads);

  app.openapi(routes.list, async (c) => {
    const { page, limit, label } = c.req.valid("query");
    const project = c.get("project");
    const { files, total } = await listDownloads(c.get("db"), project.id, { label, limit, offset: (page - 1) * limit });
    setPaginationHeaders(c, total, page, limit);
    return c.json(
      files.map((f) => fileJson(c, project.name, f)),
      200,
    );
  });

  app.openapi(routes.upload, async (c) => {
    const q = c.req.valid("query");
    const project = c.get("project");
    const db = c.get("db");
    const user = await actor(c);
    const maxBytes = downloadLimit(c.get("tenant").plan);
    // Refused before a byte is read: a bad or taken name, a declared size over the limit.
    await checkNewName(db, project.id, q.name);
    if (Number(c.req.header("content-length") ?? "0") > maxBytes) throw tooLarge(maxBytes);
    const body = c.req.raw.body;
    if (!body) throw new ForgeError("bad_request", "Send the file's bytes as the request body.");
    const stored = await storeRawFile(body, {
      bucket: c.env.OBJECTS,
      tenantId: c.get("tenant").id,
      projectId: project.id,
      maxBytes,
    });
    try {
      const file = await createDownload(
        db,
        project.id,
        user,
        { name: q.name, summary: q.summary ?? "", changelog: q.changelog ?? "", labels: splitLabels(q.labels ?? "") },
        stored,
      );
      return c.json(fileJson(c, project.name, file), 201);
    } catch (err) {
      await discardStored(c.env.OBJECTS, stored);
      throw err;
    }
  });

  app.openapi(routes.get, async (c) => {
    const { name } = c.req.valid("param");
    const project = c.get("project");
    const file = await findDownload(c.get("db"), project.id, name);
    if (!file) throw missing(name);
    return c.json(fileJson(c, project.name, file), 200);
  });

  app.openapi(routes.update, async (c) => {
    const { name } = c.req.valid("param");
    const project = c.get("project");
    if (!(await findDownloadRow(c.get("db"), project.id, name))) throw missing(name);
    const file = await updateDownload(c.get("db"), project.id, name, c.req.valid("json"));
    return c.json(fileJson(c, project.name, file), 200);
  });

  app.openapi(routes.delete, async (c) => {
    const { name } = c.req.valid("param");
    const project = c.get("project");
    await deleteDownload(c.get("db"), c.env.OBJECTS, c.get("tenant").id, project.id, await actor(c), name);
    return c.body(null, 204);
  });

  app.openapi(routes.file, async (c) => {
    const { name } = c.req.valid("param");
    const project = c.get("project");
    const db = c.get("db");
    const file = await findDownloadRow(db, project.id, name);
    if (!file) throw missing(name);
    const served = await serveDownload(c.env.OBJECTS, c.get("tenant").id, file, {
      method: c.req.method,
      header: (n) => c.req.header(n),
    });
    if (!served) throw missing(name);
    if (served.counts) c.executionCtx.waitUntil(countDownload(db, file.id));
    return served.response as never;
  });
}
