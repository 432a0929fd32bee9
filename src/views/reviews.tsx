// Review pages: the list with its status filter, the form that opens a review, and the parts of
// a review's page (header, revisions, verdicts, conversation, actions). Routes in
// routes/web/reviews/; the diff with line comments is views/reviews-diff.ts.
import type { Child } from "hono/jsx";
import type { CommentView, ReviewSummary, Revision, VerdictView } from "../services/reviews/model";
import { TITLE_MAX } from "../services/reviews/model";
import { Field, Markdown, SubmitRow, TextArea } from "./forms";

export const reviewsBase = (project: string) => `/p/${encodeURIComponent(project)}/reviews`;

export function StatusBadge(props: { status: string }) {
  return <span class={`badge review-${props.status}`}>{props.status}</span>;
}

export function ReviewFilter(props: { project: string; status: string; statuses: readonly string[] }) {
  return (
    <nav class="filters" aria-label="Review status">
      {["open", ...props.statuses.filter((s) => s !== "open"), "all"].map((s, i) => (
        <>
          {i > 0 && " · "}
          <a href={`${reviewsBase(props.project)}/?status=${s}`} aria-current={props.status === s ? "page" : undefined}>
            {s}
          </a>
        </>
      ))}
    </nav>
  );
}

export function ReviewTable(props: { project: string; rows: ReviewSummary[] }) {
  return (
    <table class="list reviews">
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Title</th>
          <th scope="col">Branches</th>
          <th scope="col">Status</th>
          <th scope="col" class="opt">
            Author
          </th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((r) => (
          <tr>
            <td>{r.number}</td>
            <td>
              <a href={`${reviewsBase(props.project)}/${r.number}`}>{r.title}</a>
            </td>
            <td class="mono">
              {r.kind === "patches" ? "patches" : r.sourceBranch} → {r.targetBranch}
            </td>
            <td>
              <StatusBadge status={r.status} />
            </td>
            <td class="opt">{r.author ?? "someone"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function BranchSelect(props: { label: string; name: string; branches: string[]; selected: string }) {
  const id = `f-${props.name}`;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name}>
        {props.branches.map((b) => (
          <option value={b} selected={b === props.selected}>
            {b}
          </option>
        ))}
      </select>
    </div>
  );
}

/**
 * Opening a review of a patch series: a file or pasted text, the branch it is for, its base. Its
 * fields' names differ from the branch form's beside it (ids stay unique on the page).
 */
export function PatchSeriesForm(props: {
  action: string;
  branches: string[];
  target: string;
  draft: Record<string, string>;
  maxBytes: number;
}) {
  const d = props.draft;
  return (
    <form method="post" action={props.action} enctype="multipart/form-data" class="stack wide">
      <p class="muted">
        No push access needed: send the output of <code>git format-patch</code> (one or many patches, at most{" "}
        {props.maxBytes / 1024 / 1024} MiB). Each patch becomes a commit, as <code>git am</code> makes it.
      </p>
      <div class="field">
        <label for="f-series">Patch file (.patch or .mbox)</label>
        <input id="f-series" type="file" name="series" accept=".patch,.mbox,.diff,.txt,text/plain" />
      </div>
      <TextArea label="Or paste the patches" name="series_text" value={d.series_text ?? ""} />
      <BranchSelect label="For the branch (target)" name="patch_target" branches={props.branches} selected={props.target} />
      <Field
        label="Base"
        name="patch_base"
        value={d.patch_base ?? ""}
        maxlength={250}
        hint="The commit, tag or branch the patches were made on; empty: the target branch's tip."
      />
      <Field
        label="Title"
        name="patch_title"
        value={d.patch_title ?? ""}
        maxlength={TITLE_MAX}
        hint="Empty: the first patch's subject."
      />
      <TextArea
        label="Description"
        name="patch_description"
        value={d.patch_description ?? ""}
        maxlength={65536}
        hint="Markdown. Empty: the cover letter, if the series has one."
      />
      <SubmitRow label="Open review of the patches" />
    </form>
  );
}

/** A new version of a patch review's series (its author, or those who may push). */
export function PatchVersionForm(props: { action: string }) {
  return (
    <form method="post" action={props.action} enctype="multipart/form-data" class="stack wide">
      <div class="field">
        <label for="f-series">Patch file (.patch or .mbox)</label>
        <input id="f-series" type="file" name="series" accept=".patch,.mbox,.diff,.txt,text/plain" />
      </div>
      <TextArea label="Or paste the patches" name="series_text" />
      <Field label="Base" name="base" maxlength={250} hint="What the new version was made on; empty: the target branch's tip." />
      <SubmitRow label="Upload the new version" plain />
    </form>
  );
}

export function Revisions(props: { base: string; revisions: Revision[]; shown: number; compare?: number }) {
  const last = props.revisions[props.revisions.length - 1]?.number ?? 1;
  return (
    <section class="revisions" aria-label="Revisions">
      <p>
        Revisions:{" "}
        {props.revisions.map((r, i) => (
          <>
            {i > 0 && " · "}
            <a
              href={`${props.base}?rev=${r.number}`}
              aria-current={!props.compare && r.number === props.shown ? "page" : undefined}
              title={`head ${r.headOid.slice(0, 7)}`}
            >
              {r.number}
            </a>
          </>
        ))}
      </p>
      {props.revisions.length > 1 && (
        <form method="get" action={props.base} class="filters">
          <label>
            Compare revision{" "}
            <select name="compare">
              {props.revisions.map((r) => (
                <option value={String(r.number)} selected={r.number === (props.compare ?? 1)}>
                  {r.number}
                </option>
              ))}
            </select>
          </label>{" "}
          <label>
            with{" "}
            <select name="rev">
              {props.revisions.map((r) => (
                <option value={String(r.number)} selected={r.number === (props.compare ? props.shown : last)}>
                  {r.number}
                </option>
              ))}
            </select>
          </label>{" "}
          <button type="submit">Compare</button>
        </form>
      )}
    </section>
  );
}

export function Verdicts(props: { verdicts: VerdictView[] }) {
  if (!props.verdicts.length) return <p class="muted">No verdicts yet.</p>;
  return (
    <ul class="verdicts">
      {props.verdicts.map((v) => (
        <li>
          <strong>{v.user}</strong> {v.verdict === "approve" ? "approved" : "requested changes"}{" "}
          <span class="muted">(revision {v.revision})</span>
        </li>
      ))}
    </ul>
  );
}

export function Conversation(props: { comments: CommentView[]; render: (c: CommentView) => Child }) {
  if (!props.comments.length) return <p class="muted">No comments yet.</p>;
  return <div class="conversation">{props.comments.map((c) => props.render(c))}</div>;
}

export function Description(props: { source: string }) {
  return props.source.trim() ? <Markdown source={props.source} /> : <p class="muted">No description.</p>;
}
