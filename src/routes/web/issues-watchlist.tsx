// The watch list: issues a user watches (stars), across every project of the forge they may read.
import { Hono } from "hono";
import type { AppEnv } from "../../edge/context";
import { webIdentity } from "../../edge/session";
import { canAccess } from "../../auth/access";
import { watchedIssues } from "../../services/issue-lists";
import { Layout } from "../../views/layout";
import { Due, Status, When, issueHref } from "../../views/issues";

export const watchlistRoutes = new Hono<AppEnv>();

watchlistRoutes.get("/watchlist", async (c) => {
  c.get("meter").component = "web.issues.watchlist";
  const { user, viewer } = await webIdentity(c);
  if (!user) return c.redirect(`/account/login?next=${encodeURIComponent("/watchlist")}`, 303);
  const state = c.req.query("state") === "all" ? "all" : "open";
  // Access may have changed since the star: only what the user may still read is listed.
  const rows = (await watchedIssues(c.get("db"), user.id, state)).filter((r) => canAccess(viewer, r.project, "issues", "read"));
  return c.html(
    <Layout title="Watch list" forgeName={c.get("tenant").name} crumbs={[{ label: "Watch list" }]}>
      <h1>Watch list</h1>
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
