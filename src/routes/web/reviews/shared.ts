// What every review page needs: the project of the URL for those who may read its reviews (and
// its source: a review shows code), else 404 as for a missing project; writes (comment, verdict,
// open a review) ask the signed-out to sign in and refuse other readers.
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../../context";
import { canAccess, type Mode, type Viewer } from "../../../auth/access";
import { findProject, type Project } from "../../../services/projects";
import type { User } from "../../../services/users";
import type { Actor } from "../../../services/reviews/model";
import { SERIES_MAX_BYTES } from "../../../services/reviews/patch-series";
import { ForgeError } from "../../../utils/errors";
import { limitBody } from "../helpers";
import { webIdentity } from "../../middleware/session";
import { notFoundPage } from "../errors";

export type Ctx = Context<AppEnv>;

export const reviewsBase = (project: string) => `/p/${encodeURIComponent(project)}/reviews`;
export const reviewHref = (project: string, n: number) => `${reviewsBase(project)}/${n}`;

export interface ReviewRights {
  /** Comment, approve or request changes, open reviews: signed-in readers (canAccess review write). */
  write: boolean;
  /** Change a review's status and merge it: those who may push (canAccess source write). */
  manage: boolean;
}

export function reviewRights(viewer: Viewer, project: Project): ReviewRights {
  const write = canAccess(viewer, project, "review", "write");
  return { write, manage: write && canAccess(viewer, project, "source", "write") };
}

export function requireReviews(mode: Mode): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const [project, { user, viewer }] = await Promise.all([
      findProject(c.get("db"), c.req.param("project") ?? ""),
      webIdentity(c),
    ]);
    if (!project || !canAccess(viewer, project, "review", "read") || !canAccess(viewer, project, "source", "read"))
      return notFoundPage(c);
    if (mode === "write" && !reviewRights(viewer, project).write) {
      if (!user) {
        const back = c.req.method === "GET" ? c.req.path : reviewsBase(project.name);
        return c.redirect(`/account/login?next=${encodeURIComponent(back)}`, 303);
      }
      throw new ForgeError("forbidden", "You may read this project's reviews but not take part in them.");
    }
    c.set("project", project);
    c.set("viewer", viewer);
    await next();
  };
}

/** The signed-in user of a write route (requireReviews("write") made sure there is one). */
export async function actorOf(c: Ctx): Promise<User> {
  const { user } = await webIdentity(c);
  if (!user) throw new ForgeError("unauthorized", "Sign in first.");
  return user;
}

/**
 * What the patch-review service needs of a request: the tenant's stores and quota, the project, and
 * the acting user, as the page's session or the API's token named them (the API uses this too).
 */
export function patchContext(c: Context<AppEnv>, actor: Actor) {
  const tenant = c.get("tenant");
  return {
    env: c.env,
    db: c.get("db"),
    tenantId: tenant.id,
    maxRepoBytes: tenant.plan.maxRepoBytes,
    project: c.get("project"),
    actor,
  };
}

/**
 * A patch series form (multipart): its text fields, and the series from the file chosen or else
 * the text pasted. Refused with 413 past the series' limit before it is parsed.
 */
export async function readSeriesForm(c: Ctx): Promise<{ fields: Record<string, string>; series: Uint8Array }> {
  const over = `The upload is over ${SERIES_MAX_BYTES / 1024 / 1024} MiB: send a smaller series, or push a branch.`;
  await limitBody(c, SERIES_MAX_BYTES + 256 * 1024, over);
  let body: Record<string, string | File | (string | File)[]>;
  try {
    body = await c.req.parseBody();
  } catch {
    throw new ForgeError("bad_request", "This form could not be read; reload the page and send it again.");
  }
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string" && k !== "series") fields[k] = v;
  const file = body.series;
  // Browsers send a textarea's lines ending in CRLF; git format-patch writes LF.
  let series: Uint8Array = new TextEncoder().encode((fields.series_text ?? "").replace(/\r\n/g, "\n"));
  if (file instanceof File && file.size > 0) series = new Uint8Array(await file.arrayBuffer());
  return { fields, series };
}
