// Guards of the JSON API, declared per route group: who the request acts for (token or session,
// services/credentials.ts) and, for a project's tracker, what canAccess lets them do in it. A
// GET needs read; every other method writes. Refusals are ForgeErrors, answered as JSON.
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { apiIdentity } from "./session";
import { canAccess, deniedStatus, type Mode } from "../../auth/access";
import { findProject } from "../../services/projects";
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

/** The URL's project tracker for this caller: 404 when they may not read it, 401/403 for writes they may not make. */
export const requireApiTracker: MiddlewareHandler<AppEnv> = async (c, next) => {
  const name = c.req.param("project") ?? "";
  const [{ user, viewer }, project] = await Promise.all([apiIdentity(c), findProject(c.get("db"), name)]);
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
  await next();
};

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
