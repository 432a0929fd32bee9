// The tracker's list pages: open and closed issues with filters and sorting, the summary, overdue
// issues and "my issues"; and every tracker page mounted under /p/<project>/issues.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component, prefetched, requireTracker } from "../../middleware/guards";
import { issueListFrom, issueListQueries, isSort, SORTS, type IssueQuery, type IssueSort } from "../../../services/issues/lists";
import { configFrom, configQuery, requireStatus, type TrackerConfig } from "../../../services/issues/config";
import type { Project } from "../../../services/projects";
import { ForgeError } from "../../../utils/errors";
import { EmptyTracker, IssueTable, Pager, issuesBase, type TrackerTab } from "../../../views/issues";
import type { Ctx, Tracker } from "./tracker";
import { TrackerPage } from "./frame";
import { issuePageRoutes } from "./issue-page";
import { issueAdminRoutes } from "./admin";
import { issueFeedRoutes } from "./feed";
import { watchlistRoutes } from "./watchlist";

import { PAGE_SIZE, pageOf } from "./tracker";
import { summaryRoutes } from "./summary";
import { newIssueRoutes } from "./new-issue";
import { searchRoutes } from "./search";

export const issueRoutes = new Hono<AppEnv>();

const SORT_LABELS: Record<IssueSort, string> = {
  updated: "last updated",
  created: "filed",
  number: "number",
  due: "due date",
  status: "status",
  summary: "summary",
  relevance: "relevance",
};

interface ListParams {
  query: IssueQuery;
  /** The list's own URL parameters, to build page and sort links. */
  params: Record<string, string | undefined>;
}

/**
 * The list's query from the URL. Without the configuration (a page reading it in the same batch)
 * a status filter is taken as typed (it matches case-insensitively either way); with it, an
 * unknown status is refused and a known one takes its configured spelling.
 */
function listParams(c: Ctx, config: TrackerConfig | null): ListParams {
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
  const statusName = status && config ? requireStatus(config, status).name : status;
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

/** The list's reads from the URL: configuration, page of issues and count in one batch (one round trip). */
function listData(c: Ctx, projectId: number, extra: IssueQuery) {
  const db = c.get("db");
  const page = pageOf(c);
  const q: IssueQuery = { ...listParams(c, null).query, ...extra, offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE };
  const [rows, count] = issueListQueries(db, projectId, q);
  return db.batch([configQuery(db, projectId), rows, count]);
}

/** A list page whose reads go beside the session check (guards.ts Prefetch): `extra` may not depend on the viewer. */
const prefetchList = (extra: IssueQuery) => (c: Ctx, project: Project) => listData(c, project.id, extra);
type ListData = Awaited<ReturnType<typeof listData>>;

async function listPage(
  c: Ctx,
  t: Tracker,
  tab: TrackerTab,
  title: string | null,
  extra: IssueQuery = {},
  baseParams: Record<string, string | undefined> = {},
) {
  const [configRows, rows, count] = await (c.get("prefetched") ? prefetched<ListData>(c) : listData(c, t.project.id, extra));
  const config = configFrom(configRows);
  // Now with the configuration: refuses an unknown status, spells a known one as configured.
  const { query, params } = listParams(c, config);
  const page = pageOf(c);
  const q: IssueQuery = { ...query, ...extra, offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE };
  const { items, total } = issueListFrom([rows, count]);
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
    <TrackerPage
      c={c}
      t={t}
      title={heading}
      tab={tab}
      feeds={[{ title: `${name} issues`, href: `/p/${encodeURIComponent(name)}/feed/issues.atom` }]}
    >
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

issueRoutes.get("/p/:project/issues/", component("web.issues.list"), requireTracker("read", prefetchList({})), (c) =>
  listPage(c, c.get("tracker"), c.req.query("state") === "closed" ? "closed" : "open", null),
);

const OVERDUE: IssueQuery = { overdue: true, sort: "due", order: "asc" };
issueRoutes.get("/p/:project/issues/overdue", component("web.issues.list"), requireTracker("read", prefetchList(OVERDUE)), (c) =>
  listPage(c, c.get("tracker"), "overdue", "Overdue issues", OVERDUE),
);

issueRoutes.get("/p/:project/issues/my", component("web.issues.list"), requireTracker("read"), async (c) => {
  const t = c.get("tracker");
  if (!t.user) return c.redirect(`/account/login?next=${encodeURIComponent(c.req.path)}`, 303);
  const which = c.req.query("which") ?? "owner";
  const me = t.user.username;
  const extra: IssueQuery =
    which === "submitted" ? { submitter: me } : which === "watched" ? { starredBy: t.user.id } : { owner: me };
  const title = which === "submitted" ? "Issues I filed" : which === "watched" ? "Issues I watch" : "Issues I own";
  return listPage(c, t, "my", title, extra);
});

issueRoutes.route("/", summaryRoutes);
issueRoutes.route("/", searchRoutes);
issueRoutes.route("/", issueAdminRoutes);
issueRoutes.route("/", issuePageRoutes);
issueRoutes.route("/", newIssueRoutes);
issueRoutes.route("/", issueFeedRoutes);
issueRoutes.route("/", watchlistRoutes);
