// Forge front page: the admin's front page text and the projects the viewer may see, with their
// description and when something last happened in an area the viewer may read.
import { Hono } from "hono";
import type { AppEnv } from "../context";
import { component } from "../middleware/guards";
import { webIdentity } from "../middleware/session";
import { type Viewer, canAccess, mayCreateProjects, projectVisibility } from "../../auth/access";
import { listVisibleProjects, type Project } from "../../services/projects";
import { EVENT_AREA, isEventKind, lastActivity } from "../../services/timeline";
import { getSettings } from "../../services/settings";
import { Layout } from "../../views/layout";
import { Markdown } from "../../views/forms";
import type { TenantDb } from "../../db/tenant-db";

export const homeRoutes = new Hono<AppEnv>();

homeRoutes.get("/", component("web.home"), async (c) => {
  const tenant = c.get("tenant");
  const db = c.get("db");
  const [{ user, viewer }, settings] = await Promise.all([webIdentity(c), getSettings(db)]);
  const { items: projects } = await listVisibleProjects(db, projectVisibility(viewer), { limit: 100 });
  const mayCreate = mayCreateProjects(user, settings.projectCreation);
  const last = await lastSeenActivity(db, viewer, projects);
  return c.html(
    <Layout title="Projects" forgeName={tenant.name}>
      {settings.frontPage && <Markdown source={settings.frontPage} />}
      <div class="actions">
        <h1>Projects</h1>
        {mayCreate && (
          <a class="button" href="/projects/new">
            New project
          </a>
        )}
      </div>
      {projects.length === 0 ? (
        <p class="notice">
          This forge has no projects you can see yet.{" "}
          {mayCreate ? (
            <>
              <a href="/projects/new">Create the first one</a>.
            </>
          ) : user ? (
            "An admin of this forge creates them."
          ) : (
            <>
              <a href="/account/login">Sign in</a> to see the projects you belong to.
            </>
          )}
        </p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Description</th>
              <th scope="col" class="opt">
                Last activity
              </th>
            </tr>
          </thead>
          <tbody>
            {projects.map((p) => (
              <tr>
                <td>
                  <a href={`/p/${p.name}/`}>{p.name}</a> {p.private && <span class="badge">private</span>}
                </td>
                <td>{firstLine(p.description)}</td>
                <td class="opt nowrap">
                  {last.get(p.id) ? (
                    <time datetime={last.get(p.id)}>{last.get(p.id)!.slice(0, 10)}</time>
                  ) : (
                    <span class="muted">none</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>,
  );
});

/** Per project, the newest event of a kind the viewer may read (a hidden area's activity stays hidden). */
async function lastSeenActivity(db: TenantDb, viewer: Viewer, projects: Project[]): Promise<Map<number, string>> {
  const byId = new Map(projects.map((p) => [p.id, p]));
  const out = new Map<number, string>();
  for (const row of await lastActivity(
    db,
    projects.map((p) => p.id),
  )) {
    const project = byId.get(row.projectId);
    if (!project || !row.at || !isEventKind(row.kind) || !canAccess(viewer, project, EVENT_AREA[row.kind], "read")) continue;
    if (row.at > (out.get(row.projectId) ?? "")) out.set(row.projectId, row.at);
  }
  return out;
}

/** The list shows the description's first line as plain text (escaped like any text). */
function firstLine(markdown: string): string {
  const line = markdown.split("\n").find((l) => l.trim()) ?? "";
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}
