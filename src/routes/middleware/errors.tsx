// The tenant app's one error-to-response step: API paths answer the JSON envelope, git paths a
// line git shows its user, pages the HTML error page. Routes throw; none maps errors itself.
import type { Context } from "hono";
import type { AppEnv, FormFailure } from "../context";
import { handleApiError } from "../api/responses";
import { gitPlain } from "./git-access";
import { GitError } from "../../git/errors";
import { ForgeError } from "../../utils/errors";
import { ErrorPage } from "../../views/layout";
import { visibleProject } from "../web/errors";

/** Paths of git smart HTTP (routes/git/smart-http.ts): /<project>.git/... */
const GIT_PATH = /^\/[a-z0-9][a-z0-9._-]*\.git\//;

/**
 * From here on, a refused action (a ForgeError under 500, or "unavailable") shows the form again
 * with its message: the error handler calls `render`. Errors before this call (an unreadable or
 * too large form, a guard's refusal) get the error page; unexpected ones always do.
 */
export function showFormErrors(c: Context<AppEnv>, render: (failure: FormFailure) => Response | Promise<Response>): void {
  c.set("formErrors", render);
}

/** What a form shows for an error: null for errors that are not the person's to fix. */
export function formFailure(err: Error): FormFailure | null {
  if (!(err instanceof ForgeError)) return null;
  if (err.status < 500) return { status: err.status as FormFailure["status"], message: err.message, error: err };
  return err.code === "unavailable" ? { status: 503, message: err.message, error: err } : null;
}

export async function respondToError(err: Error, c: Context<AppEnv>): Promise<Response> {
  if (c.req.path.startsWith("/api/")) return handleApiError(err, c);
  const form = c.get("formErrors");
  const failure = form ? formFailure(err) : null;
  if (form && failure) return form(failure);
  // A malformed or corrupt request is the client's; a missing object is ours (500 below).
  if (err instanceof GitError && err.code !== "missing_object" && GIT_PATH.test(c.req.path)) return gitPlain(c, 400, err.message);
  if (err instanceof ForgeError && err.status < 500) {
    return c.html(
      <ErrorPage
        status={err.status}
        title={err.status === 403 ? "Not allowed" : err.status === 429 ? "Slow down" : "That did not work"}
        message={err.message}
        forgeName={c.get("tenant")?.name}
        project={await visibleProject(c).catch(() => undefined)}
      />,
      err.status as 400,
    );
  }
  console.error(JSON.stringify({ level: "error", id: c.get("meter")?.id, message: String(err?.stack ?? err) }));
  return c.html(
    <ErrorPage
      status={500}
      title="Something went wrong"
      message="The forge could not answer this request. The operator can find it by the request id in the X-Request-Id header."
      forgeName={c.get("tenant")?.name}
    />,
    500,
  );
}
