// Tracker configuration (project owners): open and closed statuses, predefined labels, one-value
// classes, in InDefero's text format; and issue templates.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component, requireTracker } from "../../middleware/guards";
import { showFormErrors } from "../../middleware/errors";
import { loadConfig, loadConfigText, saveConfig, type TrackerConfigText } from "../../../services/issues/config";
import { createTemplate, deleteTemplate, listTemplates } from "../../../services/issues/templates";
import { Field, Notice, PostButton, SubmitRow, TextArea } from "../../../views/forms";
import { Label, issuesBase } from "../../../views/issues";
import { readForm } from "../helpers";
import { TrackerPage } from "./frame";
import type { Ctx, Tracker } from "./tracker";

export const issueAdminRoutes = new Hono<AppEnv>();

const DONE: Record<string, string> = {
  config: "Tracker configuration saved.",
  template: "Template saved.",
  "template-deleted": "Template deleted.",
};

async function adminPage(
  c: Ctx,
  t: Tracker,
  opts: { error?: string; status?: number; text?: TrackerConfigText; template?: Record<string, string> } = {},
) {
  const db = c.get("db");
  const [text, templates] = await Promise.all([
    opts.text ? Promise.resolve(opts.text) : loadConfigText(db, t.project.id),
    listTemplates(db, t.project.id),
  ]);
  const base = `${issuesBase(t.project.name)}/admin`;
  const ok = DONE[c.req.query("ok") ?? ""];
  const tpl = opts.template ?? {};
  return c.html(
    <TrackerPage c={c} t={t} title="Tracker configuration" tab="admin" crumbs={[{ label: "Configure" }]}>
      <h1>Tracker configuration</h1>
      {ok && <Notice kind="ok">{ok}</Notice>}
      {opts.error && <Notice kind="error">{opts.error}</Notice>}
      <form method="post" action={base} class="stack wide">
        <p class="hint">
          One per line, as <code>Name = description</code>. New issues get the first open status; a commit that says{" "}
          <code>fixes #12</code> sets the first closed one.
        </p>
        <TextArea label="Open statuses" name="open_statuses" value={text.openStatuses} maxlength={10000} />
        <TextArea label="Closed statuses" name="closed_statuses" value={text.closedStatuses} maxlength={10000} />
        <TextArea
          label="Predefined labels"
          name="labels"
          value={text.labels}
          maxlength={20000}
          hint="Class:Name = description, or Name = description. People may use other labels too; these are offered in the forms."
        />
        <Field
          label="One-value classes"
          name="one_value_classes"
          value={text.oneValueClasses}
          maxlength={500}
          hint="Classes of which an issue carries at most one label, e.g. Type, Priority, Milestone."
        />
        <SubmitRow label="Save configuration" />
      </form>

      <h2>Issue templates</h2>
      {templates.length === 0 ? (
        <p class="muted">
          No templates yet. A template fills the new-issue form with a summary, a description to complete and labels.
        </p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Template</th>
              <th scope="col" class="opt">
                Summary
              </th>
              <th scope="col">Labels</th>
              <th scope="col"></th>
            </tr>
          </thead>
          <tbody>
            {templates.map((tpl) => (
              <tr>
                <td>
                  <a href={`${issuesBase(t.project.name)}/new?template=${tpl.id}`}>{tpl.name}</a>
                </td>
                <td class="opt">{tpl.summary}</td>
                <td>
                  {tpl.labels
                    .split(" ")
                    .filter(Boolean)
                    .map((l) => (
                      <Label project={t.project.name} name={l} />
                    ))}
                </td>
                <td>
                  <PostButton action={`${base}/templates/${tpl.id}/delete`} label="Delete" danger />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Add a template</h2>
      <form method="post" action={`${base}/templates`} class="stack wide">
        <Field label="Name" name="name" value={tpl.name ?? ""} required maxlength={60} hint="e.g. Defect report" />
        <Field label="Summary" name="summary" value={tpl.summary ?? ""} maxlength={200} />
        <TextArea
          label="Description"
          name="body"
          value={tpl.body ?? ""}
          maxlength={65536}
          hint="Markdown, e.g. the questions a report should answer."
        />
        <Field
          label="Labels"
          name="labels"
          value={tpl.labels ?? ""}
          maxlength={1000}
          hint="Separated by spaces, e.g. Type:Defect Priority:Medium"
        />
        <SubmitRow label="Add template" />
      </form>
    </TrackerPage>,
    (opts.status ?? 200) as 200,
  );
}

issueAdminRoutes.get("/p/:project/issues/admin", component("web.issues.admin"), requireTracker("configure"), (c) =>
  adminPage(c, c.get("tracker")),
);

issueAdminRoutes.post("/p/:project/issues/admin", component("web.issues.admin"), requireTracker("configure"), async (c) => {
  const t = c.get("tracker");
  const form = await readForm(c);
  const text: TrackerConfigText = {
    openStatuses: form.open_statuses ?? "",
    closedStatuses: form.closed_statuses ?? "",
    labels: form.labels ?? "",
    oneValueClasses: form.one_value_classes ?? "",
  };
  showFormErrors(c, async ({ status, message }) => {
    return adminPage(c, t, { error: message, status, text });
  });
  await saveConfig(c.get("db"), t.project.id, text);
  return c.redirect(`${issuesBase(t.project.name)}/admin?ok=config`, 303);
});

issueAdminRoutes.post(
  "/p/:project/issues/admin/templates",
  component("web.issues.admin"),
  requireTracker("configure"),
  async (c) => {
    const t = c.get("tracker");
    const form = await readForm(c);
    showFormErrors(c, async ({ status, message }) => {
      return adminPage(c, t, { error: message, status, template: form });
    });
    const config = await loadConfig(c.get("db"), t.project.id);
    await createTemplate(c.get("db"), t.project.id, config, {
      name: form.name ?? "",
      summary: form.summary ?? "",
      body: form.body ?? "",
      labels: form.labels ?? "",
    });
    return c.redirect(`${issuesBase(t.project.name)}/admin?ok=template`, 303);
  },
);

issueAdminRoutes.post(
  "/p/:project/issues/admin/templates/:id{[0-9]+}/delete",
  component("web.issues.admin"),
  requireTracker("configure"),
  async (c) => {
    const t = c.get("tracker");
    await deleteTemplate(c.get("db"), t.project.id, Number(c.req.param("id")));
    return c.redirect(`${issuesBase(t.project.name)}/admin?ok=template-deleted`, 303);
  },
);
