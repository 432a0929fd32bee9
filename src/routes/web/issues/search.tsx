// The tracker's search page: full-text search with status:, label:, owner: and by: filters.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component, prefetched, requireTracker } from "../../middleware/guards";
import { listIssues, type IssueQuery } from "../../../services/issues/lists";
import { parseSearch } from "../../../services/issues/search";
import { loadConfig, requireStatus, type TrackerConfig } from "../../../services/issues/config";
import type { Project } from "../../../services/projects";
import { findIssue } from "../../../services/issues";
import { ForgeError } from "../../../utils/errors";
import { Notice } from "../../../views/forms";
import { IssueTable, Pager, issuesBase } from "../../../views/issues";
import { TrackerPage } from "./frame";
import { PAGE_SIZE, pageOf, type Ctx } from "./tracker";

export const searchRoutes = new Hono<AppEnv>();

/**
 * The search's query from the URL, or null when it asks for nothing; a ForgeError for bad input.
 * Without the configuration a status is taken as typed (it matches case-insensitively either
 * way); with it, an unknown one is refused.
 */
function searchQuery(c: Ctx, config: TrackerConfig | null): IssueQuery | null {
  const raw = (c.req.query("q") ?? "").trim();
  const stateParam = c.req.query("state") ?? "";
  const statusParam = c.req.query("status") ?? "";
  const labelParam = c.req.query("label") ?? "";
  const parsed = parseSearch(raw);
  const status = statusParam || parsed.status;
  const labels = [...parsed.labels, ...(labelParam ? [labelParam] : [])];
  if (stateParam && !["open", "closed", "all"].includes(stateParam))
    throw new ForgeError("bad_request", "state is open, closed or all.");
  const statusName = status && config ? requireStatus(config, status).name : status || undefined;
  if (!(parsed.match || statusName || labels.length || parsed.owner || parsed.submitter)) return null;
  const page = pageOf(c);
  return {
    match: parsed.match,
    withSnippet: true,
    state: (stateParam || parsed.state || "all") as IssueQuery["state"],
    status: statusName,
    labels,
    owner: parsed.owner,
    submitter: parsed.submitter,
    offset: (page - 1) * PAGE_SIZE,
    limit: PAGE_SIZE,
  };
}

/** Input errors become the page's message; anything else is thrown. */
function inputError(err: unknown): string {
  if (!(err instanceof ForgeError) || err.status >= 500) throw err;
  return err.message;
}

/**
 * The search's reads, in parallel beside the session check (one round trip): the issue a bare
 * number names, the configuration, and the results of the query as typed.
 */
async function searchData(c: Ctx, project: Project) {
  const db = c.get("db");
  const direct = /^#?(\d{1,9})$/.exec((c.req.query("q") ?? "").trim());
  let query: IssueQuery | null = null;
  try {
    query = searchQuery(c, null);
  } catch (err) {
    inputError(err);
  }
  const [issue, config, result] = await Promise.all([
    direct ? findIssue(db, project.id, Number(direct[1])) : undefined,
    loadConfig(db, project.id),
    query ? listIssues(db, project.id, query) : null,
  ]);
  return { issue, config, result };
}

searchRoutes.get("/p/:project/issues/search", component("web.issues.search"), requireTracker("read", searchData), async (c) => {
  const t = c.get("tracker");
  const name = t.project.name;
  const raw = (c.req.query("q") ?? "").trim();
  const data = await prefetched<Awaited<ReturnType<typeof searchData>>>(c);
  // "#12" or "12" goes straight to the issue when there is one.
  if (data.issue) return c.redirect(`${issuesBase(name)}/${data.issue.number}`, 303);
  const config = data.config;
  let error: string | null = null;
  let result: Awaited<ReturnType<typeof listIssues>> | null = null;
  const page = pageOf(c);
  const stateParam = c.req.query("state") ?? "";
  const statusParam = c.req.query("status") ?? "";
  const labelParam = c.req.query("label") ?? "";
  try {
    // Again with the configuration: an unknown status is refused (its results, none, not shown).
    if (searchQuery(c, config)) result = data.result;
  } catch (err) {
    error = inputError(err);
  }
  const href = (p: number) => {
    const u = new URL(c.req.url);
    u.searchParams.set("page", String(p));
    return `${u.pathname}?${u.searchParams.toString()}`;
  };
  const allStatuses = [...config.open, ...config.closed].map((s) => s.name);
  return c.html(
    <TrackerPage c={c} t={t} title={raw ? `Search: ${raw}` : "Search"} tab="search" q={raw}>
      <h1>Search issues</h1>
      <form method="get" action={`${issuesBase(name)}/search`} class="filters">
        <label>
          <span class="vh">Words</span>
          <input name="q" type="search" value={raw} maxlength={500} placeholder="words, &quot;a phrase&quot;, -not, prefix*" />
        </label>
        <label>
          <span class="vh">State</span>
          <select name="state">
            <option value="" selected={!stateParam}>
              open and closed
            </option>
            <option value="open" selected={stateParam === "open"}>
              open
            </option>
            <option value="closed" selected={stateParam === "closed"}>
              closed
            </option>
          </select>
        </label>
        <label>
          <span class="vh">Status</span>
          <select name="status">
            <option value="">any status</option>
            {allStatuses.map((s) => (
              <option value={s} selected={statusParam.toLowerCase() === s.toLowerCase()}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span class="vh">Label</span>
          <input name="label" value={labelParam} placeholder="label, e.g. Type:Defect" maxlength={50} />
        </label>
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      <p class="hint">
        All words must match (summary, description and comments; accents and case do not matter). Filters in the box work too:{" "}
        <code>status:Fixed</code> <code>label:Priority:High</code> <code>owner:alice</code> <code>by:bob</code>{" "}
        <code>is:open</code>.
      </p>
      {error && <Notice kind="error">{error}</Notice>}
      {result &&
        (result.total === 0 ? (
          <p class="muted">No issue matches.</p>
        ) : (
          <>
            <p class="muted">
              {result.total} issue{result.total === 1 ? "" : "s"} found.
            </p>
            <IssueTable project={name} rows={result.items} />
            <Pager page={page} limit={PAGE_SIZE} total={result.total} href={href} />
          </>
        ))}
    </TrackerPage>,
    error ? 400 : 200,
  );
});
