// The tab bar of every project page (Home, Source, Issues, Reviews, Wiki, Downloads, Timeline, Admin): a
// page passes its project, viewer and tab to Layout, which draws it; tabs the viewer cannot read
// are left out, so the bar never points at a 404.
import { type ProjectAccess, type Viewer, canAccess } from "../auth/access";

export type ProjectTab = "home" | "source" | "issues" | "reviews" | "wiki" | "downloads" | "timeline" | "admin";

export interface ProjectNav {
  project: ProjectAccess & { name: string };
  viewer: Viewer;
  /** The tab this page belongs to (none: an error page or a page of no tab). */
  current?: ProjectTab;
}

export interface TabView {
  id: ProjectTab;
  label: string;
  href: string;
}

/** The tabs the viewer may follow, in order. */
export function projectTabs(project: ProjectAccess & { name: string }, viewer: Viewer): TabView[] {
  const base = `/p/${encodeURIComponent(project.name)}`;
  const may = (area: "source" | "issues" | "review" | "wiki" | "downloads" | "admin") => canAccess(viewer, project, area, "read");
  const tabs: (TabView | false)[] = [
    { id: "home", label: "Home", href: `${base}/` },
    may("source") && { id: "source", label: "Source", href: `${base}/source/` },
    may("issues") && { id: "issues", label: "Issues", href: `${base}/issues/` },
    may("review") && may("source") && { id: "reviews", label: "Reviews", href: `${base}/reviews/` },
    may("wiki") && { id: "wiki", label: "Wiki", href: `${base}/wiki` },
    may("downloads") && { id: "downloads", label: "Downloads", href: `${base}/downloads` },
    { id: "timeline", label: "Timeline", href: `${base}/timeline` },
    may("admin") && { id: "admin", label: "Admin", href: `${base}/admin` },
  ];
  return tabs.filter((t): t is TabView => t !== false);
}

export function ProjectTabs(props: { nav: ProjectNav }) {
  const { nav } = props;
  return (
    <nav class="ptabs" aria-label="Project">
      <div class="inner">
        {projectTabs(nav.project, nav.viewer).map((t) => (
          <a href={t.href} aria-current={t.id === nav.current ? "page" : undefined}>
            {t.label}
          </a>
        ))}
      </div>
    </nav>
  );
}
