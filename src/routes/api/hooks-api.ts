// The webhooks REST API under /api/v1/projects/{project}/hooks (owners only, requireApiProjectOwner):
// hooks, their delivery log, tests and redeliveries, all through services/webhooks.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { component } from "../middleware/guards";
import { requireApiProjectOwner } from "../middleware/api-guards";
import {
  createHook,
  deleteHook,
  getDelivery,
  getHook,
  listDeliveries,
  listHooks,
  redeliver,
  sendTestDelivery,
  updateHook,
  type Delivery,
  type Hook,
} from "../../services/webhooks";
import { HOOKS_ROUTE_BASE, hookRoutes as routes, registerHookPayloadSchemas } from "./hooks-api-routes";

type Ctx = Context<AppEnv>;

function hookJson(c: Ctx, h: Hook) {
  const origin = new URL(c.req.url).origin;
  const p = encodeURIComponent(c.get("project").name);
  return {
    id: h.id,
    url: h.url,
    events: h.events,
    content_type: h.contentType,
    active: h.active,
    has_secret: h.hasSecret,
    created_at: h.createdAt,
    updated_at: h.updatedAt,
    url_api: `${origin}/api/v1/projects/${p}/hooks/${h.id}`,
    html_url: `${origin}/p/${p}/admin/hooks/${h.id}`,
  };
}

const deliveryJson = (d: Delivery) => ({
  id: d.id,
  delivery: d.delivery,
  event: d.event,
  attempt: d.attempt,
  state: (d.state === "ok" || d.state === "failed" ? d.state : "pending") as "pending" | "ok" | "failed",
  response_status: d.responseStatus,
  duration_ms: d.durationMs,
  error: d.error,
  created_at: d.createdAt,
});

function headersOf(d: Delivery): Record<string, string> {
  try {
    return JSON.parse(d.requestHeaders) as Record<string, string>;
  } catch {
    return {};
  }
}

export function registerHooksApi(app: OpenAPIHono<AppEnv>): void {
  app.use(`${HOOKS_ROUTE_BASE}`, component("api.hooks"), requireApiProjectOwner);
  app.use(`${HOOKS_ROUTE_BASE}/*`, component("api.hooks"), requireApiProjectOwner);
  registerHookPayloadSchemas(app);

  app.openapi(routes.list, async (c) => {
    const hooks = await listHooks(c.get("db"), c.get("project").id);
    return c.json(
      hooks.map((h) => hookJson(c, h)),
      200,
    );
  });

  app.openapi(routes.create, async (c) => {
    const body = c.req.valid("json");
    const hook = await createHook(c.env, c.get("db"), c.get("project").id, {
      url: body.url,
      secret: body.secret,
      events: body.events,
      contentType: body.content_type ?? "json",
      active: body.active ?? true,
    });
    const json = hookJson(c, hook);
    c.header("Location", json.url_api);
    return c.json(json, 201);
  });

  app.openapi(routes.get, async (c) => {
    const hook = await getHook(c.get("db"), c.get("project").id, c.req.valid("param").id);
    return c.json(hookJson(c, hook), 200);
  });

  app.openapi(routes.update, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const project = c.get("project");
    const hook = await getHook(c.get("db"), project.id, id);
    const updated = await updateHook(c.env, c.get("db"), project.id, id, {
      url: body.url ?? hook.url,
      secret: body.secret,
      events: body.events ?? hook.events,
      contentType: body.content_type ?? hook.contentType,
      active: body.active ?? hook.active,
    });
    return c.json(hookJson(c, updated), 200);
  });

  app.openapi(routes.remove, async (c) => {
    await deleteHook(c.get("db"), c.get("project").id, c.req.valid("param").id);
    return c.body(null, 204);
  });

  app.openapi(routes.test, async (c) => {
    const viewer = c.get("viewer");
    const row = await sendTestDelivery(
      { env: c.env, tenant: c.get("tenant"), db: c.get("db") },
      c.get("project"),
      c.req.valid("param").id,
      viewer.user?.username ?? null,
    );
    return c.json(deliveryJson(row), 202);
  });

  app.openapi(routes.deliveries, async (c) => {
    const { limit, before } = c.req.valid("query");
    const rows = await listDeliveries(c.get("db"), c.get("project").id, c.req.valid("param").id, { limit, before });
    return c.json(rows.map(deliveryJson), 200);
  });

  app.openapi(routes.delivery, async (c) => {
    const { id, delivery } = c.req.valid("param");
    const d = await getDelivery(c.get("db"), c.get("project").id, id, delivery);
    return c.json(
      { ...deliveryJson(d), request_headers: headersOf(d), request_body: d.requestBody, response_body: d.responseBody },
      200,
    );
  });

  app.openapi(routes.redeliver, async (c) => {
    const { id, delivery } = c.req.valid("param");
    const row = await redeliver(c.env, c.get("db"), c.get("tenant").id, c.get("project").id, id, delivery);
    return c.json(deliveryJson(row), 202);
  });
}
