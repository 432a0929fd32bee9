// Project home page: description, clone URL and the project's areas.
import { Hono } from "hono";
import type { AppEnv } from "../../edge/context";
import { findProject } from "../../services/projects";
import { Layout } from "../../views/layout";
import { notFoundPage } from "./errors";

export const projectRoutes = new Hono<AppEnv>();

projectRoutes.get("/p/:project", (c) => c.redirect(`/p/${encodeURIComponent(c.req.param("project"))}/`, 301));

projectRoutes.get("/p/:project/", async (c) => {
  c.get("meter").component = "web.project";
  const tenant = c.get("tenant");
  const project = await findProject(c.get("db"), c.req.param("project"));
  // Private projects come with accounts; until then they are hidden like missing ones.
  if (!project || project.private) return notFoundPage(c);
  const cloneUrl = `${new URL(c.req.url).origin}/${project.name}.git`;
  return c.html(
    <Layout title={project.name} forgeName={tenant.name} crumbs={[{ label: project.name }]}>
      <h1>{project.name}</h1>
      {project.description ? <p>{project.description}</p> : <p class="muted">No description.</p>}
      <h2>Clone</h2>
      <div class="clone">
        <label for="clone-url">HTTPS</label>
        <input id="clone-url" readonly value={cloneUrl} />
      </div>
      <pre>git clone {cloneUrl}</pre>
    </Layout>,
  );
});
