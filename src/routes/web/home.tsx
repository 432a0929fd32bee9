// Forge front page: the admin's front page text and the projects the viewer may see.
import { Hono } from "hono";
import type { AppEnv } from "../context";
import { component } from "../middleware/guards";
import { webIdentity } from "../middleware/session";
import { mayCreateProjects, projectVisibility } from "../../auth/access";
import { listVisibleProjects } from "../../services/projects";
import { getSettings } from "../../services/settings";
import { Layout } from "../../views/layout";
import { Markdown } from "../../views/forms";

export const homeRoutes = new Hono<AppEnv>();

homeRoutes.get("/", component("web.home"), async (c) => {
  const tenant = c.get("tenant");
  const db = c.get("db");
  const [{ user, viewer }, settings] = await Promise.all([webIdentity(c), getSettings(db)]);
  const { items: projects } = await listVisibleProjects(db, projectVisibility(viewer), { limit: 100 });
  const mayCreate = mayCreateProjects(user, settings.projectCreation);
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
            </tr>
          </thead>
          <tbody>
            {projects.map((p) => (
              <tr>
                <td>
                  <a href={`/p/${p.name}/`}>{p.name}</a> {p.private && <span class="badge">private</span>}
                </td>
                <td>{firstLine(p.description)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>,
  );
});

/** The list shows the description's first line as plain text (escaped like any text). */
function firstLine(markdown: string): string {
  const line = markdown.split("\n").find((l) => l.trim()) ?? "";
  return line.length > 160 ? `${line.slice(0, 157)}…` : line;
}
