// Project home page: description, clone URL, featured downloads and wiki pages, the README,
// recent activity and the team.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../context";
import { component, prefetched, projectPage } from "../middleware/guards";
import { canAccess } from "../../auth/access";
import { listMembers } from "../../services/members";
import { EVENT_KINDS, listEvents, type TimelineEvent } from "../../services/timeline";
import type { Project } from "../../services/projects";
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
 * The project home's reads, started beside the session check (guards.ts Prefetch): the team, the
 * newest events of every kind, the featured downloads and wiki pages. What the viewer may not
 * read is left out afterwards (homeFeatured, recentFor). Whether the user the session cookie
 * names watches the project is read beside them too (read again if the session check disagrees).
 */
const homeData = (c: Context<AppEnv>, project: Project) => {
  const db = c.get("db");
  const claimed = c.get("session")?.u ?? null;
  return Promise.all([
    listMembers(db, project.id),
    listEvents(db, project.id, { kinds: EVENT_KINDS, limit: RECENT }),
    featuredDownloads(db, project.id),
    featuredWikiPages(db, project.id),
    claimed === null ? null : isWatching(db, claimed, project.id, "project").then((w) => ({ user: claimed, w })),
  ]);
};
type HomeData = Awaited<ReturnType<typeof homeData>>;

/**
 * The featured downloads and wiki pages of the project home, each a link; an area the viewer may
 * not read contributes nothing.
 */
export function homeFeatured(
  c: Context<AppEnv>,
  downloads: Awaited<ReturnType<typeof featuredDownloads>>,
  pages: Awaited<ReturnType<typeof featuredWikiPages>>,
): { featuredDownloads: FeaturedItem[]; featuredWiki: FeaturedItem[] } {
  const project = c.get("project");
  const viewer = c.get("viewer");
  return {
    featuredDownloads: (canAccess(viewer, project, "downloads", "read") ? downloads : []).map((f) => ({
      title: f.name,
      href: detailsHref(project.name, f.name),
      note: f.summary || undefined,
    })),
    featuredWiki: (canAccess(viewer, project, "wiki", "read") ? pages : []).map((p) => ({
      title: p.title,
      href: pageHref(project.name, p.name),
    })),
  };
}

/**
 * The newest events the viewer may read: those read beside the session check, unless the viewer
 * may not read some kinds and that left the list short (then read again for their kinds only).
 */
async function recentFor(c: Context<AppEnv>, all: HomeData[1]): Promise<TimelineEvent[]> {
  const project = c.get("project");
  const kinds = readableKinds(c.get("viewer"), project);
  const seen = all.events.filter((e) => (kinds as string[]).includes(e.kind));
  if (seen.length === all.events.length || all.older === null) return seen;
  return (await listEvents(c.get("db"), project.id, { kinds, limit: RECENT })).events;
}

projectRoutes.get("/p/:project", (c) => c.redirect(`/p/${encodeURIComponent(c.req.param("project"))}/`, 301));

projectRoutes.get("/p/:project/", component("web.project"), projectPage(homeData), async (c) => {
  const tenant = c.get("tenant");
  const project = c.get("project");
  const viewer = c.get("viewer");
  const readsSource = canAccess(viewer, project, "source", "read");
  // The source summary reads the data centre's refs and cached pages (no regional call when warm);
  // cold, its call to the repository's object goes beside the prefetched reads, not after them.
  const [[team, all, downloads, pages, claimedWatch], source] = await Promise.all([
    prefetched<HomeData>(c),
    readsSource ? sourceSummary(c, project) : null,
  ]);
  const user = viewer.user;
  const watching = !user
    ? null
    : claimedWatch?.user === user.id
      ? claimedWatch.w
      : await isWatching(c.get("db"), user.id, project.id, "project");
  const events = await recentFor(c, all);
  const recent = { events };
  const featured = homeFeatured(c, downloads, pages);
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
