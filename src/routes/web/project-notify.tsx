// A project's notification addresses (its owners' page): per kind of event, addresses told of every
// one (a mailing list...), besides the people who watch. Each mail to them can unsubscribe itself.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../context";
import { component, requireProjectAdmin } from "../middleware/guards";
import { showFormErrors } from "../middleware/errors";
import { webViewer } from "../middleware/session";
import type { Project } from "../../services/projects";
import { PREF_KINDS, type PrefKind } from "../../services/notifications/recipients";
import {
  MAX_PROJECT_ADDRESSES,
  parseAddresses,
  projectAddresses,
  setProjectAddresses,
} from "../../services/notifications/watches";
import { Layout } from "../../views/layout";
import { Notice, SubmitRow, TextArea } from "../../views/forms";
import { readForm } from "./helpers";

export const projectNotifyRoutes = new Hono<AppEnv>();

const LABELS: Record<PrefKind, string> = {
  issue: "Issues (new issues, comments, changes)",
  push: "Pushes",
  wiki: "Wiki changes",
  download: "Downloads",
};

async function page(c: Context<AppEnv>, project: Project, values?: Record<PrefKind, string>, error?: string) {
  const saved = values ? null : await projectAddresses(c.get("db"), project.id);
  const base = `/p/${encodeURIComponent(project.name)}/admin`;
  return c.html(
    <Layout
      title={`${project.name} notification addresses`}
      forgeName={c.get("tenant").name}
      crumbs={[
        { label: project.name, href: `/p/${encodeURIComponent(project.name)}/` },
        { label: "Admin", href: base },
        { label: "Notifications" },
      ]}
      project={{ project, viewer: await webViewer(c), current: "admin" }}
    >
      <h1>{project.name} · notification addresses</h1>
      {c.req.query("ok") === "saved" && <Notice kind="ok">Addresses saved.</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      <p>
        Each address gets a mail for every event of its kind, whoever may read the area (you chose to send it there). At most{" "}
        {MAX_PROJECT_ADDRESSES} a kind, one a line. Nobody is mailed about what they did themselves.
      </p>
      <form method="post" action={`${base}/notifications`} class="stack wide">
        {PREF_KINDS.map((k) => (
          <TextArea label={LABELS[k]} name={k} value={values ? values[k] : saved![k].join("\n")} maxlength={4000} />
        ))}
        <SubmitRow label="Save addresses" />
      </form>
    </Layout>,
    error ? 400 : 200,
  );
}

projectNotifyRoutes.get("/p/:project/admin/notifications", component("web.project.notify"), requireProjectAdmin("read"), (c) =>
  page(c, c.get("project")),
);

projectNotifyRoutes.post(
  "/p/:project/admin/notifications",
  component("web.project.notify"),
  requireProjectAdmin("write"),
  async (c) => {
    const project = c.get("project");
    const form = await readForm(c);
    const typed = Object.fromEntries(PREF_KINDS.map((k) => [k, form[k] ?? ""])) as Record<PrefKind, string>;
    showFormErrors(c, ({ message }) => page(c, project, typed, message));
    const parsed = Object.fromEntries(PREF_KINDS.map((k) => [k, parseAddresses(typed[k], LABELS[k])])) as Record<
      PrefKind,
      string[]
    >;
    await setProjectAddresses(c.get("db"), project.id, parsed);
    return c.redirect(`/p/${encodeURIComponent(project.name)}/admin/notifications?ok=saved`, 303);
  },
);
