// The pages of one wiki page: the page itself (contents, labels, files), the edit form, its
// history with diff, revert and delete, one old revision, and a diff of two revisions.
import { WatchButton } from "../watch";
import type { Child } from "hono/jsx";
import { Field, Notice, SubmitRow, TextArea } from "../forms";
import { trustedHtml, type TrustedHtml } from "../trusted-html";
import type { TocEntry } from "../markdown";
import type { Hunk } from "../../git/hunks";
import type { ResourceInfo, RevisionInfo } from "../../services/wiki";
import { formatBytes } from "../../services/issues/attachments";
import { Labels, Toc, WikiFrame, pageHref, wikiBase, type FrameModel } from "./frame";

export interface PageModel {
  name: string;
  title: string;
  labels: string[];
  revision: number;
  updatedAt: string;
  author: string | null;
  html: TrustedHtml;
  toc: TocEntry[];
  resources: (ResourceInfo & { revisions: number })[];
  /** Showing an old revision: its number (the page's current one is `current`). */
  oldRevision?: { number: number; current: number; comment: string };
  notice?: string;
  error?: string;
  /** Signed in: whether the viewer watches the page (the Watch button); undefined: signed out. */
  watching?: boolean;
}

function PostButton(props: { action: string; label: string; base?: number; danger?: boolean }) {
  return (
    <form method="post" action={props.action} class="inline">
      {props.base !== undefined && <input type="hidden" name="base" value={String(props.base)} />}
      <button type="submit" class={props.danger ? "danger" : undefined}>
        {props.label}
      </button>
    </form>
  );
}

/** A page, current or an old revision: the rendered text with its contents, labels and files. */
export function WikiPageView(props: { frame: FrameModel; m: PageModel }) {
  const { frame, m } = props;
  const href = pageHref(frame.project, m.name);
  const old = m.oldRevision;
  return (
    <WikiFrame {...frame}>
      {m.notice && <Notice kind="ok">{m.notice}</Notice>}
      {m.error && <Notice kind="error">{m.error}</Notice>}
      <div class="iss-head">
        <h1>{m.title}</h1>
        <span class="actions">
          {frame.canWrite && !old && <a href={`${href}/edit`}>Edit</a>} <a href={`${href}/history`}>History</a>{" "}
          {m.watching !== undefined && <WatchButton action={`${href}/watch`} watching={m.watching} what="page" />}
        </span>
      </div>
      {old && (
        <Notice kind="info">
          You are reading revision {old.number}
          {old.comment ? ` (${old.comment})` : ""}. <a href={href}>Read the current revision ({old.current})</a> or{" "}
          <a href={`${href}/diff?from=${old.number}&to=${old.current}`}>compare it with this one</a>.
        </Notice>
      )}
      <p class="muted">
        <Labels project={frame.project} labels={m.labels} /> Revision {m.revision}
        {m.author ? ` by ${m.author}` : ""}, {m.updatedAt.slice(0, 16).replace("T", " ")} UTC
      </p>
      <Toc toc={m.toc} />
      <div class="md wiki-body">{trustedHtml(m.html)}</div>
      {!old && <Resources frame={frame} m={m} />}
      {frame.canWrite && !old && (
        <p>
          <PostButton action={`${href}/delete`} label="Delete this page" danger />
        </p>
      )}
    </WikiFrame>
  );
}

function Resources(props: { frame: FrameModel; m: PageModel }) {
  const { frame, m } = props;
  const href = pageHref(frame.project, m.name);
  if (!m.resources.length && !frame.canWrite) return null;
  return (
    <section class="wiki-resources" id="files">
      <h2>Files</h2>
      {m.resources.length > 0 && (
        <ul>
          {m.resources.map((r) => (
            <li>
              <a href={`${href}/resources/${encodeURIComponent(r.name)}`}>{r.name}</a>{" "}
              <span class="muted">
                {formatBytes(r.size)}, revision {r.number}
                {r.revisions > 1 ? ` of ${r.revisions}` : ""}
                {r.uploader ? ` by ${r.uploader}` : ""}
              </span>{" "}
              <code>
                ![{r.name}](resource:{r.name})
              </code>
            </li>
          ))}
        </ul>
      )}
      {frame.canWrite && (
        <form method="post" action={`${href}/resources`} enctype="multipart/form-data" class="stack">
          <Field label="Name (optional)" name="name" maxlength={100} hint="Default: the file's own name." />
          <div class="field">
            <label for="f-file">Upload a file</label>
            <input id="f-file" name="file" type="file" required />
            <span class="hint">
              A file of the same name as one above becomes its next revision. Show it with ![](resource:name.png).
            </span>
          </div>
          <SubmitRow label="Upload" plain />
        </form>
      )}
    </section>
  );
}

export interface EditModel {
  name: string;
  title: string;
  body: string;
  labels: string[];
  allowedLabels: string[];
  comment: string;
  /** null: a new page. */
  base: number | null;
  error?: string;
}

/** The form that creates or edits a page; `base` makes a concurrent edit a conflict, not a loss. */
export function WikiEdit(props: { frame: FrameModel; m: EditModel }) {
  const { frame, m } = props;
  const href = pageHref(frame.project, m.name);
  return (
    <WikiFrame {...frame}>
      <h1>{m.base === null ? `New page ${m.name}` : `Editing ${m.name}`}</h1>
      {m.error && <Notice kind="error">{m.error}</Notice>}
      <form method="post" action={`${href}/edit`} class="stack wide">
        <input type="hidden" name="base" value={m.base === null ? "" : String(m.base)} />
        <Field label="Title" name="title" value={m.title} required maxlength={200} />
        <TextArea
          label="Text"
          name="body"
          value={m.body}
          maxlength={262144}
          hint="Markdown. [[Page]] or [[Page|text]] link to other pages; ![](resource:name.png) shows a file uploaded to this page."
        />
        <fieldset class="field">
          <legend class="label">Labels</legend>
          {m.allowedLabels.map((l) => (
            <label class="wiki-label-choice">
              <input type="checkbox" name="label" value={l} checked={m.labels.includes(l)} /> {l}
            </label>
          ))}
        </fieldset>
        <Field label="What changed (optional)" name="comment" value={m.comment} maxlength={500} />
        <SubmitRow label="Save" cancel={m.base === null ? wikiBase(frame.project) : href} />
      </form>
    </WikiFrame>
  );
}

/** The history: every revision, with choices of two to compare, and revert/delete for members. */
export function WikiHistory(props: {
  frame: FrameModel;
  name: string;
  current: number;
  revisions: RevisionInfo[];
  notice?: string;
}) {
  const { frame, revisions } = props;
  const href = pageHref(frame.project, props.name);
  return (
    <WikiFrame {...frame}>
      {props.notice && <Notice kind="ok">{props.notice}</Notice>}
      <h1>History of {props.name}</h1>
      <form method="get" action={`${href}/diff`} id="compare" />
      <table class="listing wiki-history">
        <thead>
          <tr>
            <th>Revision</th>
            <th>From</th>
            <th>To</th>
            <th>Author</th>
            <th>When</th>
            <th>Comment</th>
            {frame.canWrite && <th>Actions</th>}
          </tr>
        </thead>
        <tbody>
          {revisions.map((r, i) => (
            <tr>
              <td>
                <a href={`${href}/revisions/${r.number}`}>{r.number}</a>
                {r.number === props.current ? " (current)" : ""}
              </td>
              <td>
                <input
                  type="radio"
                  name="from"
                  value={String(r.number)}
                  form="compare"
                  checked={i === 1}
                  aria-label={`Compare from ${r.number}`}
                />
              </td>
              <td>
                <input
                  type="radio"
                  name="to"
                  value={String(r.number)}
                  form="compare"
                  checked={i === 0}
                  aria-label={`Compare to ${r.number}`}
                />
              </td>
              <td>{r.author ?? "someone gone"}</td>
              <td>{r.createdAt.slice(0, 16).replace("T", " ")}</td>
              <td>{r.comment}</td>
              {frame.canWrite && (
                <td>
                  {r.number !== props.current && (
                    <PostButton action={`${href}/revisions/${r.number}/revert`} label="Revert to this" base={props.current} />
                  )}{" "}
                  {revisions.length > 1 && <PostButton action={`${href}/revisions/${r.number}/delete`} label="Delete" danger />}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {revisions.length > 1 && (
        <p>
          <button type="submit" form="compare">
            Compare the chosen revisions
          </button>
        </p>
      )}
    </WikiFrame>
  );
}

/** A diff of two revisions as a table of lines (removed, added, context), all text escaped. */
export function WikiDiff(props: {
  frame: FrameModel;
  name: string;
  from: { number: number; title: string };
  to: { number: number; title: string };
  hunks: Hunk[];
}) {
  const { frame, hunks } = props;
  const href = pageHref(frame.project, props.name);
  const rows: Child[] = [];
  for (const h of hunks) {
    rows.push(
      <tr class="hh">
        <td class="ln" />
        <td class="ln" />
        <td>{`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`}</td>
      </tr>,
    );
    for (const l of h.lines) {
      rows.push(
        <tr class={l.op === "+" ? "add" : l.op === "-" ? "del" : undefined}>
          <td class="ln">{l.oldNo || ""}</td>
          <td class="ln">{l.newNo || ""}</td>
          <td>
            {l.op}
            {l.text}
          </td>
        </tr>,
      );
    }
  }
  return (
    <WikiFrame {...frame}>
      <h1>
        {props.name}: revision {props.from.number} → {props.to.number}
      </h1>
      <p>
        <a href={`${href}/revisions/${props.from.number}`}>Revision {props.from.number}</a> ·{" "}
        <a href={`${href}/revisions/${props.to.number}`}>Revision {props.to.number}</a> · <a href={`${href}/history`}>History</a>
      </p>
      {props.from.title !== props.to.title && (
        <p>
          Title: <del>{props.from.title}</del> → <ins>{props.to.title}</ins>
        </p>
      )}
      {hunks.length === 0 ? (
        <p class="muted">The text of the two revisions is the same.</p>
      ) : (
        <div class="scroll">
          <table class="diff">
            <tbody>{rows}</tbody>
          </table>
        </div>
      )}
    </WikiFrame>
  );
}
