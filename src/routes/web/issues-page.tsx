// The issue page (description, history of comments and changes, metadata), the forms that file
// and change issues, stars, relation removal and attachment downloads.
import { Hono } from "hono";
import type { AppEnv } from "../../edge/context";
import {
  RELATION_KINDS,
  RELATION_LABELS,
  createIssue,
  getIssueDetail,
  isRelationKind,
  setStar,
  updateIssue,
  type IssueAttachment,
  type IssueDetail,
  type RelationKind,
} from "../../services/issues";
import { loadConfig, splitLabels, type TrackerConfig } from "../../services/issue-config";
import {
  ATTACHMENTS_PER_POST,
  ATTACHMENT_FIELD,
  attachmentResponse,
  discardAttachments,
  findAttachment,
  formatBytes,
} from "../../services/issue-attachments";
import { findTemplate, listTemplates } from "../../services/issue-templates";
import { badRequest } from "../../utils/errors";
import { Field, Notice, TextArea } from "../../views/forms";
import {
  ChangeList,
  Due,
  IssueMarkdown,
  Label,
  LabelFields,
  Status,
  When,
  issueHref,
  issuesBase,
  listHref,
} from "../../views/issues";
import { formError, readForm } from "./helpers";
import { notFoundPage } from "./errors";
import { TrackerPage } from "./issues-frame";
import { inputFromForm, readIssueForm, trackerRoute, type Ctx, type Tracker } from "./issues-helpers";

export const issuePageRoutes = new Hono<AppEnv>();

const numberParam = (c: Ctx) => Number(c.req.param("number"));

function Attachments(props: { project: string; items: IssueAttachment[] }) {
  if (!props.items.length) return null;
  return (
    <ul class="iss-files">
      {props.items.map((a) => (
        <li>
          <a href={`${issuesBase(props.project)}/attachments/${a.id}/${encodeURIComponent(a.filename)}`}>{a.filename}</a>{" "}
          <span class="muted">({formatBytes(a.size)})</span>
        </li>
      ))}
    </ul>
  );
}

function AttachmentField(props: { c: Ctx }) {
  return (
    <div class="field">
      <label for="f-attachment">Attach files</label>
      <input id="f-attachment" type="file" name={ATTACHMENT_FIELD} multiple />
      <span class="hint">
        Up to {ATTACHMENTS_PER_POST} files, each at most {formatBytes(props.c.get("tenant").plan.maxUploadBytes)}.
      </span>
    </div>
  );
}

function StatusSelect(props: { config: TrackerConfig; value: string }) {
  const option = (name: string) => (
    <option value={name} selected={props.value.toLowerCase() === name.toLowerCase()}>
      {name}
    </option>
  );
  return (
    <div class="field">
      <label for="f-status">Status</label>
      <select id="f-status" name="status">
        <optgroup label="Open">{props.config.open.map((s) => option(s.name))}</optgroup>
        <optgroup label="Closed">{props.config.closed.map((s) => option(s.name))}</optgroup>
      </select>
    </div>
  );
}

/** The fields members change on an issue: status, owner, labels, due date, a relation to add. */
function TriageFields(props: {
  config: TrackerConfig;
  values: { status: string; owner: string; labels: string[]; due: string; relationKind: string; relationNumbers: string };
}) {
  const v = props.values;
  return (
    <>
      <div class="iss-row">
        <StatusSelect config={props.config} value={v.status} />
        <Field label="Owner" name="owner" value={v.owner} maxlength={40} hint="A username; empty for nobody." />
        <div class="field">
          <label for="f-due_date">Due date</label>
          <input id="f-due_date" type="date" name="due_date" value={v.due} />
        </div>
      </div>
      <LabelFields config={props.config} labels={v.labels} />
      <div class="iss-row">
        <div class="field">
          <label for="f-relation_kind">This issue</label>
          <select id="f-relation_kind" name="relation_kind">
            {RELATION_KINDS.map((k) => (
              <option value={k} selected={v.relationKind === k}>
                {RELATION_LABELS[k]}
              </option>
            ))}
          </select>
        </div>
        <Field label="Issues" name="relation_numbers" value={v.relationNumbers} maxlength={200} hint="Numbers, e.g. 3, 7" />
      </div>
    </>
  );
}

/** Labels a form shows: what was submitted (after an error), else the issue's. */
function draftLabels(draft: Record<string, string> | undefined, current: string[]): string[] {
  if (!draft) return current;
  return [
    ...Object.keys(draft)
      .filter((k) => k.startsWith("label_"))
      .map((k) => draft[k]!)
      .filter(Boolean),
    ...splitLabels(draft.labels ?? ""),
  ];
}

async function issuePage(
  c: Ctx,
  t: Tracker,
  detail: IssueDetail,
  opts: { error?: string; status?: number; draft?: Record<string, string>; keepFields?: boolean } = {},
) {
  const config = await loadConfig(c.get("db"), t.project.id);
  const { issue } = detail;
  const name = t.project.name;
  const base = issueHref(name, issue.number);
  const editText = t.rights.triage || (!!t.user && t.user.id === issue.submitterId);
  // After a conflict the fields show the issue as it is now; after other errors, what was sent.
  const d = opts.keepFields === false ? undefined : opts.draft;
  const byKind = new Map<RelationKind, IssueDetail["relations"]>();
  for (const r of detail.relations) byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), r]);
  const issueFiles = detail.attachments.filter((a) => a.commentId === null);
  const ok = c.req.query("ok");
  return c.html(
    <TrackerPage c={c} t={t} title={`#${issue.number} ${issue.summary}`} tab="issue" crumbs={[{ label: `#${issue.number}` }]}>
      <h1 class="iss-title">
        {issue.summary} <span class="muted">#{issue.number}</span>
      </h1>
      <p class="iss-meta">
        <Status status={issue.status} state={issue.state} /> filed by{" "}
        {detail.submitter ? (
          <a href={`/u/${encodeURIComponent(detail.submitter.username)}`}>{detail.submitter.username}</a>
        ) : (
          "someone"
        )}{" "}
        on <When at={issue.createdAt} />
        {issue.closedAt && issue.state === "closed" && (
          <>
            , closed <When at={issue.closedAt} />
          </>
        )}
      </p>
      {ok === "filed" && <Notice kind="ok">Issue filed.</Notice>}
      {opts.error && <Notice kind="error">{opts.error}</Notice>}
      <div class="iss-cols">
        <div class="iss-main">
          <article class="iss-c" id="description">
            <header>
              <strong>{detail.submitter?.username ?? "someone"}</strong> <span class="muted">wrote</span>
            </header>
            <div>
              {issue.description ? (
                <IssueMarkdown source={issue.description} project={name} />
              ) : (
                <p class="muted">No description.</p>
              )}
              <Attachments project={name} items={issueFiles} />
            </div>
          </article>
          {detail.comments.map((cm) => (
            <article class="iss-c" id={`c${cm.id}`}>
              <header>
                <strong>{cm.author?.username ?? "the forge"}</strong>{" "}
                <a class="muted" href={`#c${cm.id}`}>
                  <When at={cm.createdAt} />
                </a>
              </header>
              <div>
                {cm.body && <IssueMarkdown source={cm.body} project={name} />}
                <ChangeList project={name} changes={cm.changes} />
                <Attachments project={name} items={detail.attachments.filter((a) => a.commentId === cm.id)} />
              </div>
            </article>
          ))}
          <span id="end" />
          {t.rights.write ? (
            <form method="post" action={`${base}/comment`} enctype="multipart/form-data" class="stack wide iss-form">
              <h2>Add a comment{t.rights.triage ? " or change the issue" : ""}</h2>
              <input type="hidden" name="version" value={String(issue.version)} />
              <TextArea
                label="Comment"
                name="comment"
                value={opts.draft?.comment ?? ""}
                maxlength={65536}
                hint="Markdown. #12, issue 12, commit ids and path/file.ts#L10 become links."
              />
              <AttachmentField c={c} />
              {editText && <Field label="Summary" name="summary" value={d?.summary ?? issue.summary} maxlength={200} />}
              {t.rights.triage && (
                <TriageFields
                  config={config}
                  values={{
                    status: d?.status ?? issue.status,
                    owner: d?.owner ?? detail.owner?.username ?? "",
                    labels: draftLabels(d, detail.labels),
                    due: d?.due_date ?? issue.dueDate ?? "",
                    relationKind: d?.relation_kind ?? "relates",
                    relationNumbers: d?.relation_numbers ?? "",
                  }}
                />
              )}
              <div class="actions">
                <button type="submit" class="primary">
                  {t.rights.triage ? "Save" : "Comment"}
                </button>
              </div>
            </form>
          ) : (
            <p class="notice">
              {t.user ? (
                "You may read this tracker but not write to it."
              ) : (
                <>
                  <a href={`/account/login?next=${encodeURIComponent(base)}`}>Sign in</a> to comment on this issue.
                </>
              )}
            </p>
          )}
        </div>
        <aside class="iss-side">
          <div>
            <h2>Status</h2>
            <a href={listHref(name, { status: issue.status })}>
              <Status status={issue.status} state={issue.state} />
            </a>
          </div>
          <div>
            <h2>Owner</h2>
            {detail.owner ? (
              <a href={listHref(name, { owner: detail.owner.username })}>{detail.owner.username}</a>
            ) : (
              <span class="muted">nobody</span>
            )}
          </div>
          <div>
            <h2>Labels</h2>
            {detail.labels.length ? detail.labels.map((l) => <Label project={name} name={l} />) : <span class="muted">none</span>}
          </div>
          <div>
            <h2>Due date</h2>
            {issue.dueDate ? <Due date={issue.dueDate} state={issue.state} /> : <span class="muted">none</span>}
          </div>
          <div>
            <h2>Relations</h2>
            {detail.relations.length === 0 ? (
              <span class="muted">none</span>
            ) : (
              <ul class="iss-rel">
                {[...byKind].map(([kind, list]) =>
                  list.map((r) => (
                    <li>
                      {RELATION_LABELS[kind]}{" "}
                      <a href={issueHref(name, r.number)} class={r.state === "closed" ? "closed" : undefined} title={r.summary}>
                        #{r.number}
                      </a>{" "}
                      <span class="muted">{r.summary.length > 40 ? `${r.summary.slice(0, 39)}…` : r.summary}</span>
                      {t.rights.triage && " "}
                      {t.rights.triage && (
                        <form method="post" action={`${base}/relations/delete`} class="inline">
                          <input type="hidden" name="kind" value={kind} />
                          <input type="hidden" name="number" value={String(r.number)} />
                          <button type="submit" class="link" title="Remove this relation">
                            remove
                          </button>
                        </form>
                      )}
                    </li>
                  )),
                )}
              </ul>
            )}
          </div>
          <div>
            <h2>Interested</h2>
            <p class="muted">
              {detail.stars} {detail.stars === 1 ? "person watches" : "people watch"} this issue.
            </p>
            {t.rights.write && (
              <form method="post" action={`${base}/star`} class="inline">
                <input type="hidden" name="star" value={detail.starred ? "0" : "1"} />
                <button type="submit">{detail.starred ? "Stop watching" : "Watch"}</button>
              </form>
            )}
          </div>
          <div>
            <h2>Elsewhere</h2>
            <p>
              <a href={`/p/${encodeURIComponent(name)}/feed/issues/${issue.number}.atom`}>Atom feed</a> ·{" "}
              <a href={`/api/v1/projects/${encodeURIComponent(name)}/issues/${issue.number}`}>API</a>
            </p>
          </div>
        </aside>
      </div>
    </TrackerPage>,
    (opts.status ?? 200) as 200,
  );
}

issuePageRoutes.get(
  "/p/:project/issues/:number{[0-9]+}",
  trackerRoute("web.issues.issue", "read", async (c, t) => {
    const detail = await getIssueDetail(c.get("db"), t.project.id, numberParam(c), t.user?.id ?? null);
    if (!detail) return notFoundPage(c);
    return issuePage(c, t, detail);
  }),
);

issuePageRoutes.post(
  "/p/:project/issues/:number{[0-9]+}/comment",
  trackerRoute("web.issues.comment", "write", async (c, t) => {
    const number = numberParam(c);
    const db = c.get("db");
    const reload = async () => getIssueDetail(db, t.project.id, number, t.user?.id ?? null);
    const { fields, attachments, error } = await readIssueForm(c, t);
    if (error) {
      const detail = await reload();
      const message = `${error.message} Nothing was saved; choose the files again.`;
      return detail ? issuePage(c, t, detail, { error: message, status: error.status, draft: fields }) : notFoundPage(c);
    }
    try {
      const version = Number.parseInt(fields.version ?? "", 10);
      const result = await updateIssue(
        db,
        t.project,
        number,
        { user: t.user, triage: t.rights.triage },
        inputFromForm(fields, t.rights),
        {
          comment: fields.comment ?? "",
          attachments,
          baseVersion: Number.isSafeInteger(version) ? version : undefined,
        },
      );
      if (result.outcome === "unchanged") throw badRequest("Write a comment, attach a file or change something before saving.");
      return c.redirect(`${issueHref(t.project.name, number)}#end`, 303);
    } catch (err) {
      await discardAttachments(c.env.OBJECTS, attachments);
      const { status, message } = formError(err);
      const detail = await reload();
      if (!detail) return notFoundPage(c);
      const again = attachments.length ? " Choose the files to attach again." : "";
      return issuePage(c, t, detail, { error: message + again, status, draft: fields, keepFields: status !== 409 });
    }
  }),
);

issuePageRoutes.post(
  "/p/:project/issues/:number{[0-9]+}/star",
  trackerRoute("web.issues.star", "write", async (c, t) => {
    const detail = await getIssueDetail(c.get("db"), t.project.id, numberParam(c), null);
    if (!detail) return notFoundPage(c);
    const form = await readForm(c);
    await setStar(c.get("db"), detail.issue.id, t.user!.id, form.star !== "0");
    return c.redirect(issueHref(t.project.name, detail.issue.number), 303);
  }),
);

issuePageRoutes.post(
  "/p/:project/issues/:number{[0-9]+}/relations/delete",
  trackerRoute("web.issues.comment", "write", async (c, t) => {
    const number = numberParam(c);
    const form = await readForm(c);
    try {
      const kind = form.kind ?? "";
      if (!isRelationKind(kind)) throw badRequest("Unknown relation.");
      await updateIssue(
        c.get("db"),
        t.project,
        number,
        { user: t.user, triage: t.rights.triage },
        { removeRelations: [{ kind, number: Number(form.number) }] },
      );
      return c.redirect(issueHref(t.project.name, number), 303);
    } catch (err) {
      const { status, message } = formError(err);
      const detail = await getIssueDetail(c.get("db"), t.project.id, number, t.user?.id ?? null);
      return detail ? issuePage(c, t, detail, { error: message, status }) : notFoundPage(c);
    }
  }),
);

issuePageRoutes.get(
  "/p/:project/issues/attachments/:id/:filename",
  trackerRoute("web.issues.attachment", "read", async (c, t) => {
    const a = await findAttachment(c.get("db"), t.project.id, c.req.param("id") ?? "");
    if (!a) return notFoundPage(c);
    return (await attachmentResponse(c.env.OBJECTS, c.get("tenant").id, a)) ?? notFoundPage(c);
  }),
);

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
        <div class="actions">
          <button type="submit" class="primary">
            File issue
          </button>
        </div>
      </form>
    </TrackerPage>,
    status as 200,
  );
}

issuePageRoutes.get(
  "/p/:project/issues/new",
  trackerRoute("web.issues.new", "write", (c, t) => newIssuePage(c, t, {})),
);

issuePageRoutes.post(
  "/p/:project/issues/new",
  trackerRoute("web.issues.new", "write", async (c, t) => {
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
  }),
);
