// Building blocks of the tracker pages: the tracker's tabs and search box, labels, statuses,
// the issue table, what a comment changed, pagination, and the empty tracker that teaches.
import type { Child } from "hono/jsx";
import { markdownHtml } from "./markdown";
import { trustedHtml } from "./trusted-html";
import type { IssueChanges } from "../services/issues";
import type { IssueRow } from "../services/issues/lists";
import { SNIPPET_END, SNIPPET_START, today } from "../services/issues/lists";
import { labelGroups, type TrackerConfig } from "../services/issues/config";

export const issuesBase = (project: string) => `/p/${encodeURIComponent(project)}/issues`;
export const issueHref = (project: string, n: number) => `${issuesBase(project)}/${n}`;
export const listHref = (project: string, params: Record<string, string | number | undefined>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return `${issuesBase(project)}/${s ? `?${s}` : ""}`;
};

export type TrackerTab = "open" | "closed" | "summary" | "overdue" | "my" | "search" | "new" | "admin" | "issue";

/** The tracker's tabs and its search box (a GET form). */
export function TrackerNav(props: {
  project: string;
  current: TrackerTab;
  signedIn: boolean;
  canWrite: boolean;
  configure: boolean;
  q?: string;
}) {
  const base = issuesBase(props.project);
  const tab = (id: TrackerTab, label: string, href: string) => (
    <a href={href} aria-current={props.current === id ? "page" : undefined}>
      {label}
    </a>
  );
  return (
    <nav class="tracker" aria-label="Issues">
      {tab("open", "Open", `${base}/`)}
      {tab("closed", "Closed", `${base}/?state=closed`)}
      {tab("summary", "Summary", `${base}/summary`)}
      {tab("overdue", "Overdue", `${base}/overdue`)}
      {props.signedIn && tab("my", "My issues", `${base}/my`)}
      {props.canWrite && tab("new", "New issue", `${base}/new`)}
      {props.configure && tab("admin", "Configure", `${base}/admin`)}
      {/* biome-ignore lint/a11y/useSemanticElements: the <search> element is too new to rely on; the role names the landmark */}
      <form method="get" action={`${base}/search`} role="search">
        <label for="issue-q" class="vh">
          Search issues
        </label>
        <input id="issue-q" name="q" type="search" value={props.q ?? ""} placeholder="Search issues" maxlength={500} />
        <button type="submit">Search</button>
      </form>
    </nav>
  );
}

/** A label as a link to the list of open issues carrying it; the class is shown muted. */
export function Label(props: { project: string; name: string }) {
  const colon = props.name.indexOf(":");
  return (
    <a class="lbl" href={listHref(props.project, { label: props.name })}>
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

export function Status(props: { status: string; state: string }) {
  return <span class={`st ${props.state === "closed" ? "closed" : "open"}`}>{props.status}</span>;
}

/** A timestamp as a readable UTC date and time, machine-readable in datetime. */
export function When(props: { at: string; dateOnly?: boolean }) {
  const text = props.dateOnly ? props.at.slice(0, 10) : `${props.at.slice(0, 10)} ${props.at.slice(11, 16)}`;
  return <time datetime={props.at}>{text}</time>;
}

export function Due(props: { date: string | null; state: string }) {
  if (!props.date) return null;
  const over = props.state === "open" && props.date < today();
  return (
    <span class={over ? "due over" : "due"} title={over ? "overdue" : "due date"}>
      {over ? "overdue " : "due "}
      <time datetime={props.date}>{props.date}</time>
    </span>
  );
}

/** A search snippet: text escaped, matched words marked. */
function Snippet(props: { text: string }) {
  const parts = props.text.split(new RegExp(`(${SNIPPET_START}[^${SNIPPET_END}]*${SNIPPET_END})`));
  return <p class="snippet muted">{parts.map((p) => (p.startsWith(SNIPPET_START) ? <mark>{p.slice(1, -1)}</mark> : p))}</p>;
}

export function IssueTable(props: { project: string; rows: IssueRow[] }) {
  return (
    <table class="list issues">
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Summary</th>
          <th scope="col">Status</th>
          <th scope="col" class="opt">
            Owner
          </th>
          <th scope="col" class="opt">
            Updated
          </th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((r) => (
          <tr>
            <td class="num">
              <a href={issueHref(props.project, r.number)}>{r.number}</a>
            </td>
            <td>
              <a href={issueHref(props.project, r.number)}>{r.summary}</a>{" "}
              {r.labels.map((l) => (
                <Label project={props.project} name={l} />
              ))}
              {r.commentCount > 0 && (
                <span class="muted small">
                  {" "}
                  · {r.commentCount} comment{r.commentCount === 1 ? "" : "s"}
                </span>
              )}{" "}
              <Due date={r.dueDate} state={r.state} />
              {r.snippet && <Snippet text={r.snippet} />}
            </td>
            <td>
              <a href={listHref(props.project, { status: r.status, state: r.state })}>
                <Status status={r.status} state={r.state} />
              </a>
            </td>
            <td class="opt">
              {r.owner ? <a href={listHref(props.project, { owner: r.owner })}>{r.owner}</a> : <span class="muted">—</span>}
            </td>
            <td class="opt nowrap">
              <When at={r.updatedAt} dateOnly />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Previous / next links and where we are. */
export function Pager(props: { page: number; limit: number; total: number; href: (page: number) => string }) {
  const last = Math.max(1, Math.ceil(props.total / props.limit));
  if (last <= 1) return null;
  return (
    <nav class="iss-pager" aria-label="Pages">
      {props.page > 1 ? (
        <a href={props.href(props.page - 1)} rel="prev">
          ‹ Newer
        </a>
      ) : (
        <span class="muted">‹ Newer</span>
      )}
      <span class="muted">
        Page {props.page} of {last}
      </span>
      {props.page < last ? (
        <a href={props.href(props.page + 1)} rel="next">
          Older ›
        </a>
      ) : (
        <span class="muted">Older ›</span>
      )}
    </nav>
  );
}

/** What a comment changed, one line each. */
export function ChangeList(props: { project: string; changes: IssueChanges }) {
  const c = props.changes;
  const items: Child[] = [];
  const none = <em>none</em>;
  if (c.summary)
    items.push(
      <>
        Summary: {c.summary[0]} → {c.summary[1]}
      </>,
    );
  if (c.status)
    items.push(
      <>
        Status: {c.status[0]} → <strong>{c.status[1]}</strong>
      </>,
    );
  if (c.owner)
    items.push(
      <>
        Owner: {c.owner[0] ?? none} → {c.owner[1] ?? none}
      </>,
    );
  if (c.labels) {
    items.push(
      <>
        Labels:{" "}
        {c.labels.added.map((l) => (
          <>
            +<Label project={props.project} name={l} />
          </>
        ))}
        {c.labels.removed.map((l) => (
          <del>−{l} </del>
        ))}
      </>,
    );
  }
  if (c.due)
    items.push(
      <>
        Due date: {c.due[0] ?? none} → {c.due[1] ?? none}
      </>,
    );
  if (c.relations) {
    for (const r of c.relations.added) items.push(<>Relation added: {r}</>);
    for (const r of c.relations.removed)
      items.push(
        <>
          Relation removed: <del>{r}</del>
        </>,
      );
  }
  if (c.description) items.push(<>Description edited</>);
  if (c.attachments?.length) items.push(<>Attached: {c.attachments.join(", ")}</>);
  if (!items.length) return null;
  return (
    <ul class="changes">
      {items.map((i) => (
        <li>{i}</li>
      ))}
    </ul>
  );
}

/** Issue text: Markdown with links to this project's issues, commits and files. */
export function IssueMarkdown(props: { source: string; project: string }) {
  return <div class="md">{trustedHtml(markdownHtml(props.source, { project: props.project }))}</div>;
}

/** Label fields of the forms: one select per one-value class, a text field for the rest. */
export function LabelFields(props: { config: TrackerConfig; labels: string[] }) {
  const groups = labelGroups(props.config).filter((g) => g.oneValue && g.cls);
  const taken = new Set<string>();
  const selects = groups.map((g) => {
    const chosen = props.labels.find((l) => g.labels.some((x) => x.name.toLowerCase() === l.toLowerCase()));
    if (chosen) taken.add(chosen.toLowerCase());
    const id = `f-label-${g.cls.toLowerCase()}`;
    return (
      <div class="field">
        <label for={id}>{g.cls}</label>
        <select id={id} name={`label_${g.cls.toLowerCase()}`}>
          <option value="">—</option>
          {g.labels.map((l) => (
            <option value={l.name} selected={chosen?.toLowerCase() === l.name.toLowerCase()} title={l.description}>
              {l.name.slice(g.cls.length + 1)}
            </option>
          ))}
        </select>
      </div>
    );
  });
  const others = props.labels.filter((l) => !taken.has(l.toLowerCase()));
  const suggestions = props.config.labels
    .filter((l) => !groups.some((g) => l.name.toLowerCase().startsWith(`${g.cls.toLowerCase()}:`)))
    .slice(0, 12)
    .map((l) => l.name);
  return (
    <>
      <div class="iss-row">{selects}</div>
      <div class="field">
        <label for="f-labels">Other labels</label>
        <input id="f-labels" name="labels" value={others.join(" ")} maxlength={1000} />
        <span class="hint">
          Separated by spaces, as Name or Class:Name{suggestions.length ? `, e.g. ${suggestions.join(", ")}` : ""}.
        </span>
      </div>
    </>
  );
}

/** What an empty tracker shows: how to file the first issue, on the page and through the API. */
export function EmptyTracker(props: { project: string; origin: string; canWrite: boolean; signedIn: boolean }) {
  const base = issuesBase(props.project);
  return (
    <div class="notice">
      <p>
        <strong>No issues yet.</strong>{" "}
        {props.canWrite ? (
          <>
            <a href={`${base}/new`}>File the first issue</a>: one line of summary saying what is wrong or wanted, then what you
            did, what you expected and what happened instead.
          </>
        ) : props.signedIn ? (
          "Issues filed here will be listed on this page."
        ) : (
          <>
            <a href={`/account/login?next=${encodeURIComponent(`${base}/new`)}`}>Sign in</a> to file the first one.
          </>
        )}
      </p>
      <p class="muted">Or with the API and a token from your account's API tokens page:</p>
      <pre>
        {[
          `curl -H "Authorization: token $TOKEN" -H "Content-Type: application/json" \\`,
          `  -d '{"title": "Crash when saving", "body": "Steps to reproduce: ..."}' \\`,
          `  ${props.origin}/api/v1/projects/${props.project}/issues`,
        ].join("\n")}
      </pre>
      <p class="muted">
        Commits pushed with <code>Fixes #1</code> in their message close issue 1; <code>Refs #1</code> adds a comment to it.
      </p>
    </div>
  );
}
