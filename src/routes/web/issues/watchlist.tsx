// The watch list: the issues (stars), projects and wiki pages a user watches, across every project
// of the forge they may still read; linked from the header.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component, requireUser } from "../../middleware/guards";
import { webViewer } from "../../middleware/session";
import { canAccess } from "../../../auth/access";
import { watchedIssues } from "../../../services/issues/lists";
import { Layout } from "../../../views/layout";
import { Due, Status, When, issueHref } from "../../../views/issues";
import { watchedThings } from "../../../services/notifications/watches";
import { pageHref } from "../../../views/wiki/frame";

export const watchlistRoutes = new Hono<AppEnv>();

watchlistRoutes.get("/watchlist", component("web.issues.watchlist"), requireUser, async (c) => {
  const user = c.get("user");
  const viewer = await webViewer(c);
  const state = c.req.query("state") === "all" ? "all" : "open";
  // Access may have changed since the star: only what the user may still read is listed.
  const [issueRows, things] = await Promise.all([
    watchedIssues(c.get("db"), user.id, state),
    watchedThings(c.get("db"), user.id),
  ]);
  const rows = issueRows.filter((r) => canAccess(viewer, r.project, "issues", "read"));
  const projects = things.projects.filter((p) => canAccess(viewer, p, "project", "read"));
  const pages = things.pages.filter((r) => canAccess(viewer, r.project, "wiki", "read"));
  return c.html(
    <Layout title="Watch list" forgeName={c.get("tenant").name} crumbs={[{ label: "Watch list" }]}>
      <h1>Watch list</h1>
      <p class="muted">
        You get mail about what you watch (<a href="/account/notifications">choose which</a>).
      </p>
      <h2>Projects</h2>
      {projects.length === 0 ? (
        <p class="notice">
          You watch no projects. Press Watch on a project's home page to hear of its pushes, issues, wiki and downloads.
        </p>
      ) : (
        <ul>
          {projects.map((p) => (
            <li>
              <a href={`/p/${encodeURIComponent(p.name)}/`}>{p.name}</a>
            </li>
          ))}
        </ul>
      )}
      <h2>Wiki pages</h2>
      {pages.length === 0 ? (
        <p class="notice">You watch no wiki pages.</p>
      ) : (
        <ul>
          {pages.map(({ project, page }) => (
            <li>
              <a href={pageHref(project.name, page.name)}>{page.title || page.name}</a>{" "}
              <span class="muted">in {project.name}</span>
            </li>
          ))}
        </ul>
      )}
      <h2>Issues</h2>
      <p class="muted">
        Issues you watch, in every project.{" "}
        {state === "open" ? <a href="/watchlist?state=all">Show closed ones too</a> : <a href="/watchlist">Only open ones</a>}
      </p>
      {rows.length === 0 ? (
        <p class="notice">
          You watch no {state === "open" ? "open " : ""}issues. Issues you file are watched for you; press Watch on any issue to
          add it here.
        </p>
      ) : (
        <table class="list issues">
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Issue</th>
              <th scope="col">Status</th>
              <th scope="col" class="opt">
                Updated
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ project, issue }) => (
              <tr>
                <td>
                  <a href={`/p/${encodeURIComponent(project.name)}/issues/`}>{project.name}</a>
                </td>
                <td>
                  <a href={issueHref(project.name, issue.number)}>
                    #{issue.number} {issue.summary}
                  </a>{" "}
                  <Due date={issue.dueDate} state={issue.state} />
                </td>
                <td>
                  <Status status={issue.status} state={issue.state} />
                </td>
                <td class="opt nowrap">
                  <When at={issue.updatedAt} dateOnly />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>,
  );
});
