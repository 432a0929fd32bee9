// The frame and lists of the wiki: its tabs and search box, labels, the table of contents, the
// index of pages (by label), search results and the phases form. Everything through hono's escaping.
import type { Child } from "hono/jsx";
import type { ProjectNav } from "../project-nav";
import { Layout, type Crumb } from "../layout";
import { Field, Notice, SubmitRow } from "../forms";
import type { TocEntry } from "../markdown";
import { SNIPPET_END, SNIPPET_START, type PageSummary, type WikiHit } from "../../services/wiki";

export const wikiBase = (project: string) => `/p/${encodeURIComponent(project)}/wiki`;
export const pageHref = (project: string, page: string) => `${wikiBase(project)}/${encodeURIComponent(page)}`;
export const searchHref = (project: string) => `/p/${encodeURIComponent(project)}/wiki-search`;

export type WikiTab = "index" | "page" | "new" | "search" | "settings";

export interface FrameModel {
  forgeName: string;
  project: string;
  title: string;
  tab: WikiTab;
  canWrite: boolean;
  canConfigure: boolean;
  q?: string;
  crumbs?: Crumb[];
  /** The project's tab bar (Wiki marked). */
  nav?: ProjectNav;
}

/** Every wiki page: crumbs (project › Wiki › ...), the wiki's tabs and its search box. */
export function WikiFrame(props: FrameModel & { children?: Child }) {
  const base = wikiBase(props.project);
  const tab = (id: WikiTab, label: string, href: string) => (
    <a href={href} aria-current={props.tab === id ? "page" : undefined}>
      {label}
    </a>
  );
  return (
    <Layout
      title={`${props.title} · ${props.project}`}
      forgeName={props.forgeName}
      project={props.nav}
      crumbs={[
        { label: props.project, href: `/p/${encodeURIComponent(props.project)}/` },
        { label: "Wiki", href: base },
        ...(props.crumbs ?? []),
      ]}
    >
      <nav class="tracker" aria-label="Wiki">
        {tab("index", "Pages", base)}
        {props.canWrite && tab("new", "New page", `${base}#new-page`)}
        {props.canConfigure && tab("settings", "Configure", `/p/${encodeURIComponent(props.project)}/wiki-settings`)}
        {/* biome-ignore lint/a11y/useSemanticElements: the <search> element is too new to rely on; the role names the landmark */}
        <form method="get" action={searchHref(props.project)} role="search">
          <label for="wiki-q" class="vh">
            Search the wiki
          </label>
          <input id="wiki-q" name="q" type="search" value={props.q ?? ""} placeholder="Search the wiki" maxlength={500} />
          <button type="submit">Search</button>
        </form>
      </nav>
      {props.children}
    </Layout>
  );
}

/** A label as a link to the pages carrying it. */
export function WikiLabel(props: { project: string; name: string }) {
  return (
    <a class="lbl" href={`${wikiBase(props.project)}?label=${encodeURIComponent(props.name)}`}>
      {props.name}
    </a>
  );
}

export function Labels(props: { project: string; labels: string[] }) {
  if (!props.labels.length) return null;
  return (
    <span class="wiki-labels">
      {props.labels.map((l) => (
        <>
          <WikiLabel project={props.project} name={l} />{" "}
        </>
      ))}
    </span>
  );
}

/** The table of contents of a page (shown from three headings on). */
export function Toc(props: { toc: TocEntry[] }) {
  if (props.toc.length < 3) return null;
  const top = Math.min(...props.toc.map((t) => t.level));
  return (
    <nav class="wiki-toc" aria-label="Contents">
      <h2>Contents</h2>
      <ul>
        {props.toc.map((t) => (
          <li class={`toc-${Math.min(t.level - top, 4)}`}>
            <a href={`#${t.id}`}>{t.text}</a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export interface IndexModel {
  pages: PageSummary[];
  label?: string;
  allLabels: string[];
  error?: string;
  notice?: string;
  newName?: string;
}

/** The wiki's index: every page (or those with a label), the labels, and a form to start a page. */
export function WikiIndex(props: { frame: FrameModel; m: IndexModel }) {
  const { frame, m } = props;
  const project = frame.project;
  return (
    <WikiFrame {...frame}>
      <h1>{m.label ? `Wiki pages labelled ${m.label}` : "Wiki"}</h1>
      {m.error && <Notice kind="error">{m.error}</Notice>}
      {m.notice && <Notice kind="ok">{m.notice}</Notice>}
      <p class="muted">
        Labels:{" "}
        {m.allLabels.map((l, i) => (
          <>
            {i > 0 && " · "}
            <a href={`${wikiBase(project)}?label=${encodeURIComponent(l)}`} aria-current={m.label === l ? "true" : undefined}>
              {l}
            </a>
          </>
        ))}
        {m.label && (
          <>
            {" · "}
            <a href={wikiBase(project)}>all pages</a>
          </>
        )}
      </p>
      {m.pages.length === 0 ? (
        <p class="muted">{m.label ? "No page carries this label." : "This wiki has no pages yet."}</p>
      ) : (
        <ul class="wiki-index">
          {m.pages.map((p) => (
            <li>
              <a href={pageHref(project, p.name)}>{p.title}</a> <Labels project={project} labels={p.labels} />{" "}
              <span class="muted">
                revision {p.revision}, {p.updatedAt.slice(0, 10)}
              </span>
            </li>
          ))}
        </ul>
      )}
      {frame.canWrite && (
        <form method="get" action={wikiBase(project)} class="stack" id="new-page">
          <h2>New page</h2>
          <Field
            label="Page name"
            name="create"
            value={m.newName}
            required
            maxlength={100}
            hint="Letters, digits, - and _; spaces become -."
          />
          <SubmitRow label="Start writing" plain />
        </form>
      )}
    </WikiFrame>
  );
}

function Snippet(props: { text: string }) {
  const parts = props.text.split(new RegExp(`(${SNIPPET_START}[^${SNIPPET_END}]*${SNIPPET_END})`));
  return <p class="snippet muted">{parts.map((p) => (p.startsWith(SNIPPET_START) ? <mark>{p.slice(1, -1)}</mark> : p))}</p>;
}

/** Search results: each page's title and best passage, the matches marked. */
export function WikiSearch(props: { frame: FrameModel; q: string; hits: WikiHit[] | null }) {
  const { frame, hits } = props;
  return (
    <WikiFrame {...frame}>
      <h1>Search the wiki</h1>
      {hits === null ? (
        <p class="muted">Type words to find in the pages' titles and text; "quoted phrases" and prefix* work.</p>
      ) : hits.length === 0 ? (
        <p class="muted">No page matches {props.q}.</p>
      ) : (
        <ul class="wiki-hits">
          {hits.map((h) => (
            <li>
              <a href={pageHref(frame.project, h.name)}>{h.title}</a>
              <Snippet text={h.snippet} />
            </li>
          ))}
        </ul>
      )}
    </WikiFrame>
  );
}

/** The owners' form for the phases offered as Phase:* labels. */
export function WikiSettings(props: { frame: FrameModel; phases: string[]; error?: string; saved?: boolean }) {
  return (
    <WikiFrame {...props.frame}>
      <h1>Wiki settings</h1>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      {props.saved && <Notice kind="ok">Saved.</Notice>}
      <form method="post" action={`/p/${encodeURIComponent(props.frame.project)}/wiki-settings`} class="stack">
        <Field
          label="Phases"
          name="phases"
          value={props.phases.join(" ")}
          maxlength={600}
          hint="Separated by spaces; each is offered as a Phase:<name> label (a page has at most one). Featured and Deprecated are always there."
        />
        <SubmitRow label="Save" />
      </form>
    </WikiFrame>
  );
}
