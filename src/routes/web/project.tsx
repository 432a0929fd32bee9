// Project home page: description, clone URL, featured downloads and wiki pages, the README,
// recent activity and the team.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../context";
import { component, requireProjectPage } from "../middleware/guards";
import { canAccess } from "../../auth/access";
import { listMembers } from "../../services/members";
import { listEvents } from "../../services/timeline";
import { isWatching } from "../../services/notifications/watches";
import { Layout } from "../../views/layout";
import { Markdown } from "../../views/forms";
import { type FeaturedItem, ProjectHome } from "../../views/project-home";
import { entryView } from "../../views/timeline";
import { featuredDownloads } from "../../services/downloads";
import { featuredWikiPages } from "../../services/wiki";
import { detailsHref } from "../../views/downloads";
import { pageHref } from "../../views/wiki/frame";
import { sourceSummary } from "./source/summary";
import { readableKinds, timelineHref } from "./timeline";

export const projectRoutes = new Hono<AppEnv>();

const RECENT = 8;

/**
 * The featured downloads and wiki pages of the project home, each a link; an area the viewer may
 * not read contributes nothing (and costs no query).
 */
export async function homeFeatured(
  c: Context<AppEnv>,
): Promise<{ featuredDownloads: FeaturedItem[]; featuredWiki: FeaturedItem[] }> {
  const project = c.get("project");
  const viewer = c.get("viewer");
  const db = c.get("db");
  const [downloads, pages] = await Promise.all([
    canAccess(viewer, project, "downloads", "read") ? featuredDownloads(db, project.id) : [],
    canAccess(viewer, project, "wiki", "read") ? featuredWikiPages(db, project.id) : [],
  ]);
  return {
    featuredDownloads: downloads.map((f) => ({
      title: f.name,
      href: detailsHref(project.name, f.name),
      note: f.summary || undefined,
    })),
    featuredWiki: pages.map((p) => ({ title: p.title, href: pageHref(project.name, p.name) })),
  };
}

projectRoutes.get("/p/:project", (c) => c.redirect(`/p/${encodeURIComponent(c.req.param("project"))}/`, 301));

projectRoutes.get("/p/:project/", component("web.project"), requireProjectPage, async (c) => {
  const tenant = c.get("tenant");
  const project = c.get("project");
  const viewer = c.get("viewer");
  const readsSource = canAccess(viewer, project, "source", "read");
  const [team, source, recent, featured, watching] = await Promise.all([
    listMembers(c.get("db"), project.id),
    readsSource ? sourceSummary(c, project) : null,
    listEvents(c.get("db"), project.id, { kinds: readableKinds(viewer, project), limit: RECENT }),
    homeFeatured(c),
    viewer.user ? isWatching(c.get("db"), viewer.user.id, project.id, "project") : null,
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
        watching={watching}
        team={team
          .filter((m) => m.role !== "authorized")
          .map((m) => ({ username: m.username, name: m.displayName || m.username, owner: m.role === "owner" }))}
      />
    </Layout>,
  );
});
