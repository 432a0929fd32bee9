// The operations page of the platform host: sign-in form, figures per component as SVG charts,
// and the log lines behind a chart's slice or dragged range. Text goes through hono's escaping.
import type { Child } from "hono/jsx";
import { html } from "hono/html";
import { stylesheetPath } from "./style";
import { Notice } from "./forms";
import { LatencyChart, RateChart, type SlicePoint } from "./ops-charts";

import { opsScriptPath } from "./ops-script";

function OpsFrame(props: { title: string; signedIn: boolean; children?: Child }) {
  return (
    <>
      {html`<!DOCTYPE html>`}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${props.title} · Edgeforge operations`}</title>
          <link rel="stylesheet" href={stylesheetPath} />
          {props.signedIn && <script src={opsScriptPath} defer />}
        </head>
        <body>
          <header class="site">
            <div class="bar">
              <a class="brand" href="/admin/ops">
                Edgeforge operations
              </a>
              {props.signedIn && (
                <nav class="account" aria-label="Account">
                  <form method="post" action="/admin/logout" class="inline">
                    <button type="submit" class="link">
                      Sign out
                    </button>
                  </form>
                </nav>
              )}
            </div>
          </header>
          <main class="ops">{props.children}</main>
        </body>
      </html>
    </>
  );
}

export function OpsLoginPage(props: { next: string; error?: string }) {
  return (
    <OpsFrame title="Sign in" signedIn={false}>
      <h1>Sign in to operations</h1>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action="/admin/login" class="stack">
        <input type="hidden" name="next" value={props.next} />
        <div class="field">
          <label for="f-token">Admin token</label>
          <input id="f-token" name="token" type="password" required autocomplete="current-password" autofocus />
          <span class="hint">
            The platform's FORGE_ADMIN_TOKEN. It is checked once; the browser then keeps a signed cookie for 12 hours.
          </span>
        </div>
        <button type="submit">Sign in</button>
      </form>
    </OpsFrame>
  );
}

export interface RangeChoice {
  label: string;
  href: string;
  current: boolean;
}

export interface OpsComponentView {
  component: string;
  requests: number;
  perMinute: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  series: SlicePoint[];
  logsHref: string;
}

export interface OpsOverview {
  ranges: RangeChoice[];
  since: string;
  until: string;
  sliceLabel: string;
  truncated: boolean;
  error?: string;
  components: OpsComponentView[];
  /** The log lines of a component in a range. */
  logsHref: (component: string, since: number, until: number) => string;
  sinceMs: number;
  untilMs: number;
  sliceMs: number;
}

function RangePicker(props: { ranges: RangeChoice[]; since: string; until: string; action: string }) {
  return (
    <div class="ops-ranges">
      <nav aria-label="Range">
        {props.ranges.map((r) => (
          <a href={r.href} aria-current={r.current ? "page" : undefined}>
            {r.label}
          </a>
        ))}
      </nav>
      <form method="get" action={props.action} class="ops-custom">
        <label>
          From <input name="since" value={props.since} size={22} />
        </label>
        <label>
          to <input name="until" value={props.until} size={22} />
        </label>
        <button type="submit">Show</button>
      </form>
    </div>
  );
}

export function OpsOverviewPage(props: { view: OpsOverview }) {
  const v = props.view;
  return (
    <OpsFrame title="Requests" signedIn>
      <h1>Requests per component</h1>
      <RangePicker ranges={v.ranges} since={v.since} until={v.until} action="/admin/ops" />
      {v.error && <Notice kind="error">{v.error}</Notice>}
      <p class="muted">
        {v.since} to {v.until} (UTC), one bar per {v.sliceLabel}. Left: requests per minute, 5xx in red. Right: latency, p50
        darkest, then p95, p99 lightest. Click a bar, or drag across a chart, for its log lines.
      </p>
      {v.truncated && (
        <Notice kind="info">
          This range holds more logs than one page reads: the figures cover part of it. Choose a shorter range.
        </Notice>
      )}
      {v.components.length === 0 && !v.error && <p>No requests were logged in this range.</p>}
      {v.components.map((c) => (
        <section class="ops-component" data-component={c.component}>
          <h2>
            <a href={c.logsHref}>{c.component}</a>
          </h2>
          <dl class="ops-figures">
            <div>
              <dt>Requests</dt>
              <dd data-figure="requests">{c.requests}</dd>
            </div>
            <div>
              <dt>Per minute</dt>
              <dd>{c.perMinute}</dd>
            </div>
            <div>
              <dt>5xx</dt>
              <dd data-figure="errors" class={c.errors ? "ops-bad" : undefined}>
                {c.errors}
              </dd>
            </div>
            <div>
              <dt>p50</dt>
              <dd>{c.p50} ms</dd>
            </div>
            <div>
              <dt>p95</dt>
              <dd>{c.p95} ms</dd>
            </div>
            <div>
              <dt>p99</dt>
              <dd data-figure="p99">{c.p99} ms</dd>
            </div>
          </dl>
          <div class="ops-charts">
            {[RateChart, LatencyChart].map((Chart) => (
              <Chart
                model={{
                  component: c.component,
                  since: v.sinceMs,
                  until: v.untilMs,
                  sliceMs: v.sliceMs,
                  series: c.series,
                  logsHref: (since, until) => v.logsHref(c.component, since, until),
                }}
              />
            ))}
          </div>
        </section>
      ))}
    </OpsFrame>
  );
}

export interface OpsLogLine {
  t: string;
  id: string;
  tenant: string;
  method: string;
  host: string;
  path: string;
  status: number;
  ms: number;
  firstMs: number;
  bytes: number;
  aborted: boolean;
  /** "d1 2× 3.1 ms", "pack 12.0 ms"... */
  timings: string[];
}

export interface OpsLogsView {
  component: string;
  tenant: string;
  status: string;
  since: string;
  until: string;
  total: number;
  truncated: boolean;
  error?: string;
  lines: OpsLogLine[];
  backHref: string;
}

export function OpsLogsPage(props: { view: OpsLogsView }) {
  const v = props.view;
  return (
    <OpsFrame title={`Logs of ${v.component || "all components"}`} signedIn>
      <p>
        <a href={v.backHref}>← Charts</a>
      </p>
      <h1>Log lines of {v.component || "all components"}</h1>
      <form method="get" action="/admin/ops/logs" class="ops-filter">
        <label>
          Component <input name="component" value={v.component} size={22} />
        </label>
        <label>
          Tenant <input name="tenant" value={v.tenant} size={14} placeholder="tenant id" />
        </label>
        <label>
          Status <input name="status" value={v.status} size={5} placeholder="5xx" />
        </label>
        <label>
          From <input name="since" value={v.since} size={22} />
        </label>
        <label>
          to <input name="until" value={v.until} size={22} />
        </label>
        <button type="submit">Filter</button>
      </form>
      {v.error && <Notice kind="error">{v.error}</Notice>}
      <p class="muted" data-total={v.total}>
        {v.total === v.lines.length ? `${v.total} lines` : `The newest ${v.lines.length} of ${v.total} lines`}, newest first
        (UTC).
        {v.truncated && " The range holds more logs than one page reads: narrow it."}
      </p>
      <table class="list ops-logs">
        <thead>
          <tr>
            <th>Time</th>
            <th>Request id</th>
            <th>Tenant</th>
            <th>Status</th>
            <th>ms</th>
            <th>First byte</th>
            <th>Request</th>
            <th>Sub-timings</th>
          </tr>
        </thead>
        <tbody>
          {v.lines.map((l) => (
            <tr data-request-id={l.id}>
              <td>{l.t}</td>
              <td>
                <code>{l.id}</code>
              </td>
              <td>{l.tenant}</td>
              <td class={l.status >= 500 ? "ops-bad" : undefined}>
                {l.status}
                {l.aborted ? " (aborted)" : ""}
              </td>
              <td>{l.ms}</td>
              <td>{l.firstMs}</td>
              <td class="ops-path">
                {l.method} {l.host}
                {l.path}
              </td>
              <td class="ops-timings">{l.timings.join(" · ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </OpsFrame>
  );
}
