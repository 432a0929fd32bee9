// Views of the downloads area: the file list, a file's page, the upload and edit forms and the
// label configuration; all text escaped by hono's JSX, changelogs through views/markdown.ts.
import type { DownloadFile, LabelChoice } from "../services/downloads";
import { formatBytes } from "../services/issues/attachments";
import { Field, Notice, PostButton, SubmitRow, TextArea } from "./forms";
import { When } from "./issues";
import { markdownHtml } from "./markdown";
import { trustedHtml } from "./trusted-html";

export const downloadsBase = (project: string) => `/p/${encodeURIComponent(project)}/downloads`;
/** The file itself: its stable URL. */
export const fileHref = (project: string, name: string) => `${downloadsBase(project)}/${encodeURIComponent(name)}`;
/** The file's page. */
export const detailsHref = (project: string, name: string) => `${fileHref(project, name)}/details`;
export const labelHref = (project: string, label: string) => `${downloadsBase(project)}/?label=${encodeURIComponent(label)}`;

export type DownloadsTab = "files" | "new" | "admin" | "file";

export function DownloadsNav(props: { project: string; current: DownloadsTab; canWrite: boolean; canConfigure: boolean }) {
  const base = downloadsBase(props.project);
  const tab = (id: DownloadsTab, label: string, href: string) => (
    <a href={href} aria-current={props.current === id ? "page" : undefined}>
      {label}
    </a>
  );
  return (
    <nav class="tabs" aria-label="Downloads">
      {tab("files", "Files", `${base}/`)}
      {props.canWrite && tab("new", "Upload a file", `${base}/new`)}
      {props.canConfigure && tab("admin", "Labels", `${base}/admin`)}
    </nav>
  );
}

/** A label as a link to the files carrying it; the class is shown muted. */
export function DownloadLabel(props: { project: string; name: string }) {
  const colon = props.name.indexOf(":");
  return (
    <a class="lbl" href={labelHref(props.project, props.name)}>
      {colon < 0 ? (
        props.name
      ) : (
        <>
          <span>{props.name.slice(0, colon)}:</span>
          {props.name.slice(colon + 1)}
        </>
      )}
    </a>
  );
}

export function DownloadTable(props: { project: string; files: DownloadFile[] }) {
  return (
    <table class="list downloads">
      <thead>
        <tr>
          <th scope="col">File</th>
          <th scope="col">Summary</th>
          <th scope="col" class="opt">
            Size
          </th>
          <th scope="col" class="opt">
            Uploaded
          </th>
          <th scope="col" class="opt">
            Downloads
          </th>
        </tr>
      </thead>
      <tbody>
        {props.files.map((f) => (
          <tr class={f.labels.some((l) => l.toLowerCase() === "deprecated") ? "muted" : undefined}>
            <td>
              <a href={detailsHref(props.project, f.name)}>{f.name}</a>
            </td>
            <td>
              {f.summary}{" "}
              {f.labels.map((l) => (
                <DownloadLabel project={props.project} name={l} />
              ))}
            </td>
            <td class="opt">{formatBytes(f.size)}</td>
            <td class="opt">
              <When at={f.createdAt} dateOnly />
            </td>
            <td class="opt">{f.downloadCount}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Filter links: every configured label, the current one marked. */
export function LabelFilter(props: { project: string; choices: LabelChoice[]; current?: string }) {
  return (
    <p class="muted">
      Labels:{" "}
      {props.choices.map((l, i) => (
        <>
          {i > 0 && " · "}
          <a
            href={labelHref(props.project, l.name)}
            title={l.description}
            aria-current={props.current?.toLowerCase() === l.name.toLowerCase() ? "true" : undefined}
          >
            {l.name}
          </a>
        </>
      ))}
      {props.current && (
        <>
          {" "}
          (<a href={`${downloadsBase(props.project)}/`}>all files</a>)
        </>
      )}
    </p>
  );
}

export function FileDetails(props: { project: string; file: DownloadFile; canWrite: boolean }) {
  const { file, project } = props;
  return (
    <>
      <h1>{file.name}</h1>
      {file.summary && <p>{file.summary}</p>}
      <p>
        <a class="button" href={fileHref(project, file.name)} download={file.name}>
          Download {file.name}
        </a>{" "}
        <span class="muted">{formatBytes(file.size)}</span>
      </p>
      <dl class="meta">
        <div>
          <dt>Size</dt>
          <dd>
            {formatBytes(file.size)} ({file.size.toLocaleString("en")} bytes)
          </dd>
        </div>
        <div>
          <dt>SHA-256</dt>
          <dd class="mono sha256">{file.sha256}</dd>
        </div>
        <div>
          <dt>Uploaded</dt>
          <dd>
            <When at={file.createdAt} /> by{" "}
            {file.uploader ? <a href={`/u/${encodeURIComponent(file.uploader)}`}>{file.uploader}</a> : "a former user"}
          </dd>
        </div>
        <div>
          <dt>Downloads</dt>
          <dd class="count">{file.downloadCount}</dd>
        </div>
        {file.labels.length > 0 && (
          <div>
            <dt>Labels</dt>
            <dd>
              {file.labels.map((l) => (
                <DownloadLabel project={project} name={l} />
              ))}
            </dd>
          </div>
        )}
      </dl>
      {file.changelog.trim() && (
        <section>
          <h2>Changes</h2>
          <div class="md">{trustedHtml(markdownHtml(file.changelog, { project }))}</div>
        </section>
      )}
      {props.canWrite && (
        <p class="actions">
          <a href={`${fileHref(project, file.name)}/edit`}>Edit summary, changelog and labels</a>{" "}
          <PostButton action={`${fileHref(project, file.name)}/delete`} label={`Delete ${file.name}`} danger />
        </p>
      )}
    </>
  );
}

/** The predefined labels as checkboxes (field `l.<label>`), the others in a text field. */
export function LabelChecks(props: { choices: LabelChoice[]; labels: string[] }) {
  const chosen = new Set(props.labels.map((l) => l.toLowerCase()));
  const known = new Set(props.choices.map((l) => l.name.toLowerCase()));
  return (
    <>
      <fieldset>
        <legend>Labels</legend>
        {props.choices.map((l) => (
          <label class="check">
            <input type="checkbox" name={`l.${l.name}`} value={l.name} checked={chosen.has(l.name.toLowerCase())} />
            <span>
              {l.name} {l.description && <span class="muted">{l.description}</span>}
            </span>
          </label>
        ))}
      </fieldset>
      <div class="field">
        <label for="f-labels">Other labels</label>
        <input
          id="f-labels"
          name="labels"
          value={props.labels.filter((l) => !known.has(l.toLowerCase())).join(" ")}
          maxlength={1000}
        />
        <span class="hint">Separated by spaces, as Name or Class:Name.</span>
      </div>
    </>
  );
}

export interface UploadDraft {
  name?: string;
  summary?: string;
  changelog?: string;
  labels: string[];
}

export function UploadForm(props: {
  action: string;
  choices: LabelChoice[];
  draft: UploadDraft;
  maxBytes: number;
  error?: string;
}) {
  const d = props.draft;
  return (
    <>
      <h1>Upload a file</h1>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      {/* The text fields come before the file, so the server reads them (and checks the name) before any byte of it. */}
      <form method="post" action={props.action} enctype="multipart/form-data" class="stack wide">
        <Field
          label="File name"
          name="name"
          value={d.name ?? ""}
          maxlength={200}
          hint="Its address: leave empty to keep the name of the file you choose. No slashes; unique in this project."
        />
        <Field label="Summary" name="summary" value={d.summary ?? ""} maxlength={300} hint="One line: what this file is." />
        <LabelChecks choices={props.choices} labels={d.labels} />
        <TextArea label="Changelog" name="changelog" value={d.changelog ?? ""} maxlength={65536} hint="Markdown: what changed." />
        <div class="field">
          <label for="f-file">File</label>
          <input id="f-file" type="file" name="file" required />
          <span class="hint">
            At most {formatBytes(props.maxBytes)}. Its SHA-256 is computed as it arrives and shown on its page.
          </span>
        </div>
        <SubmitRow label="Upload" />
      </form>
    </>
  );
}

export function EditForm(props: {
  project: string;
  file: DownloadFile;
  choices: LabelChoice[];
  draft: UploadDraft;
  error?: string;
}) {
  const d = props.draft;
  return (
    <>
      <h1>Edit {props.file.name}</h1>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action={`${fileHref(props.project, props.file.name)}/edit`} class="stack wide">
        <Field label="Summary" name="summary" value={d.summary ?? ""} maxlength={300} hint="One line: what this file is." />
        <LabelChecks choices={props.choices} labels={d.labels} />
        <TextArea label="Changelog" name="changelog" value={d.changelog ?? ""} maxlength={65536} hint="Markdown: what changed." />
        <SubmitRow label="Save" cancel={detailsHref(props.project, props.file.name)} />
      </form>
    </>
  );
}

export function LabelsConfigForm(props: { project: string; text: string; error?: string; ok?: boolean }) {
  return (
    <>
      <h1>Download labels</h1>
      {props.ok && <Notice kind="ok">Labels saved.</Notice>}
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action={`${downloadsBase(props.project)}/admin`} class="stack wide">
        <TextArea
          label="Predefined labels"
          name="labels"
          value={props.text}
          maxlength={20000}
          hint="One a line: Name = description, or Class:Name = description (Type:Archive, OpSys:Linux). Featured files are listed on the project's home page."
        />
        <SubmitRow label="Save" />
      </form>
    </>
  );
}

/** What an empty downloads area shows: how to upload the first file, on the page and with the API. */
export function EmptyDownloads(props: { project: string; origin: string; canWrite: boolean; label?: string }) {
  if (props.label) return <p class="muted">No file carries the label {props.label}.</p>;
  const api = `${props.origin}/api/v1/projects/${encodeURIComponent(props.project)}/downloads?name=app-1.0.tar.gz`;
  return (
    <div class="empty">
      <p>No files yet.</p>
      {props.canWrite && (
        <>
          <p>
            <a href={`${downloadsBase(props.project)}/new`}>Upload the first file</a>, or send one with the API:
          </p>
          <pre class="mono">{`curl -H "Authorization: token $TOKEN" --data-binary @app-1.0.tar.gz "${api}"`}</pre>
        </>
      )}
    </div>
  );
}
