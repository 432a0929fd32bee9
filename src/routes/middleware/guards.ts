// The tenant app's per-route pipeline: each route declares its meter component and who may reach
// it; every project decision goes through canAccess (auth/access.ts). A guard puts what it loaded
// on the context (user, project, tracker) for the handler, which then only does its work.
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { webIdentity, webViewer } from "./session";
import { canAccess, deniedStatus, mayCreateProjects, type Mode } from "../../auth/access";
import { findProject, findProjectForView, type Project } from "../../services/projects";
import { getSettings } from "../../services/settings";
import { ForgeError } from "../../utils/errors";
import { notFoundPage } from "../web/errors";
import { signInRedirect } from "../web/helpers";
import { loadTracker, signInTo } from "../web/issues/tracker";
import { sourcePageOf } from "../web/source/page";

/**
 * Names the request's component (logs, Server-Timing, per-component budgets) before anything
 * else of the route runs, so a refused request is counted under the page it asked for.
 */
export function component(name: string | ((c: Context<AppEnv>) => string)): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.get("meter").component = typeof name === "string" ? name : name(c);
    await next();
  };
}

/** Signed-in users only: the user goes on the context; others are sent to sign in first. */
export const requireUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { user } = await webIdentity(c);
  if (!user) return signInRedirect(c);
  c.set("user", user);
  await next();
};

/** Tenant admins only; everyone else gets the not-found page (signed-out people are asked to sign in). */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { user } = await webIdentity(c);
  if (!user) return signInRedirect(c);
  if (!user.isAdmin) return notFoundPage(c);
  c.set("user", user);
  await next();
};

/** Those who may create projects here (mayCreateProjects); the signed-out are asked to sign in first. */
export const requireProjectCreator: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { user } = await webIdentity(c);
  if (!user) return signInRedirect(c);
  if (!mayCreateProjects(user, (await getSettings(c.get("db"))).projectCreation)) {
    throw new ForgeError("forbidden", "On this forge, only admins create projects. Ask one of them.");
  }
  c.set("user", user);
  await next();
};

/**
 * The project of the URL for its owners (canAccess "admin"): anyone else gets 404, a signed-out
 * person who may see the project is asked to sign in, and a reader who may not change it 403.
 */
export function requireProjectAdmin(mode: Mode): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const project = await findProject(c.get("db"), c.req.param("project") ?? "");
    const viewer = await webViewer(c);
    if (!project || !canAccess(viewer, project, "admin", mode)) {
      const status = deniedStatus(viewer, project, "admin", mode);
      if (viewer.user === null && project && canAccess(viewer, project, "project", "read")) return signInRedirect(c);
      if (status === 403) throw new ForgeError("forbidden", "Only the project's owners change its settings.");
      return notFoundPage(c);
    }
    c.set("project", project);
    await next();
  };
}

/**
 * A page's reads that depend on the project but not on who asks: a guard starts them as soon as the
 * project is known, so that they travel beside the session check (one round trip, not two). The
 * handler takes them with `prefetched` once the viewer's access is checked: nothing read for a
 * viewer who may not see it is shown to them.
 */
export type Prefetch<T> = (c: Context<AppEnv>, project: Project) => Promise<T>;

function startPrefetch<T>(c: Context<AppEnv>, project: Project, prefetch: Prefetch<T> | undefined): void {
  if (!prefetch) return;
  const started = prefetch(c, project);
  // A failure surfaces where the handler awaits it; a refused request never does.
  started.catch(() => {});
  c.set("prefetched", started);
}

/** What the route's guard prefetched (the handler's own Prefetch names T). */
export const prefetched = <T>(c: Context<AppEnv>): Promise<T> => c.get("prefetched") as Promise<T>;

/**
 * The URL's project for those who may see it (canAccess "project"); 404 to others, as for a
 * missing one. `prefetch`: the page's reads that do not depend on the viewer (Prefetch).
 */
export function projectPage<T>(prefetch?: Prefetch<T>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const project = await findProjectForView(c.get("db"), c.get("tenant").id, c.req.param("project") ?? "");
    if (project) startPrefetch(c, project, prefetch);
    const viewer = await webViewer(c);
    if (!project || !canAccess(viewer, project, "project", "read")) return notFoundPage(c);
    c.set("project", project);
    c.set("viewer", viewer);
    await next();
  };
}

/** The URL's project for those who may see it (canAccess "project"); 404 to others, as for a missing one. */
export const requireProjectPage: MiddlewareHandler<AppEnv> = projectPage();

/**
 * The tracker of the URL's project and what the viewer may do in it: 404 to those who may not
 * read it (hidden and missing look alike); writes ask the signed-out to sign in first.
 * `prefetch`: the page's reads, started beside the session check (Prefetch).
 */
export function requireTracker<T>(need: "read" | "write" | "configure", prefetch?: Prefetch<T>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const t = await loadTracker(c, (project) => startPrefetch(c, project, prefetch));
    if (!t) return notFoundPage(c);
    if (need !== "read") {
      const allowed = need === "write" ? t.rights.write : t.rights.configure;
      if (!allowed) {
        if (!t.user) return signInTo(c, c.req.method === "GET" ? c.req.path : `/p/${t.project.name}/issues/`);
        if (need === "configure") return notFoundPage(c);
        throw new ForgeError("forbidden", "You may read this project's issues but not write to its tracker.");
      }
    }
    c.set("tracker", t);
    await next();
  };
}

/**
 * The wiki of the URL's project for those who may read it (canAccess "wiki"), else 404 as for a
 * missing project; writes ask the signed-out to sign in first and refuse other readers (403);
 * "configure" is for owners only (404 to others).
 */
export function requireWiki(need: "read" | "write" | "configure"): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const [project, { user, viewer }] = await Promise.all([
      findProject(c.get("db"), c.req.param("project") ?? ""),
      webIdentity(c),
    ]);
    if (!project || !canAccess(viewer, project, "wiki", "read")) return notFoundPage(c);
    const canWrite = canAccess(viewer, project, "wiki", "write");
    const canConfigure = canAccess(viewer, project, "admin", "write");
    if (need === "configure" && !canConfigure) return user ? notFoundPage(c) : signInRedirect(c);
    if (need === "write" && !canWrite) {
      if (!user) return signInRedirect(c);
      throw new ForgeError("forbidden", "You may read this project's wiki but not change it: ask an owner to make you a member.");
    }
    c.set("wiki", { project, user, viewer, canWrite, canConfigure });
    await next();
  };
}

/**
 * Source pages: the project, if the viewer may read its source (checked before any cache is
 * consulted), with its repository opened; else 404, as for a missing one.
 */
export const requireSource: MiddlewareHandler<AppEnv> = async (c, next) => {
  const project = await findProjectForView(c.get("db"), c.get("tenant").id, c.req.param("project") ?? "");
  const viewer = await webViewer(c);
  if (!project || !canAccess(viewer, project, "source", "read")) return notFoundPage(c);
  c.set("source", await sourcePageOf(c, project, viewer));
  await next();
};

/**
 * A project's downloads area (canAccess "downloads"): 404 to those who may not read it (hidden
 * and missing look alike); a write by someone signed out asks them to sign in first, and one by
 * a reader who is not a member is refused (403). Project and viewer go on the context.
 */
export function requireDownloads(mode: Mode): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const name = c.req.param("project") ?? "";
    const db = c.get("db");
    // Writes see the project as it is now; reads may use the 5-second cache.
    const project = mode === "write" ? await findProject(db, name) : await findProjectForView(db, c.get("tenant").id, name);
    const viewer = await webViewer(c);
    if (!project || !canAccess(viewer, project, "downloads", "read")) return notFoundPage(c);
    if (mode === "write" && !canAccess(viewer, project, "downloads", "write")) {
      if (viewer.user === null) {
        const back = c.req.method === "GET" ? c.req.path : `/p/${encodeURIComponent(project.name)}/downloads/`;
        return c.redirect(`/account/login?next=${encodeURIComponent(back)}`, 303);
      }
      throw new ForgeError("forbidden", "Only the project's members upload and change its downloads.");
    }
    c.set("project", project);
    c.set("viewer", viewer);
    await next();
  };
}
