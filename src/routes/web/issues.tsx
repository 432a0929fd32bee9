// The tracker's list pages: open and closed issues with filters and sorting, the summary, overdue
// issues, "my issues" and search. The issue page, forms, feeds and settings are in issues-*.tsx.
import { Hono } from "hono";
import type { AppEnv } from "../../edge/context";
import { listIssues, isSort, SORTS, trackerSummary, type IssueQuery, type IssueSort } from "../../services/issue-lists";
import { parseSearch } from "../../services/issue-search";
import { loadConfig, requireStatus, type TrackerConfig } from "../../services/issue-config";
import { findIssue } from "../../services/issues";
import { ForgeError } from "../../utils/errors";
import { Notice } from "../../views/forms";
import { EmptyTracker, IssueTable, Label, listHref, Pager, Status, issuesBase, type TrackerTab } from "../../views/issues";
import { trackerRoute, type Ctx, type Tracker } from "./issues-helpers";
import { TrackerPage } from "./issues-frame";
import { issuePageRoutes } from "./issues-page";
import { issueAdminRoutes } from "./issues-admin";
import { issueFeedRoutes } from "./issues-feed";
import { watchlistRoutes } from "./issues-watchlist";

export const issueRoutes = new Hono<AppEnv>();

const PAGE_SIZE = 50;

const SORT_LABELS: Record<IssueSort, string> = {
  updated: "last updated",
  created: "filed",
  number: "number",
  due: "due date",
  status: "status",
  summary: "summary",
  relevance: "relevance",
};

const pageOf = (c: Ctx) => Math.max(1, Math.min(10_000, Number.parseInt(c.req.query("page") ?? "1", 10) || 1));

interface ListParams {
  query: IssueQuery;
  /** The list's own URL parameters, to build page and sort links. */
  params: Record<string, string | undefined>;
}

function listParams(c: Ctx, config: TrackerConfig): ListParams {
  const state = c.req.query("state");
  const sort = c.req.query("sort");
  const order = c.req.query("order");
  const status = c.req.query("status") || undefined;
  const labels = (c.req.queries("label") ?? []).filter(Boolean).slice(0, 5);
  const owner = c.req.query("owner") || undefined;
  const submitter = c.req.query("by") || undefined;
  if (state && !["open", "closed", "all"].includes(state)) throw new ForgeError("bad_request", "state is open, closed or all.");
  if (sort && (!isSort(sort) || sort === "relevance"))
    throw new ForgeError("bad_request", `sort is one of ${SORTS.filter((s) => s !== "relevance").join(", ")}.`);
  if (order && order !== "asc" && order !== "desc") throw new ForgeError("bad_request", "order is asc or desc.");
  const statusName = status ? requireStatus(config, status).name : undefined;
  return {
    query: {
      // A status names its own state: filtering by Fixed lists closed issues.
      state: (state as IssueQuery["state"]) ?? (statusName ? "all" : "open"),
      status: statusName,
      labels,
      owner,
      submitter,
      sort: sort as IssueSort | undefined,
      order: order as "asc" | "desc" | undefined,
    },
    params: { state, status: statusName, owner, by: submitter, sort, order, label: labels[0] },
  };
}

function describeList(q: IssueQuery, labels: string[]): string {
  const state = q.status ? "" : q.state === "closed" ? "Closed issues" : q.state === "all" ? "All issues" : "Open issues";
  const parts = [q.status ? `Issues with status ${q.status}` : state];
  if (labels.length) parts.push(`labelled ${labels.join(", ")}`);
  if (q.owner) parts.push(q.owner === "none" ? "owned by nobody" : `owned by ${q.owner}`);
  if (q.submitter) parts.push(`filed by ${q.submitter}`);
  return parts.join(" ");
}

/** Sort and state choices of a list (a GET form that keeps the other filters). */
function ListControls(props: { project: string; params: Record<string, string | undefined>; query: IssueQuery }) {
  const { params, query } = props;
  return (
    <form method="get" action={`${issuesBase(props.project)}/`} class="filters">
      {params.status && <input type="hidden" name="status" value={params.status} />}
      {params.label && <input type="hidden" name="label" value={params.label} />}
      {params.owner && <input type="hidden" name="owner" value={params.owner} />}
      {params.by && <input type="hidden" name="by" value={params.by} />}
      <label>
        <span class="vh">State</span>
        <select name="state">
          {(["open", "closed", "all"] as const).map((s) => (
            <option value={s} selected={query.state === s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span class="muted">sorted by </span>
        <select name="sort">
          {SORTS.filter((s) => s !== "relevance").map((s) => (
            <option value={s} selected={(query.sort ?? "updated") === s}>
              {SORT_LABELS[s]}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span class="vh">Order</span>
        <select name="order">
          <option value="desc" selected={query.order !== "asc"}>
            descending
          </option>
          <option value="asc" selected={query.order === "asc"}>
            ascending
          </option>
        </select>
      </label>
      <button type="submit">Show</button>
      {(params.status || params.label || params.owner || params.by) && (
        <a href={`${issuesBase(props.project)}/`}>clear filters</a>
      )}
    </form>
  );
}

async function listPage(
  c: Ctx,
  t: Tracker,
  tab: TrackerTab,
  title: string | null,
  extra: IssueQuery = {},
  baseParams: Record<string, string | undefined> = {},
) {
  const config = await loadConfig(c.get("db"), t.project.id);
  const { query, params } = listParams(c, config);
  const page = pageOf(c);
  const q: IssueQuery = { ...query, ...extra, offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE };
  const { items, total } = await listIssues(c.get("db"), t.project.id, q);
  const name = t.project.name;
  const heading = title ?? describeList(q, q.labels ?? []);
  const filtered = !!(
    q.status ||
    q.labels?.length ||
    q.owner ||
    q.submitter ||
    q.state !== "open" ||
    extra.overdue ||
    extra.starredBy
  );
  const href = (p: number) => {
    const u = new URL(c.req.url);
    u.searchParams.set("page", String(p));
    return `${u.pathname}?${u.searchParams.toString()}`;
  };
  return c.html(
    <TrackerPage c={c} t={t} title={heading} tab={tab}>
      <div class="iss-head">
        <h1>
          {heading} <span class="muted">({total})</span>
        </h1>
        <a class="feed" href={`/p/${encodeURIComponent(name)}/feed/issues.atom`}>
          Atom feed
        </a>
      </div>
      {tab === "my" && (
        <nav class="filters" aria-label="My issues">
          {(["owner", "submitted", "watched"] as const).map((w, i) => (
            <>
              {i > 0 && " · "}
              <a
                href={`${issuesBase(name)}/my?which=${w}`}
                aria-current={(c.req.query("which") ?? "owner") === w ? "page" : undefined}
              >
                {w === "owner" ? "owned by me" : w === "submitted" ? "filed by me" : "watched"}
              </a>
            </>
          ))}
          {" · "}
          <a href="/watchlist">my watch list across the forge</a>
        </nav>
      )}
      {(tab === "open" || tab === "closed") && (total > 0 || filtered) ? (
        <ListControls project={name} params={{ ...params, ...baseParams }} query={q} />
      ) : null}
      {total === 0 && !filtered && tab === "open" ? (
        <EmptyTracker project={name} origin={new URL(c.req.url).origin} canWrite={t.rights.write} signedIn={!!t.user} />
      ) : items.length === 0 ? (
        <p class="muted">No issues here.</p>
      ) : (
        <IssueTable project={name} rows={items} />
      )}
      <Pager page={page} limit={PAGE_SIZE} total={total} href={href} />
    </TrackerPage>,
  );
}

issueRoutes.get("/p/:project/issues", (c) => c.redirect(`/p/${encodeURIComponent(c.req.param("project"))}/issues/`, 301));

issueRoutes.get(
  "/p/:project/issues/",
  trackerRoute("web.issues.list", "read", (c, t) => listPage(c, t, c.req.query("state") === "closed" ? "closed" : "open", null)),
);

issueRoutes.get(
  "/p/:project/issues/overdue",
  trackerRoute("web.issues.list", "read", (c, t) =>
    listPage(c, t, "overdue", "Overdue issues", { overdue: true, sort: "due", order: "asc" }),
  ),
);

issueRoutes.get(
  "/p/:project/issues/my",
  trackerRoute("web.issues.list", "read", async (c, t) => {
    if (!t.user) return c.redirect(`/account/login?next=${encodeURIComponent(c.req.path)}`, 303);
    const which = c.req.query("which") ?? "owner";
    const me = t.user.username;
    const extra: IssueQuery =
      which === "submitted" ? { submitter: me } : which === "watched" ? { starredBy: t.user.id } : { owner: me };
    const title = which === "submitted" ? "Issues I filed" : which === "watched" ? "Issues I watch" : "Issues I own";
    return listPage(c, t, "my", title, extra);
  }),
);

issueRoutes.get(
  "/p/:project/issues/summary",
  trackerRoute("web.issues.summary", "read", async (c, t) => {
    const [summary, config] = await Promise.all([
      trackerSummary(c.get("db"), t.project.id),
      loadConfig(c.get("db"), t.project.id),
    ]);
    const name = t.project.name;
    const count = (status: string) =>
      summary.byStatus.filter((s) => s.status.toLowerCase() === status.toLowerCase()).reduce((n, s) => n + s.count, 0);
    const known = new Set([...config.open, ...config.closed].map((s) => s.name.toLowerCase()));
    const others = summary.byStatus.filter((s) => !known.has(s.status.toLowerCase()));
    const openTotal = summary.byStatus.filter((s) => s.state === "open").reduce((n, s) => n + s.count, 0);
    const closedTotal = summary.byStatus.filter((s) => s.state === "closed").reduce((n, s) => n + s.count, 0);
    const statusRows = (list: { name: string; description: string }[], state: string) =>
      list.map((s) => (
        <tr>
          <td>
            <a href={listHref(name, { status: s.name })}>
              <Status status={s.name} state={state} />
            </a>
          </td>
          <td class="opt muted">{s.description}</td>
          <td class="num">{count(s.name)}</td>
        </tr>
      ));
    return c.html(
      <TrackerPage c={c} t={t} title="Summary" tab="summary">
        <h1>Summary</h1>
        <p>
          <a href={listHref(name, {})}>{openTotal} open</a> ·{" "}
          <a href={listHref(name, { state: "closed" })}>{closedTotal} closed</a>
          {summary.overdue > 0 && (
            <>
              {" "}
              · <a href={`${issuesBase(name)}/overdue`}>{summary.overdue} overdue</a>
            </>
          )}
        </p>
        <div class="iss-summary">
          <section>
            <h2>By status</h2>
            <table class="list">
              <tbody>
                {statusRows(config.open, "open")}
                {statusRows(config.closed, "closed")}
                {others.map((s) => (
                  <tr>
                    <td>
                      <a href={listHref(name, { state: s.state })}>
                        <Status status={s.status} state={s.state} />
                      </a>
                    </td>
                    <td class="opt muted">no longer configured</td>
                    <td class="num">{s.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section>
            <h2>Open issues by label</h2>
            {summary.byLabel.length === 0 ? (
              <p class="muted">No open issue has a label.</p>
            ) : (
              <table class="list">
                <tbody>
                  {summary.byLabel.map((l) => (
                    <tr>
                      <td>
                        <Label project={name} name={l.name} />
                      </td>
                      <td class="num">{l.count}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section>
            <h2>Open issues by owner</h2>
            {summary.byOwner.length === 0 ? (
              <p class="muted">No open issues.</p>
            ) : (
              <table class="list">
                <tbody>
                  {summary.byOwner.map((o) => (
                    <tr>
                      <td>
                        {o.owner ? (
                          <a href={listHref(name, { owner: o.owner })}>{o.owner}</a>
                        ) : (
                          <a href={listHref(name, { owner: "none" })}>nobody</a>
                        )}
                      </td>
                      <td class="num">{o.count}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </div>
      </TrackerPage>,
    );
  }),
);

issueRoutes.get(
  "/p/:project/issues/search",
  trackerRoute("web.issues.search", "read", async (c, t) => {
    const name = t.project.name;
    const raw = (c.req.query("q") ?? "").trim();
    // "#12" or "12" goes straight to the issue when there is one.
    const direct = /^#?(\d{1,9})$/.exec(raw);
    if (direct && (await findIssue(c.get("db"), t.project.id, Number(direct[1])))) {
      return c.redirect(`${issuesBase(name)}/${Number(direct[1])}`, 303);
    }
    const config = await loadConfig(c.get("db"), t.project.id);
    let error: string | null = null;
    let result: Awaited<ReturnType<typeof listIssues>> | null = null;
    const page = pageOf(c);
    const stateParam = c.req.query("state") ?? "";
    const statusParam = c.req.query("status") ?? "";
    const labelParam = c.req.query("label") ?? "";
    try {
      const parsed = parseSearch(raw);
      const status = statusParam || parsed.status;
      const labels = [...parsed.labels, ...(labelParam ? [labelParam] : [])];
      if (stateParam && !["open", "closed", "all"].includes(stateParam))
        throw new ForgeError("bad_request", "state is open, closed or all.");
      const statusName = status ? requireStatus(config, status).name : undefined;
      if (parsed.match || statusName || labels.length || parsed.owner || parsed.submitter) {
        result = await listIssues(c.get("db"), t.project.id, {
          match: parsed.match,
          withSnippet: true,
          state: (stateParam || parsed.state || "all") as IssueQuery["state"],
          status: statusName,
          labels,
          owner: parsed.owner,
          submitter: parsed.submitter,
          offset: (page - 1) * PAGE_SIZE,
          limit: PAGE_SIZE,
        });
      }
    } catch (err) {
      if (!(err instanceof ForgeError) || err.status >= 500) throw err;
      error = err.message;
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
  }),
);

issueRoutes.route("/", issueAdminRoutes);
issueRoutes.route("/", issuePageRoutes);
issueRoutes.route("/", issueFeedRoutes);
issueRoutes.route("/", watchlistRoutes);
