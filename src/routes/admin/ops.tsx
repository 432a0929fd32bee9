// The operations page on the platform host: sign-in with the admin token (then a signed cookie),
// figures per component over a range as SVG charts, and the log lines behind a bar or a dragged range.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../context";
import { component } from "../middleware/guards";
import { crossSiteReason } from "../../auth/csrf";
import type { RequestLog } from "../../obs/telemetry";
import { COMPONENT_FILTER, parseRange, queryLogs, queryStats, STATUS_FILTER } from "../../services/telemetry-query";
import { ForgeError } from "../../utils/errors";
import { OpsLoginPage, OpsLogsPage, OpsOverviewPage, type OpsLogLine, type RangeChoice } from "../../views/ops";
import { opsScript, opsScriptPath } from "../../views/ops-script";
import { adminSessionCookie, clearedAdminCookie, isAdminToken, requireAdminSession } from "./admin-auth";

const RANGES = ["15m", "1h", "6h", "24h"] as const;
const LOG_LINES_SHOWN = 500;

const iso = (t: number) => new Date(t).toISOString();

const logsHref = (q: { component?: string; since: number; until: number; tenant?: string; status?: string }) =>
  `/admin/ops/logs?${new URLSearchParams({
    ...(q.component ? { component: q.component } : {}),
    since: iso(q.since),
    until: iso(q.until),
    ...(q.tenant ? { tenant: q.tenant } : {}),
    ...(q.status ? { status: q.status } : {}),
  })}`;

const rangeChoices = (path: string, current: string | undefined): RangeChoice[] =>
  RANGES.map((r) => ({
    label: `Last ${r.replace("m", " min").replace("h", " h")}`,
    href: `${path}?${new URLSearchParams({ range: r })}`,
    current: r === current,
  }));

const sliceLabel = (ms: number) =>
  ms < 60_000 ? `${ms / 1000} s` : ms < 3_600_000 ? `${ms / 60_000} min` : `${ms / 3_600_000} h`;

/** The range a page asks for: a named one (range=1h) or since/until; errors say what to type. */
function pageRange(c: Context<AppEnv>, defaultRange: string): { since: number; until: number; range?: string; error?: string } {
  const now = Date.now();
  const named = c.req.query("range");
  const since = c.req.query("since");
  const until = c.req.query("until");
  const range = named && (RANGES as readonly string[]).includes(named) ? named : since || until ? undefined : defaultRange;
  try {
    return { ...(range ? parseRange(range, undefined, now) : parseRange(since, until, now, defaultRange)), range };
  } catch (err) {
    return { ...parseRange(defaultRange, undefined, now), range: defaultRange, error: (err as Error).message };
  }
}

function timings(l: RequestLog): string[] {
  const out: string[] = [];
  for (const [kind, n] of Object.entries(l.calls ?? {}))
    if (n > 0) out.push(`${kind} ${n}× ${l.wait?.[kind as keyof typeof l.wait] ?? 0} ms`);
  for (const [name, ms] of Object.entries(l.marks ?? {})) out.push(`${name} ${ms} ms`);
  return out;
}

const lineView = (l: RequestLog): OpsLogLine => ({
  t: l.t,
  id: l.id,
  tenant: l.tenant ?? "",
  method: l.method,
  host: l.host,
  path: l.path,
  status: l.status,
  ms: l.ms,
  firstMs: l.first_ms,
  bytes: l.bytes,
  aborted: !!l.aborted,
  timings: timings(l),
});

/** Only a path of this app: the sign-in form must not send anyone elsewhere. */
const safeNext = (next: unknown) => (typeof next === "string" && /^\/admin\/[^/\\]/.test(next) ? next : "/admin/ops");

const refuseCrossSite = (c: Context<AppEnv>) => {
  const reason = crossSiteReason(c.req.method, c.req.url, c.req.raw.headers);
  if (reason)
    throw new ForgeError("forbidden", "Cross-site request refused: reload the operations page and try again.", { reason });
};

export function registerOpsRoutes(app: OpenAPIHono<AppEnv>): void {
  const pageHeaders = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    referrerPolicy: "same-origin",
  });
  for (const path of ["/admin", "/admin/login", "/admin/logout", "/admin/ops", "/admin/ops/*"]) app.use(path, pageHeaders);

  app.get(opsScriptPath, (c) =>
    c.body(opsScript, 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=31536000, immutable",
    }),
  );
  app.get("/admin", (c) => c.redirect("/admin/ops", 303));
  app.get("/admin/login", component("admin.login"), (c) => c.html(<OpsLoginPage next={safeNext(c.req.query("next"))} />));
  app.post("/admin/login", component("admin.login"), async (c) => {
    refuseCrossSite(c);
    const form = await c.req.parseBody();
    const next = safeNext(form.next);
    const token = typeof form.token === "string" ? form.token : "";
    if (!c.env.FORGE_ADMIN_TOKEN) {
      return c.html(
        <OpsLoginPage
          next={next}
          error="This platform has no admin token configured (FORGE_ADMIN_TOKEN): set it, then sign in."
        />,
        503,
      );
    }
    if (!(await isAdminToken(c.env, token))) {
      return c.html(
        <OpsLoginPage next={next} error="Wrong admin token. Paste the platform's FORGE_ADMIN_TOKEN and try again." />,
        401,
      );
    }
    c.header("Set-Cookie", await adminSessionCookie(c));
    return c.redirect(next, 303);
  });
  app.post("/admin/logout", component("admin.login"), (c) => {
    refuseCrossSite(c);
    c.header("Set-Cookie", clearedAdminCookie(c));
    return c.redirect("/admin/login", 303);
  });

  app.get("/admin/ops", component("admin.ops"), requireAdminSession, async (c) => {
    const r = pageRange(c, "1h");
    const stats = await queryStats(c.env.OBJECTS, { since: r.since, until: r.until });
    const minutes = Math.max(1 / 60, (r.until - r.since) / 60_000);
    return c.html(
      <OpsOverviewPage
        view={{
          ranges: rangeChoices("/admin/ops", r.range),
          since: iso(r.since),
          until: iso(r.until),
          sliceLabel: sliceLabel(stats.sliceMs),
          truncated: stats.truncated,
          error: r.error,
          sinceMs: r.since,
          untilMs: r.until,
          sliceMs: stats.sliceMs,
          logsHref: (component, since, until) => logsHref({ component, since, until }),
          components: stats.components.map((s) => ({
            component: s.component,
            requests: s.requests,
            perMinute: Math.round((s.requests / minutes) * 10) / 10,
            errors: s.errors,
            p50: s.p50,
            p95: s.p95,
            p99: s.p99,
            series: s.series,
            logsHref: logsHref({ component: s.component, since: r.since, until: r.until }),
          })),
        }}
      />,
    );
  });

  app.get("/admin/ops/logs", component("admin.ops.logs"), requireAdminSession, async (c) => {
    const r = pageRange(c, "15m");
    const q = {
      component: c.req.query("component") ?? "",
      tenant: c.req.query("tenant") ?? "",
      status: c.req.query("status") ?? "",
    };
    let error = r.error;
    if (q.component && !COMPONENT_FILTER.test(q.component))
      error = `"${q.component}" is no component name (like web.source.tree)`;
    if (q.status && !STATUS_FILTER.test(q.status))
      error = `Status "${q.status}" is neither a class like 5xx nor a status like 404`;
    const found = error
      ? { lines: [], total: 0, truncated: false }
      : await queryLogs(
          c.env.OBJECTS,
          {
            since: r.since,
            until: r.until,
            component: q.component || undefined,
            tenant: q.tenant || undefined,
            status: q.status || undefined,
          },
          LOG_LINES_SHOWN,
        );
    return c.html(
      <OpsLogsPage
        view={{
          ...q,
          since: iso(r.since),
          until: iso(r.until),
          total: found.total,
          truncated: found.truncated,
          error,
          lines: found.lines.map(lineView),
          backHref: `/admin/ops?${new URLSearchParams({ since: iso(r.since), until: iso(r.until) })}`,
        }}
      />,
      error ? 400 : 200,
    );
  });
}
