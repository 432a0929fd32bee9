// Admin API of request telemetry (bearer admin token): figures per component and time slice, the log
// lines behind them, and the retention step; plus the platform health check (no token: a status
// page polls it). `forge stats` / `forge logs` call these.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../context";
import { errorResponse, jsonResponse } from "../api/responses";
import {
  COMPONENT_FILTER,
  parseDuration,
  parseRange,
  parseTime,
  queryLogs,
  queryStats,
  STATUS_FILTER,
  type Stats,
} from "../../services/telemetry-query";
import { pruneLogs } from "../../services/telemetry";
import { checkHealth } from "../../services/health";
import { badRequest } from "../../utils/errors";

const when = (description: string) =>
  z
    .string()
    .max(40)
    .optional()
    .openapi({ description: `${description}: a duration before now (15m, 6h, 1d) or an ISO date` });

const Filters = z.object({
  since: when("start of the range (default 1h; logs: 15m)"),
  until: when("end of the range (default now)"),
  component: z
    .string()
    .regex(COMPONENT_FILTER, "a component like web.source.tree, or a family like web.source.*")
    .optional()
    .openapi({ example: "web.source.tree" }),
  tenant: z.string().max(80).optional().openapi({ description: "tenant id" }),
  status: z.string().regex(STATUS_FILTER, "a class like 5xx or a status like 404").optional(),
});

const Figures = { requests: z.number(), errors: z.number(), p50: z.number(), p95: z.number(), p99: z.number(), max: z.number() };

const StatsSchema = z
  .object({
    since: z.string(),
    until: z.string(),
    slice_ms: z.number(),
    truncated: z.boolean().openapi({ description: "the range held more logs than one query reads; narrow it" }),
    components: z.array(
      z.object({ component: z.string(), ...Figures, series: z.array(z.object({ t: z.string(), ...Figures })) }),
    ),
  })
  .openapi("Stats");

const LogLineSchema = z
  .object({
    t: z.string(),
    id: z.string(),
    tenant: z.string().nullable(),
    component: z.string(),
    method: z.string(),
    host: z.string(),
    path: z.string(),
    status: z.number(),
    ms: z.number(),
    first_ms: z.number(),
    bytes: z.number(),
    aborted: z.boolean().optional(),
    calls: z.record(z.string(), z.number()),
    wait: z.record(z.string(), z.number()),
    marks: z.record(z.string(), z.number()).optional(),
  })
  .openapi("LogLine");

const CheckSchema = z.object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() });
const HealthSchema = z.object({ ok: z.boolean(), checks: z.record(z.string(), CheckSchema) }).openapi("Health");

const common = { 400: errorResponse("Invalid query"), 401: errorResponse("Missing or wrong admin token") };

const routes = {
  stats: createRoute({
    operationId: "adminTelemetryStats",
    method: "get",
    path: "/admin/api/v1/stats",
    summary: "Requests, 5xx and p50/p95/p99 latency per component, over a range and per slice of it",
    request: {
      query: Filters.extend({
        slice: z.string().max(10).optional().openapi({ description: "slice length (1m, 5m...); default: at most 60 slices" }),
      }),
    },
    responses: { 200: jsonResponse(StatsSchema, "The figures"), ...common },
  }),
  logs: createRoute({
    operationId: "adminTelemetryLogs",
    method: "get",
    path: "/admin/api/v1/logs",
    summary: "The log lines of a range, newest first, each with its request id and sub-timings",
    request: { query: Filters.extend({ limit: z.coerce.number().int().min(1).max(1000).default(100) }) },
    responses: {
      200: jsonResponse(z.object({ lines: z.array(LogLineSchema), total: z.number(), truncated: z.boolean() }), "The lines"),
      ...common,
    },
  }),
  prune: createRoute({
    operationId: "adminTelemetryPrune",
    method: "delete",
    path: "/admin/api/v1/logs",
    summary: "Retention: delete the log objects of every day before `before` (e.g. 7d)",
    request: { query: z.object({ before: z.string().max(40).openapi({ example: "7d" }) }) },
    responses: { 200: jsonResponse(z.object({ deleted: z.number(), days: z.number() }), "What was deleted"), ...common },
  }),
  health: createRoute({
    operationId: "adminTelemetryHealth",
    method: "get",
    path: "/admin/health",
    summary: "Per-dependency health (KV, D1, R2, Durable Object, queues): 200 when all are ok, else 503. No token needed",
    security: [],
    responses: { 200: jsonResponse(HealthSchema, "All ok"), 503: jsonResponse(HealthSchema, "A dependency failed") },
  }),
};

/** The JSON form of stats: times as ISO strings. */
export const statsJson = (s: Stats): z.infer<typeof StatsSchema> => ({
  since: new Date(s.since).toISOString(),
  until: new Date(s.until).toISOString(),
  slice_ms: s.sliceMs,
  truncated: s.truncated,
  components: s.components.map((c) => ({ ...c, series: c.series.map((p) => ({ ...p, t: new Date(p.t).toISOString() })) })),
});

export function registerTelemetryRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(routes.stats, async (c) => {
    c.get("meter").component = "admin.stats";
    const q = c.req.valid("query");
    const range = parseRange(q.since, q.until, Date.now());
    let slice: number | undefined;
    if (q.slice) {
      const ms = parseDuration(q.slice);
      if (!ms) throw badRequest(`slice "${q.slice}" is not a duration like 5m`);
      if ((range.until - range.since) / ms > 1_440) throw badRequest("more than 1,440 slices: give a longer slice");
      slice = ms;
    }
    const stats = await queryStats(
      c.env.OBJECTS,
      { ...range, component: q.component, tenant: q.tenant, status: q.status },
      slice,
    );
    return c.json(statsJson(stats), 200);
  });
  app.openapi(routes.logs, async (c) => {
    c.get("meter").component = "admin.logs";
    const q = c.req.valid("query");
    const range = parseRange(q.since, q.until, Date.now(), "15m");
    const found = await queryLogs(
      c.env.OBJECTS,
      { ...range, component: q.component, tenant: q.tenant, status: q.status },
      q.limit,
    );
    return c.json(found, 200);
  });
  app.openapi(routes.prune, async (c) => {
    c.get("meter").component = "admin.logs.prune";
    const before = parseTime(c.req.valid("query").before, Date.now(), "before");
    return c.json(await pruneLogs(c.env.OBJECTS, new Date(before)), 200);
  });
  app.openapi(routes.health, async (c) => {
    const health = await checkHealth(c.env);
    c.header("Cache-Control", "no-store");
    return c.json(health, health.ok ? 200 : 503);
  });
}
