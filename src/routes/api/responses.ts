// Shared JSON API plumbing: the error envelopes, pagination headers, and a Hono app factory whose
// validation failures and errors answer {"error": {"code", "message"}} on the forge's own API and
// Gitea's {"message", "url"} on the Gitea-compatible one.
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ForgeError } from "../../utils/errors";
import type { AppEnv } from "../context";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "not_found" }),
      message: z.string().openapi({ example: "tenant acme not found" }),
    }),
  })
  .openapi("Error");

export const errorResponse = (description: string) => ({
  content: { "application/json": { schema: ErrorSchema } },
  description,
});

/** An OpenAPI response whose body is JSON of `schema`. */
export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

/** An OpenAPI request body: required JSON of `schema`. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } }, required: true });

/**
 * Paths of the forge's own API, which keep its `{error: {code, message}}` envelope; everything
 * else under /api/v1 of a forge's host is the Gitea-compatible API, whose clients read Gitea's
 * `{message, url}`. The platform's admin API (no tenant on the request) keeps the envelope too.
 */
const OWN_API = /^\/api\/v1\/(projects(\/|$)|user\/tokens(\/|$)|openapi\.json$)/;
export const isGiteaPath = (path: string) => path.startsWith("/api/v1/") && !OWN_API.test(path);
const isGiteaRequest = (c: Context) => !!(c as Context<AppEnv>).get("tenant") && isGiteaPath(c.req.path);

/** Gitea's error body: the message, and where the API is described. */
export const GiteaErrorSchema = z
  .object({
    message: z.string().openapi({ example: "issue 7 not found in website" }),
    url: z.string().openapi({ description: "This API's OpenAPI document" }),
  })
  .openapi("GiteaError");

export function jsonError(c: Context, status: number, code: string, message: string): Response {
  if (isGiteaRequest(c)) {
    const url = `${new URL(c.req.url).origin}/api/v1/openapi.json`;
    // Gitea answers a request it cannot accept as sent (bad JSON, a bad field) with 422.
    return c.json({ message, url }, (status === 400 ? 422 : status) as ContentfulStatusCode);
  }
  return c.json({ error: { code, message } }, status as ContentfulStatusCode);
}

/** Maps any thrown error to the JSON envelope; unexpected errors are logged, never shown. */
export function handleApiError(err: Error, c: Context): Response {
  if (err instanceof ForgeError) return jsonError(c, err.status, err.code, err.message);
  if (err instanceof HTTPException) {
    const code = err.status === 400 ? "invalid_json" : "bad_request";
    return jsonError(c, err.status, code, err.message || "bad request");
  }
  console.error(JSON.stringify({ level: "error", message: String(err?.stack ?? err) }));
  return jsonError(c, 500, "internal", "internal error; the request id in X-Request-Id helps the operator find it");
}

/** Most bytes of an API request body; uploads (attachments, import parts) have their own routes and limits. */
export const API_BODY_MAX_BYTES = 1024 * 1024;

/**
 * Refuses a request body over API_BODY_MAX_BYTES with 413 before anything parses it: by its
 * Content-Length, or while reading a body sent without one (chunked), which it then holds (at
 * most the limit) for the route. `streamed` says which routes read their bodies themselves.
 */
export function apiBodyLimit(streamed: (method: string, path: string) => boolean): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: API_BODY_MAX_BYTES,
    onError: (c) =>
      jsonError(
        c,
        413,
        "payload_too_large",
        `The request body is over ${API_BODY_MAX_BYTES / 1024 / 1024} MiB, the most the API reads; send less.`,
      ),
  });
  return (c, next) => (streamed(c.req.method, c.req.path) ? next() : limit(c, next));
}

export function apiApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const message = result.error.issues.map((i) => `${i.path.length ? `${i.path.join(".")}: ` : ""}${i.message}`).join("; ");
        return jsonError(c, 400, "validation_failed", message);
      }
    },
  });
  app.onError(handleApiError);
  app.notFound((c) => jsonError(c, 404, "not_found", `no API route ${c.req.method} ${c.req.path}`));
  return app;
}

export const PageQuery = z.object({
  page: z.coerce.number().int().min(1).default(1).openapi({ example: 1 }),
  limit: z.coerce.number().int().min(1).max(100).default(30).openapi({ example: 30 }),
});

/** Sets X-Total-Count and an RFC 8288 Link header (first, prev, next, last) for a paginated list. */
export function setPaginationHeaders(c: Context, total: number, page: number, limit: number): void {
  const url = new URL(c.req.url);
  // A credential given in the query is not repeated in headers that proxies and clients log.
  url.searchParams.delete("token");
  url.searchParams.delete("access_token");
  const last = Math.max(1, Math.ceil(total / limit));
  const link = (p: number, rel: string) => {
    url.searchParams.set("page", String(p));
    url.searchParams.set("limit", String(limit));
    return `<${url.toString()}>; rel="${rel}"`;
  };
  const links = [link(1, "first")];
  if (page > 1) links.push(link(Math.min(page - 1, last), "prev"));
  if (page < last) links.push(link(page + 1, "next"));
  links.push(link(last, "last"));
  c.header("X-Total-Count", String(total));
  c.header("Link", links.join(", "));
}

/** Gitea's page size when none is asked for, and the most one page holds (GET /api/v1/settings/api). */
export const DEFAULT_PAGING_NUM = 30;
export const MAX_RESPONSE_ITEMS = 50;

const intOr = (fallback: number) => (v: unknown) => {
  const n = typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
  return Number.isSafeInteger(n) ? n : fallback;
};

/**
 * Gitea's paging: never refused, clamped. `page` is 1-based (0 or less is 1); `limit` missing or
 * 0 or less is DEFAULT_PAGING_NUM, above MAX_RESPONSE_ITEMS is MAX_RESPONSE_ITEMS.
 */
export const GiteaPageQuery = z.object({
  page: z
    .preprocess(intOr(1), z.number().int())
    .transform((n) => Math.max(1, n))
    .optional()
    .openapi({ type: "integer", description: "Page number, 1-based (0 is 1)", example: 1 }),
  limit: z
    .preprocess(intOr(0), z.number().int())
    .transform((n) => (n <= 0 ? DEFAULT_PAGING_NUM : Math.min(n, MAX_RESPONSE_ITEMS)))
    .optional()
    .openapi({
      type: "integer",
      description: `Page size: ${DEFAULT_PAGING_NUM} when missing or 0, at most ${MAX_RESPONSE_ITEMS} (larger is clamped)`,
      example: DEFAULT_PAGING_NUM,
    }),
});

/** The page and size a GiteaPageQuery left (optional fields are absent when not sent). */
export const pageOf = (q: { page?: number; limit?: number }) => ({
  page: q.page ?? 1,
  limit: q.limit ?? DEFAULT_PAGING_NUM,
});

/** Link and X-Total-Count as documented response headers. */
export const pageHeaders = {
  Link: { description: "RFC 8288 links to the first, previous, next and last pages", schema: { type: "string" as const } },
  "X-Total-Count": { description: "How many items there are in all", schema: { type: "integer" as const } },
};
export const locationHeader = {
  Location: { description: "The URL of what was created", schema: { type: "string" as const } },
};

/** An OpenAPI response of a paginated JSON list with its headers. */
export const pagedResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
  headers: pageHeaders,
});

export const giteaError = (description: string) => ({
  content: { "application/json": { schema: GiteaErrorSchema } },
  description,
});
