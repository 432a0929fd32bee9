// The frame of every downloads page (crumbs forge › project › Downloads › ..., the area's tabs),
// and what the pages share: the viewer's rights and reading the label fields of a form.
import type { Child } from "hono/jsx";
import type { Context } from "hono";
import type { AppEnv } from "../../context";
import { canAccess } from "../../../auth/access";
import { splitLabels } from "../../../services/downloads";
import { Layout, type Crumb } from "../../../views/layout";
import { DownloadsNav, downloadsBase, type DownloadsTab } from "../../../views/downloads";

export type Ctx = Context<AppEnv>;

/** What the viewer may do here (the guard has put project and viewer on the context). */
export function rightsOf(c: Ctx) {
  const project = c.get("project");
  const viewer = c.get("viewer");
  return {
    write: canAccess(viewer, project, "downloads", "write"),
    configure: canAccess(viewer, project, "admin", "write"),
  };
}

export function DownloadsPage(props: { c: Ctx; title: string; tab: DownloadsTab; crumbs?: Crumb[]; children?: Child }) {
  const project = props.c.get("project");
  const rights = rightsOf(props.c);
  return (
    <Layout
      title={`${props.title} · ${project.name}`}
      forgeName={props.c.get("tenant").name}
      project={{ project, viewer: props.c.get("viewer"), current: "downloads" }}
      crumbs={[
        { label: project.name, href: `/p/${encodeURIComponent(project.name)}/` },
        { label: "Downloads", href: `${downloadsBase(project.name)}/` },
        ...(props.crumbs ?? []),
      ]}
    >
      <DownloadsNav project={project.name} current={props.tab} canWrite={rights.write} canConfigure={rights.configure} />
      {props.children}
    </Layout>
  );
}

/** The labels a form names: its checked boxes (`l.<label>`) and its free text field. */
export function formLabels(fields: Record<string, string>): string[] {
  return [
    ...Object.keys(fields)
      .filter((k) => k.startsWith("l.") && fields[k])
      .map((k) => fields[k]!),
    ...splitLabels(fields.labels ?? ""),
  ];
}
