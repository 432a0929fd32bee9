// Project home page: description, clone URL, team and the project's areas.
import { Hono } from "hono";
import type { AppEnv } from "../../edge/context";
import { webViewer } from "../../edge/session";
import { AREAS_WITH_LEVELS, canAccess } from "../../auth/access";
import { listMembers } from "../../services/members";
import { findProjectForView } from "../../services/projects";
import { Layout } from "../../views/layout";
import { Markdown } from "../../views/forms";
import { notFoundPage } from "./errors";
import { raw } from "hono/html";
import { listEvents } from "../../services/timeline";
import { sourceSummary } from "./source-summary";

/** Which area a timeline event belongs to (its readers may see it). */
const EVENT_AREA = { push: "source", issue: "issues", wiki: "wiki", download: "downloads", review: "review" } as const;

export const projectRoutes = new Hono<AppEnv>();

projectRoutes.get("/p/:project", (c) => c.redirect(`/p/${encodeURIComponent(c.req.param("project"))}/`, 301));

projectRoutes.get("/p/:project/", async (c) => {
  c.get("meter").component = "web.project";
  const tenant = c.get("tenant");
  const project = await findProjectForView(c.get("db"), c.get("tenant").id, c.req.param("project"));
  const viewer = await webViewer(c);
  // Hidden and missing projects get the same page.
  if (!project || !canAccess(viewer, project, "project", "read")) return notFoundPage(c);
  const cloneUrl = `${new URL(c.req.url).origin}/${project.name}.git`;
  const team = (await listMembers(c.get("db"), project.id)).filter((m) => m.role !== "authorized");
  const areas = AREAS_WITH_LEVELS.filter((a) => canAccess(viewer, project, a, "read"));
  const source = canAccess(viewer, project, "source", "read") ? await sourceSummary(c, project) : null;
  const events = (await listEvents(c.get("db"), project.id, 20))
    .filter((e) => canAccess(viewer, project, EVENT_AREA[e.kind as keyof typeof EVENT_AREA] ?? "admin", "read"))
    .slice(0, 8);
  return c.html(
    <Layout title={project.name} forgeName={tenant.name} crumbs={[{ label: project.name }]}>
      <h1>
        {project.name} {project.private && <span class="badge">private</span>}
      </h1>
      {project.description ? <Markdown source={project.description} /> : <p class="muted">No description.</p>}
      <p class="muted">
        Areas:{" "}
        {areas.length
          ? areas.map((a, i) => (
              <>
                {i > 0 && " · "}
                {a === "issues" ? <a href={`/p/${project.name}/issues/`}>issues</a> : a}
              </>
            ))
          : "none open to you"}
        {canAccess(viewer, project, "admin", "read") && (
          <>
            {" · "}
            <a href={`/p/${project.name}/admin`}>admin</a>
          </>
        )}
      </p>
      {canAccess(viewer, project, "source", "read") && (
        <>
          <h2>Clone</h2>
          <div class="clone">
            <label for="clone-url">HTTPS</label>
            <input id="clone-url" readonly value={cloneUrl} />
          </div>
          <pre>git clone {cloneUrl}</pre>
        </>
      )}
      {source && raw(source)}
      {events.length > 0 && (
        <>
          <h2>Recent activity</h2>
          <ul class="activity">
            {events.map((e) => (
              <li>
                {e.title}{" "}
                <time class="muted" datetime={e.createdAt}>
                  {e.createdAt.slice(0, 10)}
                </time>
              </li>
            ))}
          </ul>
        </>
      )}
      {team.length > 0 && (
        <>
          <h2>Team</h2>
          <p>
            {team.map((m, i) => (
              <>
                {i > 0 && ", "}
                <a href={`/u/${encodeURIComponent(m.username)}`}>{m.displayName || m.username}</a>
                {m.role === "owner" && <span class="muted"> (owner)</span>}
              </>
            ))}
          </p>
        </>
      )}
    </Layout>,
  );
});
