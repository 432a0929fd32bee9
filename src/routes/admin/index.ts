// The platform host: the admin API (tenants, hosts, provisioning helpers, telemetry), the health
// check and the operations pages.
import { createRoute, z } from "@hono/zod-openapi";
import type { TenantRecord } from "../../storage/directory";
import * as tenants from "../../services/tenants";
import { createTenantProject, mintTenantUserToken } from "../../services/tenant-operations";
import { newMeter } from "../../obs/meter";
import { meterOf } from "../../obs/request-meter";
import { PROJECT_NAME } from "../../services/projects";
import { registerImportRoutes } from "./imports";
import { isBackupUpload, registerBackupRoutes } from "./backup";
import { registerTelemetryRoutes } from "./telemetry-api";
import { registerOpsRoutes } from "./ops";
import { requireAdminBearer } from "./admin-auth";
import { opsScriptPath } from "../../views/ops-script";
import {
  apiApp,
  apiBodyLimit,
  errorResponse,
  PageQuery,
  setPaginationHeaders,
  jsonBody,
  jsonResponse,
  pagedResponse,
  locationHeader,
} from "../api/responses";
import { registerMigrationRoutes } from "./migrations";

const ACTOR = "platform-admin";

/** Pages of the operations UI: signed in by cookie (admin-auth.ts), not by bearer token. */
const isBrowserPath = (path: string) =>
  path === "/admin" ||
  path === "/admin/login" ||
  path === "/admin/logout" ||
  path === opsScriptPath ||
  path === "/admin/ops" ||
  path.startsWith("/admin/ops/");

const PlanSchema = z
  .object({
    name: z.string().min(1).max(40),
    max_repo_bytes: z.number().int().positive(),
    max_upload_bytes: z.number().int().positive(),
    max_download_bytes: z.number().int().positive().optional().openapi({ description: "Largest file of a downloads area" }),
  })
  .openapi("Plan");

const TenantSchema = z
  .object({
    id: z.string(),
    slug: z.string().openapi({ example: "acme" }),
    name: z.string().openapi({ example: "Acme Corp forge" }),
    status: z.enum(["provisioning", "active", "suspended", "deleting"]),
    suspend_reason: z.string().nullable(),
    hosts: z.array(z.string()).openapi({ example: ["acme.localhost"] }),
    plan: PlanSchema,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Tenant");

const tenantJson = (t: TenantRecord): z.infer<typeof TenantSchema> => ({
  id: t.id,
  slug: t.slug,
  name: t.name,
  status: t.status,
  suspend_reason: t.suspendReason,
  hosts: t.hosts,
  plan: {
    name: t.plan.name,
    max_repo_bytes: t.plan.maxRepoBytes,
    max_upload_bytes: t.plan.maxUploadBytes,
    ...(t.plan.maxDownloadBytes !== undefined ? { max_download_bytes: t.plan.maxDownloadBytes } : {}),
  },
  created_at: t.createdAt,
  updated_at: t.updatedAt,
});

const planPatch = (p: Partial<z.infer<typeof PlanSchema>> | undefined) =>
  p && {
    ...(p.name !== undefined ? { name: p.name } : {}),
    ...(p.max_repo_bytes !== undefined ? { maxRepoBytes: p.max_repo_bytes } : {}),
    ...(p.max_upload_bytes !== undefined ? { maxUploadBytes: p.max_upload_bytes } : {}),
    ...(p.max_download_bytes !== undefined ? { maxDownloadBytes: p.max_download_bytes } : {}),
  };

const SlugParam = z.object({ slug: z.string().openapi({ param: { name: "slug", in: "path" }, example: "acme" }) });
const HostParam = SlugParam.extend({
  hostname: z.string().openapi({ param: { name: "hostname", in: "path" }, example: "code.acme.example" }),
});

const common = {
  401: errorResponse("Missing or wrong admin token"),
  400: errorResponse("Invalid request"),
};

const NewTenantSchema = z
  .object({
    slug: z.string().regex(tenants.SLUG, "lowercase letters, digits and '-', at most 40").openapi({ example: "acme" }),
    name: z.string().min(1).max(100),
    hosts: z.array(z.string().min(1).max(253)).min(1).max(20),
    owner: z.object({
      username: z.string().regex(tenants.USERNAME, "letters, digits, '.', '_' and '-', at most 40"),
      email: z.email(),
      password: z.string().min(8).max(200).optional(),
    }),
    plan: PlanSchema.partial().optional(),
  })
  .openapi("NewTenant");

const CreatedTenantSchema = z
  .object({
    tenant: TenantSchema,
    owner: z.object({ username: z.string(), email: z.string(), token: z.string() }),
  })
  .openapi("CreatedTenant");

const routes = {
  create: createRoute({
    operationId: "adminCreateTenant",
    method: "post",
    path: "/api/v1/tenants",
    summary: "Create a tenant (forge) with its hosts and owner",
    request: { body: jsonBody(NewTenantSchema) },
    responses: {
      201: {
        ...jsonResponse(CreatedTenantSchema, "The tenant and the owner's initial API token (shown once)"),
        headers: locationHeader,
      },
      409: errorResponse("Slug or host already taken"),
      ...common,
    },
  }),
  list: createRoute({
    operationId: "adminListTenants",
    method: "get",
    path: "/api/v1/tenants",
    summary: "List tenants (paginated; Link and X-Total-Count headers)",
    request: { query: PageQuery },
    responses: { 200: pagedResponse(z.array(TenantSchema), "A page of tenants"), ...common },
  }),
  get: createRoute({
    operationId: "adminGetTenant",
    method: "get",
    path: "/api/v1/tenants/{slug}",
    summary: "Get a tenant",
    request: { params: SlugParam },
    responses: { 200: jsonResponse(TenantSchema, "The tenant"), 404: errorResponse("No such tenant"), ...common },
  }),
  update: createRoute({
    operationId: "adminUpdateTenant",
    method: "patch",
    path: "/api/v1/tenants/{slug}",
    summary: "Change a tenant's name or plan",
    request: {
      params: SlugParam,
      body: jsonBody(z.object({ name: z.string().min(1).max(100).optional(), plan: PlanSchema.partial().optional() })),
    },
    responses: { 200: jsonResponse(TenantSchema, "The updated tenant"), 404: errorResponse("No such tenant"), ...common },
  }),
  delete: createRoute({
    operationId: "adminDeleteTenant",
    method: "delete",
    path: "/api/v1/tenants/{slug}",
    summary: "Delete a tenant with its hosts, database and objects (needs ?confirm=<slug>)",
    request: { params: SlugParam, query: z.object({ confirm: z.string().optional() }) },
    responses: {
      200: jsonResponse(z.object({ deleted: z.string() }), "Deleted"),
      404: errorResponse("No such tenant"),
      ...common,
    },
  }),
  addHost: createRoute({
    operationId: "adminAddHost",
    method: "post",
    path: "/api/v1/tenants/{slug}/hosts/{hostname}",
    summary: "Add a hostname to a tenant",
    request: { params: HostParam },
    responses: {
      200: jsonResponse(TenantSchema, "The tenant with the new host"),
      404: errorResponse("No such tenant"),
      409: errorResponse("Host belongs to another tenant"),
      ...common,
    },
  }),
  removeHost: createRoute({
    operationId: "adminRemoveHost",
    method: "delete",
    path: "/api/v1/tenants/{slug}/hosts/{hostname}",
    summary: "Remove a hostname from a tenant",
    request: { params: HostParam },
    responses: { 200: jsonResponse(TenantSchema, "The tenant"), 404: errorResponse("No such tenant or host"), ...common },
  }),
  suspend: createRoute({
    operationId: "adminSuspend",
    method: "post",
    path: "/api/v1/tenants/{slug}/suspend",
    summary: "Suspend a tenant: its hosts answer 503 with the reason",
    request: {
      params: SlugParam,
      body: { ...jsonBody(z.object({ reason: z.string().max(500).optional() })), required: false },
    },
    responses: { 200: jsonResponse(TenantSchema, "The suspended tenant"), 404: errorResponse("No such tenant"), ...common },
  }),
  resume: createRoute({
    operationId: "adminResume",
    method: "post",
    path: "/api/v1/tenants/{slug}/resume",
    summary: "Resume a suspended tenant",
    request: { params: SlugParam },
    responses: { 200: jsonResponse(TenantSchema, "The active tenant"), 404: errorResponse("No such tenant"), ...common },
  }),
  createProject: createRoute({
    operationId: "adminCreateProject",
    method: "post",
    path: "/api/v1/tenants/{slug}/projects",
    summary: "Create a project in a tenant",
    request: {
      params: SlugParam,
      body: jsonBody(
        z.object({
          name: z.string().regex(PROJECT_NAME, "lowercase letters, digits, '.', '_' and '-'"),
          description: z.string().max(2000).optional(),
          private: z.boolean().optional(),
          owner: z.string().optional().openapi({ description: "username of the project's owner" }),
        }),
      ),
    },
    responses: {
      201: jsonResponse(
        z.object({ id: z.number(), name: z.string(), description: z.string(), private: z.boolean(), created_at: z.string() }),
        "The project",
      ),
      404: errorResponse("No such tenant or owner"),
      409: errorResponse("Project exists"),
      ...common,
    },
  }),
  createToken: createRoute({
    operationId: "adminCreateToken",
    method: "post",
    path: "/api/v1/tenants/{slug}/users/{username}/tokens",
    summary: "Mint an API token for a tenant user",
    request: {
      params: SlugParam.extend({ username: z.string().openapi({ param: { name: "username", in: "path" } }) }),
      body: {
        ...jsonBody(z.object({ scope: z.enum(["read", "write"]).default("write"), name: z.string().max(100).optional() })),
        required: false,
      },
    },
    responses: {
      201: jsonResponse(
        z.object({ id: z.number(), username: z.string(), name: z.string(), scope: z.string(), token: z.string() }),
        "The token (shown once)",
      ),
      404: errorResponse("No such tenant or user"),
      ...common,
    },
  }),
};

export function adminApp() {
  const app = apiApp();
  app.openAPIRegistry.registerComponent("securitySchemes", "AdminToken", { type: "http", scheme: "bearer" });
  app.doc31("/api/v1/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Edgeforge platform admin API", version: "1" },
    servers: [{ url: "/", description: "The platform host that serves this document" }],
    security: [{ AdminToken: [] }],
  });
  app.use("*", async (c, next) => {
    c.set("meter", meterOf(c.req.raw) ?? newMeter("unmetered"));
    c.get("meter").component = "admin.api";
    if (c.req.path === "/api/v1/openapi.json") return next();
    // The health check is polled without a token; the operations pages use their own cookie.
    if (c.req.path === "/admin/health") {
      c.get("meter").component = "admin.health";
      return next();
    }
    if (isBrowserPath(c.req.path)) return next();
    return requireAdminBearer(c, next);
  });
  // Import parts stream to R2 under their own limit; every other body is JSON.
  app.use(
    "*",
    apiBodyLimit(
      (method, path) =>
        (method === "PUT" && /^\/api\/v1\/tenants\/[^/]+\/projects\/[^/]+\/imports\/[^/]+\/parts\/[^/]+$/.test(path)) ||
        isBackupUpload(method, path),
    ),
  );
  app.use("/api/v1/*", async (c, next) => {
    await tenants.ensureControl(c.env);
    return next();
  });

  app.openapi(routes.create, async (c) => {
    const body = c.req.valid("json");
    const created = await tenants.createTenant(c.env, { ...body, plan: planPatch(body.plan) }, ACTOR);
    c.header("Location", `/api/v1/tenants/${created.tenant.slug}`);
    return c.json({ tenant: tenantJson(created.tenant), owner: created.owner }, 201);
  });
  app.openapi(routes.list, async (c) => {
    const { page, limit } = c.req.valid("query");
    const { items, total } = await tenants.listTenants(c.env, page, limit);
    setPaginationHeaders(c, total, page, limit);
    return c.json(items.map(tenantJson), 200);
  });
  app.openapi(routes.get, async (c) => c.json(tenantJson(await tenants.getTenant(c.env, c.req.valid("param").slug)), 200));
  app.openapi(routes.update, async (c) => {
    const body = c.req.valid("json");
    const t = await tenants.updateTenant(
      c.env,
      c.req.valid("param").slug,
      { name: body.name, plan: planPatch(body.plan) },
      ACTOR,
    );
    return c.json(tenantJson(t), 200);
  });
  app.openapi(routes.delete, async (c) => {
    const { slug } = c.req.valid("param");
    await tenants.deleteTenant(c.env, slug, c.req.valid("query").confirm, ACTOR);
    return c.json({ deleted: slug }, 200);
  });
  app.openapi(routes.addHost, async (c) => {
    const { slug, hostname } = c.req.valid("param");
    return c.json(tenantJson(await tenants.addHost(c.env, slug, hostname, ACTOR)), 200);
  });
  app.openapi(routes.removeHost, async (c) => {
    const { slug, hostname } = c.req.valid("param");
    return c.json(tenantJson(await tenants.removeHost(c.env, slug, hostname, ACTOR)), 200);
  });
  app.openapi(routes.suspend, async (c) => {
    const reason = (await c.req.json().catch(() => ({})))?.reason ?? null;
    const t = await tenants.setSuspended(
      c.env,
      c.req.valid("param").slug,
      true,
      typeof reason === "string" ? reason : null,
      ACTOR,
    );
    return c.json(tenantJson(t), 200);
  });
  app.openapi(routes.resume, async (c) =>
    c.json(tenantJson(await tenants.setSuspended(c.env, c.req.valid("param").slug, false, null, ACTOR)), 200),
  );
  app.openapi(routes.createProject, async (c) => {
    const p = await createTenantProject(c.env, c.req.valid("param").slug, c.req.valid("json"), ACTOR);
    return c.json({ id: p.id, name: p.name, description: p.description, private: p.private, created_at: p.createdAt }, 201);
  });
  app.openapi(routes.createToken, async (c) => {
    const { slug, username } = c.req.valid("param");
    const body = (await c.req.json().catch(() => ({}))) as { scope?: unknown; name?: unknown };
    const scope = body.scope === "read" ? "read" : "write";
    const minted = await mintTenantUserToken(
      c.env,
      slug,
      username,
      { scope, name: typeof body.name === "string" ? body.name : undefined },
      ACTOR,
    );
    return c.json({ id: minted.id, username: minted.username, name: minted.name, scope: minted.scope, token: minted.token }, 201);
  });
  registerImportRoutes(app);
  registerBackupRoutes(app);
  registerTelemetryRoutes(app);
  registerOpsRoutes(app);
  registerMigrationRoutes(app);
  return app;
}
