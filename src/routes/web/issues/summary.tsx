// The tracker's summary page: issues by status, label and owner, at a glance.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component, requireTracker } from "../../middleware/guards";
import { trackerSummary } from "../../../services/issues/lists";
import { loadConfig } from "../../../services/issues/config";
import { Label, listHref, Status, issuesBase } from "../../../views/issues";
import { TrackerPage } from "./frame";

export const summaryRoutes = new Hono<AppEnv>();

summaryRoutes.get("/p/:project/issues/summary", component("web.issues.summary"), requireTracker("read"), async (c) => {
  const t = c.get("tracker");
  const [summary, config] = await Promise.all([trackerSummary(c.get("db"), t.project.id), loadConfig(c.get("db"), t.project.id)]);
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
        <a href={listHref(name, {})}>{openTotal} open</a> · <a href={listHref(name, { state: "closed" })}>{closedTotal} closed</a>
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
});
