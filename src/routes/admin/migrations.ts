// Admin API of fleet migrations (`forge migrate`): the fleet's schema versions, the tenants still
// behind, what one tenant would run, and migrating one tenant at a time.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context";
import { fleetStatus, migrateTenant, pendingTenants, tenantMigrationPlan } from "../../services/fleet-migrations";
import { SLUG } from "../../services/tenants";
import { errorResponse, jsonResponse } from "../api/responses";

const SlugParam = z.object({ slug: z.string().openapi({ param: { name: "slug", in: "path" }, example: "acme" }) });

const common = { 401: errorResponse("Missing or wrong admin token"), 400: errorResponse("Invalid request") };

const Report = z
  .object({
    slug: z.string(),
    outcome: z.enum(["migrated", "current", "failed"]),
    before: z.number().nullable().openapi({ description: "applied migrations before the call (null: unreadable)" }),
    after: z.number().nullable(),
    target: z.number().openapi({ description: "migrations in this release" }),
    applied: z.array(z.string()).openapi({ description: "tags this call applied" }),
    error: z.string().nullable(),
  })
  .openapi("TenantMigration");

const Plan = z
  .object({
    slug: z.string(),
    version: z.number().nullable(),
    target: z.number(),
    pending: z.array(z.string()),
    attempted_at: z.string().nullable(),
    error: z.string().nullable(),
  })
  .openapi("TenantMigrationPlan");

const Status = z
  .object({
    target: z.number(),
    tags: z.array(z.string()),
    total: z.number(),
    versions: z.array(z.object({ version: z.number(), tenants: z.number() })),
    pending: z.number(),
    failed: z.number(),
    failures: z.array(
      z.object({ slug: z.string(), version: z.number(), attempted_at: z.string().nullable(), error: z.string() }),
    ),
  })
  .openapi("FleetMigrationStatus");

const routes = {
  status: createRoute({
    operationId: "adminMigrationsStatus",
    method: "get",
    path: "/api/v1/migrations/status",
    summary: "How many tenants are on which schema version, and the tenants whose last migration failed",
    responses: { 200: jsonResponse(Status, "The fleet's schema versions"), ...common },
  }),
  pending: createRoute({
    operationId: "adminMigrationsPending",
    method: "get",
    path: "/api/v1/migrations/pending",
    summary: "Tenants still to migrate (below the target version or last attempt failed), by slug",
    request: {
      query: z.object({
        after: z.string().regex(SLUG).optional().openapi({ description: "the last slug of the previous page" }),
        limit: z.coerce.number().int().min(1).max(1000).default(500),
      }),
    },
    responses: {
      200: jsonResponse(
        z.object({
          target: z.number(),
          tenants: z.array(z.object({ slug: z.string(), version: z.number(), error: z.string().nullable() })),
          next: z.string().nullable().openapi({ description: "pass as ?after= for the next page; null on the last" }),
        }),
        "A page of tenants to migrate",
      ),
      ...common,
    },
  }),
  plan: createRoute({
    operationId: "adminMigrationsPlan",
    method: "get",
    path: "/api/v1/tenants/{slug}/migrations",
    summary: "A tenant's schema version and the migrations a run would apply (changes nothing)",
    request: { params: SlugParam },
    responses: { 200: jsonResponse(Plan, "The tenant's migrations"), 404: errorResponse("No such tenant"), ...common },
  }),
  migrate: createRoute({
    operationId: "adminMigrationsMigrate",
    method: "post",
    path: "/api/v1/tenants/{slug}/migrate",
    summary: "Apply a tenant's pending migrations; a failing migration is reported in the answer and recorded",
    request: { params: SlugParam },
    responses: {
      200: jsonResponse(Report, "What the call did (outcome failed: nothing more was applied, see error)"),
      404: errorResponse("No such tenant"),
      409: errorResponse("The tenant is still being set up"),
      ...common,
    },
  }),
};

export function registerMigrationRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(routes.status, async (c) => {
    const s = await fleetStatus(c.env);
    return c.json({ ...s, failures: s.failures.map(({ attemptedAt, ...f }) => ({ ...f, attempted_at: attemptedAt })) }, 200);
  });
  app.openapi(routes.pending, async (c) => {
    const { after, limit } = c.req.valid("query");
    return c.json(await pendingTenants(c.env, after, limit), 200);
  });
  app.openapi(routes.plan, async (c) => {
    const { attemptedAt, ...plan } = await tenantMigrationPlan(c.env, c.req.valid("param").slug);
    return c.json({ ...plan, attempted_at: attemptedAt }, 200);
  });
  app.openapi(routes.migrate, async (c) => c.json(await migrateTenant(c.env, c.req.valid("param").slug), 200));
}
