// The frame of every tracker page: crumbs (forge › project › Issues › ...), tabs and search box.
import type { Child } from "hono/jsx";
import { Layout, type Crumb, type Feed } from "../../../views/layout";
import { TrackerNav, issuesBase, type TrackerTab } from "../../../views/issues";
import type { Ctx, Tracker } from "./tracker";

export function TrackerPage(props: {
  c: Ctx;
  t: Tracker;
  title: string;
  tab: TrackerTab;
  q?: string;
  crumbs?: Crumb[];
  /** Atom feeds of this page, for feed readers' discovery. */
  feeds?: Feed[];
  children?: Child;
}) {
  const { t } = props;
  const name = t.project.name;
  return (
    <Layout
      title={`${props.title} · ${name}`}
      forgeName={props.c.get("tenant").name}
      crumbs={[
        { label: name, href: `/p/${encodeURIComponent(name)}/` },
        { label: "Issues", href: `${issuesBase(name)}/` },
        ...(props.crumbs ?? []),
      ]}
      project={{ project: t.project, viewer: t.viewer, current: "issues" }}
      feeds={props.feeds}
    >
      <TrackerNav
        project={name}
        current={props.tab}
        signedIn={!!t.user}
        canWrite={t.rights.write}
        configure={t.rights.configure}
        q={props.q}
      />
      {props.children}
    </Layout>
  );
}
