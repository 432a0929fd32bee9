// Shared JSON API plumbing: the error envelope, pagination headers, and a Hono app factory whose
// validation failures and errors all answer {"error": {"code", "message"}}.
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ForgeError } from "../../utils/errors";
import type { AppEnv } from "../../edge/context";

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

export function jsonError(c: Context, status: number, code: string, message: string): Response {
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
