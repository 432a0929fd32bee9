// The webhooks API's OpenAPI description: hooks and their deliveries under
// /api/v1/projects/{project}/hooks (validated before hooks-api.ts handles them), and the JSON
// payloads each event POSTs to a hook, registered as components (PushEvent, IssueEvent...).
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context";
import { errorResponse, jsonBody, jsonResponse, locationHeader } from "./responses";

const EventEnum = z.enum(["push", "issue", "comment", "wiki", "download", "review"]);

const HookSchema = z
  .object({
    id: z.number(),
    url: z.string().openapi({ example: "https://ci.example.com/hooks/edgeforge" }),
    events: z.array(EventEnum),
    content_type: z.enum(["json", "form"]).openapi({ description: "json: application/json; form: payload=<json> form-encoded" }),
    active: z.boolean(),
    has_secret: z.boolean().openapi({ description: "Whether deliveries are signed; the secret itself is never returned" }),
    created_at: z.string(),
    updated_at: z.string(),
    url_api: z.string().openapi({ description: "This hook in the API" }),
    html_url: z.string().openapi({ description: "The hook's page, with its delivery log" }),
  })
  .openapi("Hook");

const HookInput = {
  url: z
    .string()
    .max(2000)
    .openapi({ description: "http(s) URL of a public host (the SSRF guard refuses private, local and metadata targets: 400)" }),
  secret: z.string().max(200).openapi({ description: 'Signs deliveries (X-Edgeforge-Signature-256); "" removes it. Write-only' }),
  events: z.array(EventEnum).min(1),
  content_type: z.enum(["json", "form"]),
  active: z.boolean(),
};

const NewHookSchema = z
  .object({
    url: HookInput.url,
    secret: HookInput.secret.optional(),
    events: HookInput.events,
    content_type: HookInput.content_type.optional().openapi({ description: "Default json" }),
    active: HookInput.active.optional().openapi({ description: "Default true" }),
  })
  .openapi("NewHook");

const HookUpdateSchema = z
  .object({
    url: HookInput.url.optional(),
    secret: HookInput.secret.optional().openapi({ description: 'Omitted: unchanged; "": removed' }),
    events: HookInput.events.optional(),
    content_type: HookInput.content_type.optional(),
    active: HookInput.active.optional(),
  })
  .openapi("HookUpdate");

const DeliverySchema = z
  .object({
    id: z.number(),
    delivery: z.string().openapi({ description: "X-Edgeforge-Delivery: shared by the attempts of one delivery" }),
    event: z.string().openapi({ description: "push, issue, comment, wiki, download, review, or ping (a test)" }),
    attempt: z.number(),
    state: z.enum(["pending", "ok", "failed"]),
    response_status: z.number().nullable(),
    duration_ms: z.number().nullable(),
    error: z.string().nullable().openapi({ description: "Why no answer was had: refused target, timeout, network" }),
    created_at: z.string(),
  })
  .openapi("HookDelivery");

const DeliveryDetailSchema = DeliverySchema.extend({
  request_headers: z.record(z.string(), z.string()),
  request_body: z.string().openapi({ description: "The JSON payload" }),
  response_body: z.string().nullable().openapi({ description: "The first 4 KiB of the answer" }),
}).openapi("HookDeliveryDetail");

const ProjectParam = z.object({ project: z.string().openapi({ param: { name: "project", in: "path" }, example: "website" }) });
const HookParams = ProjectParam.extend({
  id: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "id", in: "path" }, example: 1 }),
});
const DeliveryParams = HookParams.extend({
  delivery: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "delivery", in: "path" }, example: 1 }),
});

const common = {
  400: errorResponse("Invalid request, or a URL the SSRF guard refuses"),
  401: errorResponse("Missing or wrong credentials"),
  403: errorResponse("Not one of the project's owners, or a read-only token for a change"),
  404: errorResponse("No such project, hook or delivery, or the project is hidden from the caller"),
};

const base = "/api/v1/projects/{project}/hooks";
/** The same path as Hono matches it. */
export const HOOKS_ROUTE_BASE = "/api/v1/projects/:project/hooks";
const tags = ["Webhooks"];

export const hookRoutes = {
  list: createRoute({
    operationId: "listProjectHooks",
    method: "get",
    path: base,
    tags,
    summary: "List the project's webhooks (owners)",
    request: { params: ProjectParam },
    responses: { 200: jsonResponse(z.array(HookSchema), "The hooks"), ...common },
  }),
  create: createRoute({
    operationId: "createProjectHook",
    method: "post",
    path: base,
    tags,
    summary: "Add a webhook (owners); its URL is checked by the SSRF guard",
    request: { params: ProjectParam, body: jsonBody(NewHookSchema) },
    responses: { 201: { ...jsonResponse(HookSchema, "The hook"), headers: locationHeader }, ...common },
  }),
  get: createRoute({
    operationId: "getProjectHook",
    method: "get",
    path: `${base}/{id}`,
    tags,
    summary: "Get a webhook",
    request: { params: HookParams },
    responses: { 200: jsonResponse(HookSchema, "The hook"), ...common },
  }),
  update: createRoute({
    operationId: "editProjectHook",
    method: "patch",
    path: `${base}/{id}`,
    tags,
    summary: "Change a webhook (fields omitted stay as they are)",
    request: { params: HookParams, body: jsonBody(HookUpdateSchema) },
    responses: { 200: jsonResponse(HookSchema, "The hook"), ...common },
  }),
  remove: createRoute({
    operationId: "deleteProjectHook",
    method: "delete",
    path: `${base}/{id}`,
    tags,
    summary: "Delete a webhook and its delivery log",
    request: { params: HookParams },
    responses: { 204: { description: "Deleted" }, ...common },
  }),
  test: createRoute({
    operationId: "testProjectHook",
    method: "post",
    path: `${base}/{id}/tests`,
    tags,
    summary: "Send a test delivery (event ping), whether or not the hook is active",
    request: { params: HookParams },
    responses: { 202: jsonResponse(DeliverySchema, "The queued delivery"), ...common },
  }),
  deliveries: createRoute({
    operationId: "listProjectHookDeliveries",
    method: "get",
    path: `${base}/{id}/deliveries`,
    tags,
    summary: "A hook's delivery attempts, newest first (?before=<id> for older ones)",
    request: {
      params: HookParams,
      query: z.object({
        limit: z.coerce.number().int().min(1).max(100).default(30),
        before: z.coerce.number().int().positive().optional(),
      }),
    },
    responses: { 200: jsonResponse(z.array(DeliverySchema), "The attempts"), ...common },
  }),
  delivery: createRoute({
    operationId: "getProjectHookDelivery",
    method: "get",
    path: `${base}/{id}/deliveries/{delivery}`,
    tags,
    summary: "One delivery attempt with its request and (truncated) response",
    request: { params: DeliveryParams },
    responses: { 200: jsonResponse(DeliveryDetailSchema, "The attempt"), ...common },
  }),
  redeliver: createRoute({
    operationId: "redeliverProjectHookDelivery",
    method: "post",
    path: `${base}/{id}/deliveries/{delivery}/redeliver`,
    tags,
    summary: "Send a logged delivery's payload again, as a new delivery",
    request: { params: DeliveryParams },
    responses: { 202: jsonResponse(DeliverySchema, "The queued delivery"), ...common },
  }),
};

// The payloads POSTed to hooks (services/webhooks/payloads.ts), headers X-Edgeforge-Event (the
// event), X-Edgeforge-Delivery (a UUID) and, with a secret, X-Edgeforge-Signature-256.
const ProjectRef = z
  .object({ name: z.string(), private: z.boolean(), html_url: z.string(), clone_url: z.string() })
  .openapi("HookProject");
const Sender = z.object({ username: z.string() }).nullable().openapi("HookSender");
const Person = z.object({ name: z.string(), email: z.string() });
const HookCommit = z
  .object({
    id: z.string(),
    message: z.string(),
    timestamp: z.string().openapi({ description: "Author time" }),
    author: Person,
    committer: Person,
    url: z.string(),
  })
  .openapi("HookCommit");
const HookIssue = z
  .object({
    number: z.number(),
    title: z.string(),
    body: z.string().openapi({ description: "Markdown" }),
    status: z.string(),
    state: z.enum(["open", "closed"]),
    comments: z.number(),
    created_at: z.string(),
    updated_at: z.string(),
    html_url: z.string(),
  })
  .openapi("HookIssue");

const PAYLOADS = {
  PushEvent: z
    .object({
      ref: z.string().openapi({ example: "refs/heads/main" }),
      before: z.string().openapi({ description: "The old id; 40 zeros for a new ref" }),
      after: z.string().openapi({ description: "The new id; 40 zeros for a deleted ref" }),
      created: z.boolean(),
      deleted: z.boolean(),
      commits: z.array(HookCommit).openapi({ description: "Up to 20 commits the ref gained, newest first" }),
      project: ProjectRef,
      sender: Sender,
    })
    .openapi({ description: "X-Edgeforge-Event: push. One delivery per ref a push updated" }),
  IssueEvent: z
    .object({
      action: z.enum(["opened", "closed", "reopened", "updated"]),
      issue: HookIssue,
      changes: z.record(z.string(), z.unknown()).openapi({ description: "What changed (status, owner, labels, summary...)" }),
      project: ProjectRef,
      sender: Sender,
    })
    .openapi({ description: "X-Edgeforge-Event: issue" }),
  CommentEvent: z
    .object({
      action: z.literal("created"),
      issue: HookIssue,
      comment: z.object({ id: z.number(), body: z.string(), created_at: z.string(), html_url: z.string() }),
      project: ProjectRef,
      sender: Sender,
    })
    .openapi({ description: "X-Edgeforge-Event: comment (an issue comment with text)" }),
  AreaEvent: z
    .object({
      action: z.string().openapi({ example: "upload" }),
      title: z.string().openapi({ description: "The timeline's line for it" }),
      details: z
        .record(z.string(), z.unknown())
        .openapi({ description: "The event's details (page and revision; file name, size, sha256...)" }),
      project: ProjectRef,
      sender: Sender,
    })
    .openapi({ description: "X-Edgeforge-Event: wiki, download or review" }),
  PingEvent: z
    .object({
      zen: z.string(),
      hook: z.object({
        id: z.number(),
        url: z.string(),
        events: z.array(EventEnum),
        content_type: z.string(),
        active: z.boolean(),
      }),
      project: ProjectRef,
      sender: Sender,
    })
    .openapi({ description: "X-Edgeforge-Event: ping (Send a test)" }),
};

/**
 * Puts the payloads into the OpenAPI document: each a component schema, referenced by the
 * document's `webhooks` (OpenAPI 3.1): the POST the forge sends for that event.
 */
export function registerHookPayloadSchemas(app: OpenAPIHono<AppEnv>): void {
  for (const [name, schema] of Object.entries(PAYLOADS)) {
    const event = name.replace(/Event$/, "").toLowerCase();
    app.openAPIRegistry.registerWebhook({
      method: "post",
      path: event,
      operationId: `${event}Webhook`,
      tags,
      summary: `What a hook receives for ${event} (X-Edgeforge-Event: ${event})`,
      request: {
        body: {
          content: { "application/json": { schema: app.openAPIRegistry.register(`Webhook${name}`, schema) } },
        },
      },
      responses: { 200: { description: "Any 2xx answer marks the delivery delivered; others are retried" } },
    });
  }
}
