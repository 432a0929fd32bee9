// Filing an issue: the form (with the project's templates) and what it sends.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component, requireTracker } from "../../middleware/guards";
import { createIssue } from "../../../services/issues";
import { loadConfig, splitLabels } from "../../../services/issues/config";
import { discardAttachments } from "../../../services/issues/attachments";
import { findTemplate, listTemplates } from "../../../services/issues/templates";
import { Field, Notice, SubmitRow, TextArea } from "../../../views/forms";
import { issueHref, issuesBase } from "../../../views/issues";
import { formError } from "../helpers";
import { TrackerPage } from "./frame";
import { inputFromForm, readIssueForm, type Ctx, type Tracker } from "./tracker";
import { AttachmentField, TriageFields, draftLabels } from "./fields";

export const newIssueRoutes = new Hono<AppEnv>();

// Filing

async function newIssuePage(c: Ctx, t: Tracker, draft: Record<string, string>, error?: string, status = 200) {
  const db = c.get("db");
  const [config, templates] = await Promise.all([loadConfig(db, t.project.id), listTemplates(db, t.project.id)]);
  const templateId = Number(c.req.query("template") ?? draft.template ?? NaN);
  const template = Number.isSafeInteger(templateId) ? await findTemplate(db, t.project.id, templateId) : undefined;
  const name = t.project.name;
  const action = `${issuesBase(name)}/new`;
  return c.html(
    <TrackerPage c={c} t={t} title="New issue" tab="new" crumbs={[{ label: "New issue" }]}>
      <h1>New issue</h1>
      {error && <Notice kind="error">{error}</Notice>}
      {templates.length > 0 && (
        <p class="muted">
          Start from a template:{" "}
          {templates.map((tpl, i) => (
            <>
              {i > 0 && " · "}
              <a href={`${action}?template=${tpl.id}`} aria-current={template?.id === tpl.id ? "true" : undefined}>
                {tpl.name}
              </a>
            </>
          ))}
        </p>
      )}
      <form method="post" action={action} enctype="multipart/form-data" class="stack wide iss-form">
        {template && <input type="hidden" name="template" value={String(template.id)} />}
        <Field
          label="Summary"
          name="summary"
          value={draft.summary ?? template?.summary ?? ""}
          required
          maxlength={200}
          autofocus
          hint="One line: what is wrong, or what is wanted."
        />
        <TextArea
          label="Description"
          name="description"
          value={draft.description ?? template?.body ?? ""}
          maxlength={65536}
          hint="Markdown. What you did, what you expected, what happened instead. #12, commit ids and path/file.ts#L10 become links."
        />
        <AttachmentField c={c} />
        {t.rights.triage && (
          <TriageFields
            config={config}
            values={{
              status: draft.status ?? config.open[0]!.name,
              owner: draft.owner ?? "",
              labels: Object.keys(draft).length ? draftLabels(draft, []) : splitLabels(template?.labels ?? ""),
              due: draft.due_date ?? "",
              relationKind: draft.relation_kind ?? "relates",
              relationNumbers: draft.relation_numbers ?? "",
            }}
          />
        )}
        <SubmitRow label="File issue" />
      </form>
    </TrackerPage>,
    status as 200,
  );
}

newIssueRoutes.get("/p/:project/issues/new", component("web.issues.new"), requireTracker("write"), (c) =>
  newIssuePage(c, c.get("tracker"), {}),
);

newIssueRoutes.post("/p/:project/issues/new", component("web.issues.new"), requireTracker("write"), async (c) => {
  const t = c.get("tracker");
  const { fields, attachments, error } = await readIssueForm(c, t);
  if (error) return newIssuePage(c, t, fields, `${error.message} Nothing was filed; choose the files again.`, error.status);
  try {
    const input = inputFromForm(fields, t.rights);
    const issue = await createIssue(
      c.get("db"),
      t.project,
      { user: t.user, triage: t.rights.triage },
      { ...input, summary: fields.summary ?? "" },
      attachments,
    );
    return c.redirect(`${issueHref(t.project.name, issue.number)}?ok=filed`, 303);
  } catch (err) {
    await discardAttachments(c.env.OBJECTS, attachments);
    const { status, message } = formError(err);
    return newIssuePage(c, t, fields, message + (attachments.length ? " Choose the files to attach again." : ""), status);
  }
});
