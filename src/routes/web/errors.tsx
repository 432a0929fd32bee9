// Error pages of tenant hosts (404 for missing or hidden things, 503 for suspended forges).
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { ErrorPage } from "../../views/layout";

export function notFoundPage(c: Context<AppEnv>): Response | Promise<Response> {
  return c.html(
    <ErrorPage
      status={404}
      title="Not found"
      message="There is nothing here, or you are not allowed to see it."
      forgeName={c.get("tenant")?.name}
    />,
    404,
  );
}
