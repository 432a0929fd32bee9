// Forge front page: the admin's front page text and the projects the viewer may see, with their
// description and when something last happened in an area the viewer may read.
import { Hono } from "hono";
import type { AppEnv } from "../context";
import { component } from "../middleware/guards";
import { webIdentity } from "../middleware/session";
import { type Viewer, canAccess, mayCreateProjects } from "../../auth/access";
import { claimedVisibility, projectIdsQuery, projectListQuery, type Project } from "../../services/projects";
import { EVENT_AREA, isEventKind, lastActivity } from "../../services/timeline";
import { settingsFrom, settingsQuery } from "../../services/settings";
import { Layout } from "../../views/layout";
import { Markdown } from "../../views/forms";
import type { TenantDb } from "../../db/tenant-db";

export const homeRoutes = new Hono<AppEnv>();

const LISTED = 100;

/**
 * Settings, the projects the session's user may see and their last activity, in one batch read
 * beside the session check: one round trip. A session the check refuses (rare: signed out
 * elsewhere) is read again as the anonymous visitor it turns out to be.
 */
async function frontPage(db: TenantDb, claimed: number | null) {
  const where = claimedVisibility(claimed);
  const [settingsRows, projects, activity] = await db.batch([
    settingsQuery(db),
    projectListQuery(db, where, LISTED),
    lastActivity(db, projectIdsQuery(db, where, LISTED)),
  ]);
  return { settings: settingsFrom(settingsRows), projects, activity };
}

homeRoutes.get("/", component("web.home"), async (c) => {
  const tenant = c.get("tenant");
  const db = c.get("db");
  const claimed = c.get("session")?.u ?? null;
  let [{ user, viewer }, page] = await Promise.all([webIdentity(c), frontPage(db, claimed)]);
  if ((user?.id ?? null) !== claimed) page = await frontPage(db, user?.id ?? null);
  const { settings, projects } = page;
  const mayCreate = mayCreateProjects(user, settings.projectCreation);
  const last = lastSeenActivity(viewer, projects, page.activity);
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
function lastSeenActivity(
  viewer: Viewer,
  projects: Project[],
  activity: { projectId: number; kind: string; at: string | null }[],
): Map<number, string> {
  const byId = new Map(projects.map((p) => [p.id, p]));
  const out = new Map<number, string>();
  for (const row of activity) {
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
