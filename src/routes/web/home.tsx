// Forge front page: the list of projects.
import { Hono } from "hono";
import type { AppEnv } from "../../edge/context";
import { listProjects } from "../../services/projects";
import { Layout } from "../../views/layout";

export const homeRoutes = new Hono<AppEnv>();

homeRoutes.get("/", async (c) => {
  c.get("meter").component = "web.home";
  const tenant = c.get("tenant");
  const projects = await listProjects(c.get("db"), { includePrivate: false });
  return c.html(
    <Layout title="Projects" forgeName={tenant.name}>
      <h1>Projects</h1>
      {projects.length === 0 ? (
        <p class="notice">
          This forge has no public projects yet. A forge admin creates one with{" "}
          <code>npx forge projects create {tenant.slug} &lt;name&gt;</code>.
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
                  <a href={`/p/${p.name}/`}>{p.name}</a>
                </td>
                <td>{p.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>,
  );
});
