// Admin API for repository imports: a pack uploaded in parts, then indexed server-side by the push
// worker (the edge checks the admin token and finds the repository, the push worker does the work).
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { tenantProjectRepo } from "../../services/tenant-operations";
import { forgetEdgeRefs } from "../../services/repositories";
import { ForgeError } from "../../utils/errors";
import { errorResponse, jsonResponse } from "../api/responses";

const Params = z.object({
  slug: z.string().openapi({ param: { name: "slug", in: "path" } }),
  project: z.string().openapi({ param: { name: "project", in: "path" } }),
});
const ImportParams = Params.extend({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });

const ImportStatus = z
  .object({
    id: z.string(),
    size: z.number(),
    part_size: z.number(),
    parts: z.number(),
    uploaded_parts: z.array(z.number()),
  })
  .openapi("ImportStatus");

const base = "/api/v1/tenants/{slug}/projects/{project}/imports";

const routes = {
  start: createRoute({
    operationId: "adminImportStart",
    method: "post",
    path: base,
    summary: "Start (or resume) importing a pack into an empty repository",
    request: {
      params: Params,
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z.object({
              size: z.number().int().positive(),
              checksum: z
                .string()
                .regex(/^[0-9a-f]{40}$/)
                .openapi({ description: "the pack's trailer checksum" }),
              refs: z.array(z.object({ name: z.string(), oid: z.string() })).min(1),
              head: z.string().openapi({ example: "refs/heads/main" }),
            }),
          },
        },
      },
    },
    responses: {
      201: jsonResponse(ImportStatus, "The import; upload its parts next"),
      404: errorResponse("No such tenant or project"),
      409: errorResponse("The repository is not empty"),
    },
  }),
  status: createRoute({
    operationId: "adminImportStatus",
    method: "get",
    path: `${base}/{id}`,
    summary: "Which parts of an import are uploaded",
    request: { params: ImportParams },
    responses: { 200: jsonResponse(ImportStatus, "The import"), 404: errorResponse("No such import") },
  }),
  part: createRoute({
    operationId: "adminImportPart",
    method: "put",
    path: `${base}/{id}/parts/{part}`,
    summary: "Upload one part (bytes [(part-1)*part_size, part*part_size) of the pack)",
    request: {
      params: ImportParams.extend({ part: z.string().openapi({ param: { name: "part", in: "path" } }) }),
      body: { required: true, content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } } },
    },
    responses: { 200: jsonResponse(ImportStatus, "The import"), 400: errorResponse("Wrong part number or size") },
  }),
  compact: createRoute({
    operationId: "adminImportCompact",
    method: "post",
    path: "/api/v1/tenants/{slug}/projects/{project}/repository/compact",
    summary:
      "Repack the repository now: one pack of everything the refs reach (it also happens by itself); objects no ref reaches are purged",
    request: { params: Params },
    responses: {
      200: jsonResponse(z.object({ compacted: z.number(), deleted: z.number() }), "How many packs were compacted and deleted"),
      404: errorResponse("No such tenant or project"),
    },
  }),
  complete: createRoute({
    operationId: "adminImportComplete",
    method: "post",
    path: `${base}/{id}/complete`,
    summary: "Index and verify the uploaded pack, then publish its refs",
    request: { params: ImportParams },
    responses: {
      200: jsonResponse(
        z.object({ pack: z.string(), objects: z.number(), refs: z.number(), complete: z.boolean(), seconds: z.number() }),
        "The imported pack",
      ),
      400: errorResponse("The pack was refused (corrupt, thin, or missing objects)"),
    },
  }),
};

/** Sends the request on to the push worker's internal repository API and relays its answer. */
async function forward(c: Context<AppEnv>, suffix: string, init: RequestInit, area = "imports"): Promise<Response> {
  if (!c.env.PUSH) throw new ForgeError("unavailable", "the push service is not bound to this worker");
  const { tenantId, repoId } = await tenantProjectRepo(c.env, c.req.param("slug")!, c.req.param("project")!);
  const res = await c.env.PUSH.fetch(`http://push/internal/repos/${tenantId}/${repoId}/${area}${suffix}`, init);
  // A completed import publishes refs, a compaction moves packs: pages here show them at once.
  if (init.method === "POST") await forgetEdgeRefs({ tenantId, repoId });
  return new Response(res.body, { status: res.status, headers: { "content-type": "application/json" } });
}

export function registerImportRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(routes.start, async (c) => forward(c, "", { method: "POST", body: JSON.stringify(c.req.valid("json")) }) as never);
  app.openapi(routes.status, async (c) => forward(c, `/${encodeURIComponent(c.req.param("id"))}`, {}) as never);
  app.openapi(routes.part, async (c) => {
    const length = c.req.header("content-length");
    if (!length || !c.req.raw.body) throw new ForgeError("bad_request", "a part needs a body with Content-Length");
    const { id, part } = c.req.valid("param");
    return forward(c, `/${encodeURIComponent(id)}/parts/${encodeURIComponent(part)}`, {
      method: "PUT",
      headers: { "content-length": length },
      body: c.req.raw.body,
    }) as never;
  });
  app.openapi(routes.compact, async (c) => forward(c, "", { method: "POST" }, "upkeep") as never);
  app.openapi(
    routes.complete,
    async (c) => forward(c, `/${encodeURIComponent(c.req.param("id"))}/complete`, { method: "POST" }) as never,
  );
}
