// The issue page (description, history of comments and changes, metadata), the form that
// changes an issue, stars, relation removal and attachment downloads. Filing is new-issue.tsx.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component, prefetched, requireTracker } from "../../middleware/guards";
import { showFormErrors } from "../../middleware/errors";
import {
  RELATION_LABELS,
  getIssueDetail,
  getIssuePage,
  isRelationKind,
  setStar,
  updateIssue,
  type IssueDetail,
  type RelationKind,
} from "../../../services/issues";
import { loadConfig, type TrackerConfig } from "../../../services/issues/config";
import type { Project } from "../../../services/projects";
import { attachmentResponse, discardAttachments, findAttachment } from "../../../services/issues/attachments";
import { badRequest } from "../../../utils/errors";
import { Field, Notice, SubmitRow, TextArea } from "../../../views/forms";
import { ChangeList, Due, IssueMarkdown, Label, Status, When, issueHref, listHref } from "../../../views/issues";
import { formError, readForm } from "../helpers";
import { notFoundPage } from "../errors";
import { TrackerPage } from "./frame";
import { inputFromForm, readIssueForm, type Ctx, type Tracker } from "./tracker";
import { Attachments, AttachmentField, TriageFields, draftLabels } from "./fields";

export const issuePageRoutes = new Hono<AppEnv>();

const numberParam = (c: Ctx) => Number(c.req.param("number"));

async function issuePage(
  c: Ctx,
  t: Tracker,
  detail: IssueDetail,
  opts: { error?: string; status?: number; draft?: Record<string, string>; keepFields?: boolean; config?: TrackerConfig } = {},
) {
  const config = opts.config ?? (await loadConfig(c.get("db"), t.project.id));
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
              <SubmitRow label={t.rights.triage ? "Save" : "Comment"} />
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

/** The issue and the configuration in one batch, beside the session check; "starred" for the session's user. */
async function pageData(c: Ctx, project: Project) {
  const readFor = c.get("session")?.u ?? null;
  return { ...(await getIssuePage(c.get("db"), project.id, numberParam(c), readFor)), readFor };
}

issuePageRoutes.get(
  "/p/:project/issues/:number{[0-9]+}",
  component("web.issues.issue"),
  requireTracker("read", pageData),
  async (c) => {
    const t = c.get("tracker");
    let { detail, config, readFor } = await prefetched<Awaited<ReturnType<typeof pageData>>>(c);
    // A session the check refused (signed out elsewhere): "starred" was read for someone else.
    if ((t.user?.id ?? null) !== readFor) ({ detail, config } = await pageData(c, t.project));
    if (!detail) return notFoundPage(c);
    return issuePage(c, t, detail, { config });
  },
);

issuePageRoutes.post(
  "/p/:project/issues/:number{[0-9]+}/comment",
  component("web.issues.comment"),
  requireTracker("write"),
  async (c) => {
    const t = c.get("tracker");
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
  },
);

issuePageRoutes.post(
  "/p/:project/issues/:number{[0-9]+}/star",
  component("web.issues.star"),
  requireTracker("write"),
  async (c) => {
    const t = c.get("tracker");
    const detail = await getIssueDetail(c.get("db"), t.project.id, numberParam(c), null);
    if (!detail) return notFoundPage(c);
    const form = await readForm(c);
    await setStar(c.get("db"), detail.issue.id, t.user!.id, form.star !== "0");
    return c.redirect(issueHref(t.project.name, detail.issue.number), 303);
  },
);

issuePageRoutes.post(
  "/p/:project/issues/:number{[0-9]+}/relations/delete",
  component("web.issues.comment"),
  requireTracker("write"),
  async (c) => {
    const t = c.get("tracker");
    const number = numberParam(c);
    const form = await readForm(c);
    showFormErrors(c, async ({ status, message }) => {
      const detail = await getIssueDetail(c.get("db"), t.project.id, number, t.user?.id ?? null);
      return detail ? issuePage(c, t, detail, { error: message, status }) : notFoundPage(c);
    });
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
  },
);

issuePageRoutes.get(
  "/p/:project/issues/attachments/:id/:filename",
  component("web.issues.attachment"),
  requireTracker("read"),
  async (c) => {
    const t = c.get("tracker");
    const a = await findAttachment(c.get("db"), t.project.id, c.req.param("id") ?? "");
    if (!a) return notFoundPage(c);
    return (await attachmentResponse(c.env.OBJECTS, c.get("tenant").id, a)) ?? notFoundPage(c);
  },
);
