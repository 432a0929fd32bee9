// Pieces of the issue forms: attachments (listed and to upload), the status select and the fields
// only triagers see, with what a refused form keeps of what was typed.
import { RELATION_KINDS, RELATION_LABELS, type IssueAttachment } from "../../../services/issues";
import { splitLabels, type TrackerConfig } from "../../../services/issues/config";
import { ATTACHMENTS_PER_POST, ATTACHMENT_FIELD, formatBytes } from "../../../services/issues/attachments";
import { Field } from "../../../views/forms";
import { LabelFields, issuesBase } from "../../../views/issues";
import type { Ctx } from "./tracker";

export function Attachments(props: { project: string; items: IssueAttachment[] }) {
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

export function AttachmentField(props: { c: Ctx }) {
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

export function StatusSelect(props: { config: TrackerConfig; value: string }) {
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
export function TriageFields(props: {
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
export function draftLabels(draft: Record<string, string> | undefined, current: string[]): string[] {
  if (!draft) return current;
  return [
    ...Object.keys(draft)
      .filter((k) => k.startsWith("label_"))
      .map((k) => draft[k]!)
      .filter(Boolean),
    ...splitLabels(draft.labels ?? ""),
  ];
}
