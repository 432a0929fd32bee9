// Admin API for tenant backups: export a tenant as one streamed tar archive, and import one
// (staged in R2, verified whole, then restored as a new tenant; services/backup/).
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context";
import { exportStream, tenantToExport } from "../../services/backup/export";
import { importTenant } from "../../services/backup/import";
import { completeUpload, startUpload, uploadPart } from "../../services/backup/upload";
import { ForgeError } from "../../utils/errors";
import { errorResponse, jsonResponse, locationHeader } from "../api/responses";

const ACTOR = "platform-admin";
export const IMPORT_PATH = "/api/v1/tenants/import";
const UPLOADS = "/api/v1/tenants/imports";

/** Request bodies that stream to R2 (archives and their parts), exempt from the JSON body limit. */
export const isBackupUpload = (method: string, path: string) =>
  (method === "POST" && path === IMPORT_PATH) ||
  (method === "PUT" && /^\/api\/v1\/tenants\/imports\/[^/]+\/parts\/\d+$/.test(path));

const Target = z.object({
  slug: z.string().optional().openapi({ description: "restore under this slug instead of the archive's" }),
  host: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .openapi({ description: "restore with this host (repeatable) instead of the archive's" }),
});
const UploadParam = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });
const Restored = z.object({
  slug: z.string(),
  id: z.string(),
  hosts: z.array(z.string()),
  rows: z.number(),
  objects: z.number(),
  repositories: z.number(),
});

const routes = {
  export: createRoute({
    operationId: "adminBackupExport",
    method: "get",
    path: "/api/v1/tenants/{slug}/export",
    summary: "Export a tenant (database, repositories, files) as one tar archive, streamed",
    request: { params: z.object({ slug: z.string().openapi({ param: { name: "slug", in: "path" } }) }) },
    responses: {
      200: {
        description: "The archive: tenant.json, db/, objects/, repos/, manifest.json last (docs/storage.md)",
        content: { "application/x-tar": { schema: z.string().openapi({ format: "binary" }) } },
      },
      404: errorResponse("No such tenant"),
      409: errorResponse("The tenant is still being set up"),
    },
  }),
  import: createRoute({
    operationId: "adminBackupImport",
    method: "post",
    path: IMPORT_PATH,
    summary: "Restore a tenant from an export archive (under its own slug and hosts, or those given)",
    request: {
      query: Target,
      body: { required: true, content: { "application/x-tar": { schema: z.string().openapi({ format: "binary" }) } } },
    },
    responses: {
      201: { ...jsonResponse(Restored, "The restored tenant, active"), headers: locationHeader },
      400: errorResponse("The archive is corrupt, truncated or from a newer forge (nothing was created)"),
      409: errorResponse("The slug or a host is taken (nothing was created)"),
    },
  }),
  startUpload: createRoute({
    operationId: "adminBackupStartUpload",
    method: "post",
    path: UPLOADS,
    summary: "Start uploading an archive in parts (for archives over one request's body limit)",
    request: {
      body: { required: true, content: { "application/json": { schema: z.object({ size: z.number().int().positive() }) } } },
    },
    responses: {
      201: jsonResponse(
        z.object({ id: z.string(), size: z.number(), part_size: z.number(), parts: z.number() }),
        "Upload the parts next",
      ),
    },
  }),
  part: createRoute({
    operationId: "adminBackupPart",
    method: "put",
    path: `${UPLOADS}/{id}/parts/{part}`,
    summary: "Upload part n (bytes [(n-1)*part_size, n*part_size) of the archive)",
    request: {
      params: UploadParam.extend({ part: z.string().openapi({ param: { name: "part", in: "path" } }) }),
      body: { required: true, content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } } },
    },
    responses: { 200: jsonResponse(z.object({ part: z.number(), etag: z.string() }), "The stored part") },
  }),
  complete: createRoute({
    operationId: "adminBackupComplete",
    method: "post",
    path: `${UPLOADS}/{id}/complete`,
    summary: "Join the parts and restore the tenant from the archive (as POST /api/v1/tenants/import)",
    request: {
      params: UploadParam,
      query: Target,
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z.object({ parts: z.array(z.object({ part: z.number().int(), etag: z.string() })).min(1) }),
          },
        },
      },
    },
    responses: {
      201: { ...jsonResponse(Restored, "The restored tenant, active"), headers: locationHeader },
      400: errorResponse("Parts missing, or the archive is corrupt, truncated or from a newer forge (nothing was created)"),
      409: errorResponse("The slug or a host is taken (nothing was created)"),
    },
  }),
};

const hostsOf = (host: string | string[] | undefined) => (host === undefined ? undefined : Array.isArray(host) ? host : [host]);

const restoredJson = (r: Awaited<ReturnType<typeof importTenant>>) => ({
  slug: r.tenant.slug,
  id: r.tenant.id,
  hosts: r.tenant.hosts,
  rows: r.rows,
  objects: r.objects,
  repositories: r.repositories,
});

export function registerBackupRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(routes.export, async (c) => {
    const tenant = await tenantToExport(c.env, c.req.valid("param").slug);
    const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "");
    return new Response(exportStream(c.env, tenant), {
      headers: {
        "content-type": "application/x-tar",
        "content-disposition": `attachment; filename="${tenant.slug}-${stamp}.tar"`,
        "cache-control": "no-store",
      },
    }) as never;
  });
  app.openapi(routes.import, async (c) => {
    const length = Number(c.req.header("content-length"));
    const body = c.req.raw.body;
    if (!body || !Number.isSafeInteger(length) || length <= 0)
      throw new ForgeError("bad_request", "send the archive as the request body, with its Content-Length");
    const { slug, host } = c.req.valid("query");
    const result = await importTenant(c.env, body, length, { slug, hosts: hostsOf(host) }, ACTOR);
    c.header("Location", `/api/v1/tenants/${result.tenant.slug}`);
    return c.json(restoredJson(result), 201);
  });
  app.openapi(routes.startUpload, async (c) => {
    const u = await startUpload(c.env, c.req.valid("json").size);
    return c.json({ id: u.id, size: u.size, part_size: u.partSize, parts: u.parts }, 201);
  });
  app.openapi(routes.part, async (c) => {
    const body = c.req.raw.body;
    if (!body) throw new ForgeError("bad_request", "a part needs a body with Content-Length");
    const { id, part } = c.req.valid("param");
    return c.json(await uploadPart(c.env, id, Number(part), Number(c.req.header("content-length")), body), 200);
  });
  app.openapi(routes.complete, async (c) => {
    const { slug, host } = c.req.valid("query");
    const opts = { slug, hosts: hostsOf(host) };
    const result = await completeUpload(c.env, c.req.valid("param").id, c.req.valid("json").parts, opts, ACTOR);
    c.header("Location", `/api/v1/tenants/${result.tenant.slug}`);
    return c.json(restoredJson(result), 201);
  });
}
