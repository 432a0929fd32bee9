// Guards of the JSON API, declared per route group: who the request acts for (token or session,
// services/credentials.ts) and, for a project's tracker, what canAccess lets them do in it. A
// GET needs read; every other method writes. Refusals are ForgeErrors, answered as JSON.
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { apiIdentity } from "./session";
import { canAccess, deniedStatus, type Mode, type Viewer } from "../../auth/access";
import type { User } from "../../services/users";
import { findProject, findProjectForView, type Project } from "../../services/projects";
import { trackerRights } from "../../services/issues";
import { ForgeError } from "../../utils/errors";

const modeOf = (c: Context<AppEnv>): Mode => (c.req.method === "GET" || c.req.method === "HEAD" ? "read" : "write");

const unauthorized = (c: Context<AppEnv>) => {
  c.header("WWW-Authenticate", 'token realm="edgeforge"');
  return new ForgeError("unauthorized", "Sign in, or send Authorization: token <API token>.");
};

/** A signed-in caller (a write-scoped one for writes): user and viewer go on the context. */
export const requireApiUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { user, viewer } = await apiIdentity(c);
  if (!user) throw unauthorized(c);
  if (modeOf(c) === "write" && viewer.scope !== "write") throw new ForgeError("forbidden", "This token is read-only.");
  c.set("user", user);
  c.set("viewer", viewer);
  await next();
};

/**
 * The URL's project tracker for this caller: 404 when they may not read it, 401/403 for writes
 * they may not make. Reads take the project from the isolate's 5-second cache (as pages do) and
 * start `prefetch` (a route's reads that do not depend on the caller; null when the request is
 * not one it serves) beside the credential check: one round trip.
 */
export function apiTracker(
  prefetch?: (c: Context<AppEnv>, project: Project) => Promise<unknown> | null,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const name = c.req.param("project") ?? "";
    const identity = apiIdentity(c);
    // Awaited below; a failure (bad credentials: 401) surfaces there, not as an unhandled rejection.
    identity.catch(() => {});
    const db = c.get("db");
    const project = await (modeOf(c) === "read" ? findProjectForView(db, c.get("tenant").id, name) : findProject(db, name));
    const started = project && prefetch?.(c, project);
    if (started) {
      started.catch(() => {});
      c.set("prefetched", started);
    }
    await trackerFor(c, name, project, await identity);
    await next();
  };
}

/** The tracker guard of routes that start no reads of their own (apiTracker). */
export const requireApiTracker: MiddlewareHandler<AppEnv> = apiTracker();

function trackerFor(
  c: Context<AppEnv>,
  name: string,
  project: Project | undefined,
  { user, viewer }: { user: User | null; viewer: Viewer },
): void {
  const rights = project ? trackerRights(viewer, project) : null;
  if (!project || !rights?.read) throw new ForgeError("not_found", `project ${name} not found`);
  if (modeOf(c) === "write" && !rights.write) {
    if (deniedStatus(viewer, project, "issues", "write") === 401) throw unauthorized(c);
    throw new ForgeError(
      "forbidden",
      viewer.scope !== "write" ? "This token is read-only." : "You may not write to this project's tracker.",
    );
  }
  c.set("tracker", { project, user, viewer, rights });
}

/** The URL's project wiki for this caller: 404 when they may not read it, 401/403 for writes they may not make. */
export const requireApiWiki: MiddlewareHandler<AppEnv> = async (c, next) => {
  const name = c.req.param("project") ?? "";
  const [{ user, viewer }, project] = await Promise.all([apiIdentity(c), findProject(c.get("db"), name)]);
  if (!project || !canAccess(viewer, project, "wiki", "read")) throw new ForgeError("not_found", `project ${name} not found`);
  const canWrite = canAccess(viewer, project, "wiki", "write");
  if (modeOf(c) === "write" && !canWrite) {
    if (deniedStatus(viewer, project, "wiki", "write") === 401) throw unauthorized(c);
    throw new ForgeError(
      "forbidden",
      viewer.scope !== "write" ? "This token is read-only." : "Only the project's members change its wiki.",
    );
  }
  c.set("wiki", { project, user, viewer, canWrite, canConfigure: canAccess(viewer, project, "admin", "write") });
  await next();
};

/**
 * The URL's project (/api/v1/projects/:name) for callers who may see it, else 404; a change
 * (after requireApiUser) needs its owners' rights, else 403.
 */
export const requireApiProject: MiddlewareHandler<AppEnv> = async (c, next) => {
  const name = c.req.param("name") ?? "";
  const { viewer } = await apiIdentity(c);
  const project = await findProject(c.get("db"), name);
  if (!project || !canAccess(viewer, project, "project", "read")) throw new ForgeError("not_found", `project ${name} not found`);
  if (modeOf(c) === "write" && !canAccess(viewer, project, "admin", "write")) {
    throw new ForgeError("forbidden", "Only the project's owners change its settings.");
  }
  c.set("project", project);
  c.set("viewer", viewer);
  await next();
};

/**
 * The URL's project (/api/v1/projects/:project/downloads...) for callers who may read its
 * downloads, else 404; writes need a member's write credential (401/403 otherwise).
 */
export const requireApiDownloads: MiddlewareHandler<AppEnv> = async (c, next) => {
  const name = c.req.param("project") ?? "";
  const [{ viewer }, project] = await Promise.all([apiIdentity(c), findProject(c.get("db"), name)]);
  if (!project || !canAccess(viewer, project, "downloads", "read"))
    throw new ForgeError("not_found", `project ${name} not found`);
  if (modeOf(c) === "write" && !canAccess(viewer, project, "downloads", "write")) {
    if (deniedStatus(viewer, project, "downloads", "write") === 401) throw unauthorized(c);
    throw new ForgeError(
      "forbidden",
      viewer.scope !== "write" ? "This token is read-only." : "Only the project's members upload and change its downloads.",
    );
  }
  c.set("project", project);
  c.set("viewer", viewer);
  await next();
};

/**
 * The Gitea-compatible API's repository (/api/v1/repos/:owner/:repo/...): the owner must be this
 * forge's organization (its slug), the caller must read the project and `area` of it, else 404
 * (a private project and a missing one answer alike). Writes to issues need the tracker's write
 * right, to labels and source the area's write right (401 when signing in could help, else 403).
 * Hooks are for the project's owners only, reads too, as the forge's own hooks API.
 * Puts the project, the viewer (and user) and, for issues, the tracker on the context.
 */
export function requireGiteaRepo(area: "project" | "source" | "issues" | "labels" | "hooks"): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const owner = c.req.param("owner") ?? "";
    const name = c.req.param("repo") ?? "";
    const [{ user, viewer }, project] = await Promise.all([
      apiIdentity(c),
      owner.toLowerCase() === c.get("tenant").slug.toLowerCase() ? findProject(c.get("db"), name) : undefined,
    ]);
    const readArea = area === "labels" ? "issues" : area === "hooks" ? "project" : area;
    if (!project || !canAccess(viewer, project, readArea, "read")) {
      throw new ForgeError("not_found", `repository ${owner}/${name} not found`);
    }
    if (area === "hooks" && !canAccess(viewer, project, "admin", modeOf(c))) {
      if (viewer.user === null) throw unauthorized(c);
      throw new ForgeError(
        "forbidden",
        viewer.scope !== "write" && modeOf(c) === "write"
          ? "This token is read-only."
          : "Only the project's owners manage its webhooks.",
      );
    }
    const rights = trackerRights(viewer, project);
    // Only issues, labels and hooks take writes here; a write elsewhere finds no route (404).
    if (modeOf(c) === "write" && (area === "issues" || area === "labels")) {
      // Labels are the tracker's configuration: its owners change them, as on the settings page.
      const allowed = area === "issues" ? rights.write : rights.configure;
      if (!allowed) {
        if (viewer.user === null) throw unauthorized(c);
        throw new ForgeError(
          "forbidden",
          viewer.scope !== "write" ? "This token is read-only." : "You may not change this in this repository.",
        );
      }
    }
    if (user) c.set("user", user);
    c.set("project", project);
    c.set("viewer", viewer);
    c.set("tracker", { project, user, viewer, rights });
    await next();
  };
}

/**
 * The URL's project (/api/v1/projects/:project/hooks...) for its owners (and tenant admins):
 * hidden projects 404, anonymous callers 401, others 403; writes need a write-scoped credential.
 */
export const requireApiProjectOwner: MiddlewareHandler<AppEnv> = async (c, next) => {
  const name = c.req.param("project") ?? "";
  const [{ viewer }, project] = await Promise.all([apiIdentity(c), findProject(c.get("db"), name)]);
  if (!project || !canAccess(viewer, project, "project", "read")) throw new ForgeError("not_found", `project ${name} not found`);
  if (!canAccess(viewer, project, "admin", modeOf(c))) {
    if (!viewer.user) throw unauthorized(c);
    throw new ForgeError(
      "forbidden",
      viewer.scope !== "write" && modeOf(c) === "write"
        ? "This token is read-only."
        : "Only the project's owners manage its webhooks.",
    );
  }
  c.set("project", project);
  c.set("viewer", viewer);
  await next();
};
