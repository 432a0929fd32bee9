// Admin API for tenant backups: export a tenant as one streamed tar archive, and import one
// (staged in R2, verified whole, then restored as a new tenant; services/backup/).
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context";
import { exportStream, tenantToExport } from "../../services/backup/export";
import { importTenant } from "../../services/backup/import";
import { ForgeError } from "../../utils/errors";
import { errorResponse, jsonResponse } from "../api/responses";

const ACTOR = "platform-admin";
export const IMPORT_PATH = "/api/v1/tenants/import";

const routes = {
  export: createRoute({
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
    method: "post",
    path: IMPORT_PATH,
    summary: "Restore a tenant from an export archive (under its own slug and hosts, or those given)",
    request: {
      query: z.object({
        slug: z.string().optional().openapi({ description: "restore under this slug instead of the archive's" }),
        host: z
          .union([z.string(), z.array(z.string())])
          .optional()
          .openapi({ description: "restore with this host (repeatable) instead of the archive's" }),
      }),
      body: { required: true, content: { "application/x-tar": { schema: z.string().openapi({ format: "binary" }) } } },
    },
    responses: {
      201: jsonResponse(
        z.object({
          slug: z.string(),
          id: z.string(),
          hosts: z.array(z.string()),
          rows: z.number(),
          objects: z.number(),
          repositories: z.number(),
        }),
        "The restored tenant, active",
      ),
      400: errorResponse("The archive is corrupt, truncated or from a newer forge (nothing was created)"),
      409: errorResponse("The slug or a host is taken (nothing was created)"),
    },
  }),
};

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
    const hosts = host === undefined ? undefined : Array.isArray(host) ? host : [host];
    const result = await importTenant(c.env, body, length, { slug, hosts }, ACTOR);
    c.header("Location", `/api/v1/tenants/${result.tenant.slug}`);
    return c.json(
      {
        slug: result.tenant.slug,
        id: result.tenant.id,
        hosts: result.tenant.hosts,
        rows: result.rows,
        objects: result.objects,
        repositories: result.repositories,
      },
      201,
    );
  });
}
