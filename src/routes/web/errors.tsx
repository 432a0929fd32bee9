// Error pages of tenant hosts (404 for missing or hidden things), with the project's tab bar when
// the page belongs to a project the viewer may see.
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { webViewer } from "../middleware/session";
import { canAccess } from "../../auth/access";
import { findProjectForView, type Project } from "../../services/projects";
import { ErrorPage } from "../../views/layout";
import type { ProjectNav } from "../../views/project-nav";

/**
 * The project of this request, for an error page's navigation: the one a guard loaded, else the
 * one the path names (/p/<name>/...); only if the viewer may see it (a hidden project gets the
 * bare page, like a missing one).
 */
export async function visibleProject(c: Context<AppEnv>): Promise<ProjectNav | undefined> {
  if (!c.get("tenant") || !c.get("db")) return undefined;
  let project: Project | undefined = c.get("tracker")?.project ?? c.get("source")?.project ?? c.get("project");
  if (!project) {
    const m = /^\/p\/([^/]+)/.exec(c.req.path);
    if (!m) return undefined;
    let name: string;
    try {
      name = decodeURIComponent(m[1]!);
    } catch {
      return undefined;
    }
    project = await findProjectForView(c.get("db"), c.get("tenant").id, name);
    if (!project) return undefined;
  }
  const viewer = await webViewer(c);
  return canAccess(viewer, project, "project", "read") ? { project, viewer } : undefined;
}

export async function notFoundPage(c: Context<AppEnv>): Promise<Response> {
  return c.html(
    <ErrorPage
      status={404}
      title="Not found"
      message="There is nothing here, or you are not allowed to see it."
      forgeName={c.get("tenant")?.name}
      project={await visibleProject(c)}
    />,
    404,
  );
}
