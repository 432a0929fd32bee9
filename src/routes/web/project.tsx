// Project home page: description, clone URL, featured downloads and wiki pages, the README,
// recent activity and the team.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../context";
import { component, requireProjectPage } from "../middleware/guards";
import { canAccess } from "../../auth/access";
import { listMembers } from "../../services/members";
import { listEvents } from "../../services/timeline";
import { Layout } from "../../views/layout";
import { Markdown } from "../../views/forms";
import { type FeaturedItem, ProjectHome } from "../../views/project-home";
import { entryView } from "../../views/timeline";
import { sourceSummary } from "./source/summary";
import { readableKinds, timelineHref } from "./timeline";

export const projectRoutes = new Hono<AppEnv>();

const RECENT = 8;

/**
 * The featured downloads and wiki pages of the project home, each a link. The wiki and downloads
 * areas fill these in (their services export the lists, already filtered for the viewer); until
 * they exist, a home has none and shows neither section.
 */
export async function homeFeatured(
  _c: Context<AppEnv>,
): Promise<{ featuredDownloads: FeaturedItem[]; featuredWiki: FeaturedItem[] }> {
  return { featuredDownloads: [], featuredWiki: [] };
}

projectRoutes.get("/p/:project", (c) => c.redirect(`/p/${encodeURIComponent(c.req.param("project"))}/`, 301));

projectRoutes.get("/p/:project/", component("web.project"), requireProjectPage, async (c) => {
  const tenant = c.get("tenant");
  const project = c.get("project");
  const viewer = c.get("viewer");
  const readsSource = canAccess(viewer, project, "source", "read");
  const [team, source, recent, featured] = await Promise.all([
    listMembers(c.get("db"), project.id),
    readsSource ? sourceSummary(c, project) : null,
    listEvents(c.get("db"), project.id, { kinds: readableKinds(viewer, project), limit: RECENT }),
    homeFeatured(c),
  ]);
  const feedHref = timelineHref(project.name, { atom: true });
  return c.html(
    <Layout
      title={project.name}
      forgeName={tenant.name}
      crumbs={[{ label: project.name }]}
      project={{ project, viewer, current: "home" }}
      feeds={[{ title: `${project.name} timeline`, href: feedHref }]}
    >
      <ProjectHome
        name={project.name}
        isPrivate={project.private}
        description={project.description ? <Markdown source={project.description} /> : null}
        cloneUrl={readsSource ? `${new URL(c.req.url).origin}/${project.name}.git` : null}
        source={source}
        featuredDownloads={featured.featuredDownloads}
        featuredWiki={featured.featuredWiki}
        recent={recent.events.map((e) => entryView(project.name, e))}
        timelineHref={timelineHref(project.name)}
        team={team
          .filter((m) => m.role !== "authorized")
          .map((m) => ({ username: m.username, name: m.displayName || m.username, owner: m.role === "owner" }))}
      />
    </Layout>,
  );
});
