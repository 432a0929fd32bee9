// The Gitea-compatible webhook routes (/api/v1/repos/{owner}/{repo}/hooks...), for the project's
// owners: Gitea's options mapped by services/gitea/hooks.ts onto the webhooks service, the one
// implementation the forge's own hooks API and pages share.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { component } from "../middleware/guards";
import { requireGiteaRepo } from "../middleware/api-guards";
import { createHook, deleteHook, getHook, listHooks, sendTestDelivery, updateHook } from "../../services/webhooks";
import { createInput, editInput, giteaHook, GITEA_HOOK_EVENTS } from "../../services/gitea/hooks";
import {
  GiteaPageQuery,
  giteaError,
  jsonBody,
  jsonResponse,
  locationHeader,
  pagedResponse,
  pageOf,
  setPaginationHeaders,
} from "./responses";
import { GiteaHookSchema, RepoParams, idParam } from "./gitea-schemas";

const tags = ["Gitea"];
const errors = {
  401: giteaError("Missing or wrong credentials"),
  403: giteaError("Not one of the project's owners, or a read-only token for a change"),
  404: giteaError("No such repository or hook, or hidden from the caller"),
  422: giteaError("Invalid request: an unknown event or option, or a URL the SSRF guard refuses (with its reason)"),
};

const events = z
  .array(z.string().max(60))
  .max(50)
  .openapi({ description: `Gitea's event names: ${GITEA_HOOK_EVENTS.join(", ")}; others answer 422` });
const config = {
  url: z
    .string()
    .max(2000)
    .openapi({ description: "http(s) URL of a public host (the SSRF guard refuses private, local and metadata targets)" }),
  content_type: z.string().optional().openapi({ description: "json (default) or form" }),
  secret: z.string().max(200).optional().openapi({ description: 'Signs deliveries; write-only. On edit "" removes it' }),
  http_method: z.string().optional().openapi({ description: "post only" }),
};
const extras = {
  branch_filter: z.string().max(1000).optional().openapi({ description: 'Only "" or "*" (every branch)' }),
  authorization_header: z.string().max(1000).optional().openapi({ description: "Not supported: only empty" }),
};

const CreateHookOption = z
  .object({
    type: z.string().openapi({ example: "gitea", description: 'Only "gitea"' }),
    config: z.object(config),
    events: events.optional().openapi({ description: "Default [push], as Gitea" }),
    active: z.boolean().optional().openapi({ description: "Default false, as Gitea" }),
    ...extras,
  })
  .openapi("GiteaCreateHookOption");

const EditHookOption = z
  .object({
    config: z.object({ ...config, url: config.url.optional() }).optional(),
    events: events.optional().openapi({ description: "Omitted: unchanged; [] is [push], as Gitea" }),
    active: z.boolean().optional(),
    ...extras,
  })
  .openapi("GiteaEditHookOption");

const HookParams = RepoParams.extend({ id: idParam("id") });
const base = "/api/v1/repos/{owner}/{repo}/hooks";

const routes = {
  list: createRoute({
    method: "get",
    path: base,
    operationId: "repoListHooks",
    tags,
    summary: "The repository's webhooks (owners)",
    request: { params: RepoParams, query: GiteaPageQuery },
    responses: { 200: pagedResponse(z.array(GiteaHookSchema), "A page of hooks"), ...errors },
  }),
  create: createRoute({
    method: "post",
    path: base,
    operationId: "repoCreateHook",
    tags,
    summary: "Add a webhook (owners); its URL is checked by the SSRF guard",
    request: { params: RepoParams, body: jsonBody(CreateHookOption) },
    responses: { 201: { ...jsonResponse(GiteaHookSchema, "The hook"), headers: locationHeader }, ...errors },
  }),
  get: createRoute({
    method: "get",
    path: `${base}/{id}`,
    operationId: "repoGetHook",
    tags,
    summary: "A webhook",
    request: { params: HookParams },
    responses: { 200: jsonResponse(GiteaHookSchema, "The hook"), ...errors },
  }),
  edit: createRoute({
    method: "patch",
    path: `${base}/{id}`,
    operationId: "repoEditHook",
    tags,
    summary: "Change a webhook (what is omitted stays)",
    request: { params: HookParams, body: jsonBody(EditHookOption) },
    responses: { 200: jsonResponse(GiteaHookSchema, "The hook"), ...errors },
  }),
  remove: createRoute({
    method: "delete",
    path: `${base}/{id}`,
    operationId: "repoDeleteHook",
    tags,
    summary: "Delete a webhook and its delivery log",
    request: { params: HookParams },
    responses: { 204: { description: "Deleted" }, ...errors },
  }),
  test: createRoute({
    method: "post",
    path: `${base}/{id}/tests`,
    operationId: "repoTestHook",
    tags,
    summary: "Queue a test delivery (the forge's ping event), whether or not the hook is active",
    request: { params: HookParams, query: z.object({ ref: z.string().max(255).optional().openapi({ description: "Ignored" }) }) },
    responses: { 204: { description: "Queued" }, ...errors },
  }),
};

const hookUrl = (c: Context<AppEnv>, id: number) =>
  `${new URL(c.req.url).origin}/api/v1/repos/${encodeURIComponent(c.get("tenant").slug)}/${encodeURIComponent(c.get("project").name)}/hooks/${id}`;

export function registerGiteaHooksApi(app: OpenAPIHono<AppEnv>): void {
  const guard = requireGiteaRepo("hooks");
  app.use("/api/v1/repos/:owner/:repo/hooks", component("api.gitea.hooks"), guard);
  app.use("/api/v1/repos/:owner/:repo/hooks/*", component("api.gitea.hooks"), guard);

  app.openapi(routes.list, async (c) => {
    const { page, limit } = pageOf(c.req.valid("query"));
    const all = await listHooks(c.get("db"), c.get("project").id);
    setPaginationHeaders(c, all.length, page, limit);
    return c.json(all.slice((page - 1) * limit, page * limit).map(giteaHook), 200);
  });

  app.openapi(routes.create, async (c) => {
    const hook = await createHook(c.env, c.get("db"), c.get("project").id, createInput(c.req.valid("json")));
    c.header("Location", hookUrl(c, hook.id));
    return c.json(giteaHook(hook), 201);
  });

  app.openapi(routes.get, async (c) => {
    return c.json(giteaHook(await getHook(c.get("db"), c.get("project").id, c.req.valid("param").id)), 200);
  });

  app.openapi(routes.edit, async (c) => {
    const { id } = c.req.valid("param");
    const projectId = c.get("project").id;
    const hook = await getHook(c.get("db"), projectId, id);
    const updated = await updateHook(c.env, c.get("db"), projectId, id, editInput(hook, c.req.valid("json")));
    return c.json(giteaHook(updated), 200);
  });

  app.openapi(routes.remove, async (c) => {
    await deleteHook(c.get("db"), c.get("project").id, c.req.valid("param").id);
    return c.body(null, 204);
  });

  app.openapi(routes.test, async (c) => {
    await sendTestDelivery(
      { env: c.env, tenant: c.get("tenant"), db: c.get("db") },
      c.get("project"),
      c.req.valid("param").id,
      c.get("viewer").user?.username ?? null,
    );
    return c.body(null, 204);
  });
}
