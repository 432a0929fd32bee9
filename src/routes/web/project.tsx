// Project home page: description, clone URL, team and the project's areas.
import { Hono } from "hono";
import type { AppEnv } from "../context";
import { component, requireProjectPage } from "../middleware/guards";
import { AREAS_WITH_LEVELS, canAccess } from "../../auth/access";
import { listMembers } from "../../services/members";
import { Layout } from "../../views/layout";
import { Markdown } from "../../views/forms";
import { listEvents } from "../../services/timeline";
import { sourceSummary } from "./source/summary";

/** Which area a timeline event belongs to (its readers may see it). */
const EVENT_AREA = { push: "source", issue: "issues", wiki: "wiki", download: "downloads", review: "review" } as const;

export const projectRoutes = new Hono<AppEnv>();

projectRoutes.get("/p/:project", (c) => c.redirect(`/p/${encodeURIComponent(c.req.param("project"))}/`, 301));

projectRoutes.get("/p/:project/", component("web.project"), requireProjectPage, async (c) => {
  const tenant = c.get("tenant");
  const project = c.get("project");
  const viewer = c.get("viewer");
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
      {source}
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
