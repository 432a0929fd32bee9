// Request telemetry: the data point and log line each request writes (after its response, never
// failing it), the queue consumer's R2 objects by component and minute, range queries, retention.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { createEdgeHandler } from "../../src/edge/app";
import { newMeter } from "../../src/obs/meter";
import { dataPoint, requestLog, type RequestLog } from "../../src/obs/telemetry";
import {
  handleTelemetryBatch,
  LOG_MESSAGE_BYTES,
  LogBatcher,
  type LogBatchMessage,
  pruneLogs,
  recordTelemetry,
  TELEMETRY_QUEUE,
} from "../../src/services/telemetry";
import { queryLogs, queryStats } from "../../src/services/telemetry-query";
import { logKeys } from "../../src/storage/keys";
import { ADMIN_HOST, admin } from "./helpers";

const testEnv = env as unknown as Env;

/** A log line of a fixed time (these tests use March 2026, far from the run's own logs). */
function line(component: string, t: string, over: Partial<RequestLog> = {}): RequestLog {
  return {
    t,
    id: `${component}-${t}-${over.status ?? 200}`,
    tenant: "tenant1",
    component,
    method: "GET",
    host: "a.test",
    path: "/p/x/",
    status: 200,
    ms: 10,
    first_ms: 5,
    bytes: 100,
    calls: { kv: 1, d1: 2, r2: 0, do: 1, svc: 0 },
    wait: { kv: 0.5, d1: 3, r2: 0, do: 1.2, svc: 0 },
    ...over,
  };
}

interface FakeMessage extends Message<unknown> {
  acked: boolean;
  retried: boolean;
}

function batchOf(bodies: unknown[], ids?: string[]): { batch: MessageBatch<unknown>; messages: FakeMessage[] } {
  const messages = bodies.map((body, i) => {
    const m = {
      id: ids?.[i] ?? `msg-${i}-${JSON.stringify(body).length}-${Math.random()}`,
      timestamp: new Date(),
      body,
      attempts: 1,
      acked: false,
      retried: false,
      ack() {
        m.acked = true;
      },
      retry() {
        m.retried = true;
      },
    };
    return m as FakeMessage;
  });
  const batch = { queue: TELEMETRY_QUEUE, messages, ackAll() {}, retryAll() {} } as unknown as MessageBatch<unknown>;
  return { batch, messages };
}

async function keysUnder(prefix: string): Promise<string[]> {
  return (await testEnv.OBJECTS.list({ prefix })).objects.map((o) => o.key).sort();
}

/**
 * A batching window the test opens: `started` resolves when a batch's first line began waiting on
 * it (no guessing how many turns the response's log record takes), `open` closes it.
 */
function manualWindow() {
  let open: () => void = () => {};
  let began: () => void = () => {};
  const started = new Promise<void>((r) => (began = r));
  const window = () =>
    new Promise<void>((r) => {
      open = r;
      began();
    });
  return { logs: new LogBatcher(window), started, open: () => open() };
}

/** An execution context that keeps what the handler hands to waitUntil, for the test to await. */
function waitingContext(): { ctx: ExecutionContext; waited: Promise<unknown>[] } {
  const waited: Promise<unknown>[] = [];
  const ctx = { waitUntil: (p: Promise<unknown>) => waited.push(p), passThroughOnException() {}, props: {} };
  return { ctx: ctx as unknown as ExecutionContext, waited };
}

describe("telemetry records", () => {
  it("logs the path without its query, the tenant, and sub-timings; the data point carries them by position", () => {
    const meter = newMeter("req1", "web.source.tree");
    meter.tenant = "t42";
    meter.calls.d1 = 3;
    meter.waitMs.d1 = 4.26;
    const log = requestLog(meter, new Request("https://a.test/p/x/source/tree/main?token=secret"), 503, { firstMs: 7, bytes: 9 });
    expect(log).toMatchObject({
      id: "req1",
      tenant: "t42",
      component: "web.source.tree",
      path: "/p/x/source/tree/main",
      status: 503,
    });
    expect(JSON.stringify(log)).not.toContain("secret");
    expect(log.wait.d1).toBe(4.3);
    expect(dataPoint(log)).toEqual({
      indexes: ["web.source.tree"],
      blobs: ["web.source.tree", "t42", "5xx", "GET"],
      doubles: [log.ms, 7, 503, 9, 0, 3, 0, 0, 0],
    });
  });

  it("writes a data point and queues the line; a failing binding loses the line but throws nothing", async () => {
    const points: unknown[] = [];
    const sent: unknown[] = [];
    const log = line("web.x", "2026-03-01T10:00:00.000Z");
    const now = new LogBatcher(() => Promise.resolve());
    await recordTelemetry(
      {
        TELEMETRY: { writeDataPoint: (p: unknown) => points.push(p) },
        TELEMETRY_LOGS: { send: async (b: unknown) => void sent.push(b) },
      } as never,
      log,
      now,
    );
    expect(points).toEqual([dataPoint(log)]);
    expect(sent).toEqual([{ lines: [log] }]);
    const broken = {
      TELEMETRY: {
        writeDataPoint: () => {
          throw new Error("AE down");
        },
      },
      TELEMETRY_LOGS: { send: () => Promise.reject(new Error("queue down")) },
    };
    await expect(recordTelemetry(broken as never, log, now)).resolves.toBeUndefined();
  });

  it("answers before the telemetry is written, and answers the same when writing it fails", async () => {
    // The window stays open until the test has looked: the line waits in the batch meanwhile.
    const first = manualWindow();
    const handler = createEdgeHandler({ logs: first.logs });
    const { ctx, waited } = waitingContext();
    let release: () => void = () => {};
    const sent: RequestLog[] = [];
    // A queue that does not answer until released: the response must not wait for it.
    const stuck = {
      ...testEnv,
      TELEMETRY_LOGS: {
        send: (b: LogBatchMessage) => {
          sent.push(...b.lines);
          return new Promise<void>((r) => {
            release = r;
          });
        },
      },
    };
    const res = await handler.fetch!(new Request(`http://${ADMIN_HOST}/admin/login?x=1`) as never, stuck as never, ctx);
    expect(res.status).toBe(200);
    await res.text();
    expect(waited).toHaveLength(1);
    let settled = false;
    void waited[0]!.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    // The line goes when its batch's window closes; the request's waitUntil holds until it is sent.
    await first.started;
    first.open();
    await vi.waitUntil(() => sent.length > 0);
    expect(settled).toBe(false);
    release();
    await waited[0];
    expect(sent[0]).toMatchObject({
      component: "admin.login",
      path: "/admin/login",
      status: 200,
      id: res.headers.get("x-request-id"),
    });

    const second = manualWindow();
    const failing = { ...testEnv, TELEMETRY_LOGS: { send: () => Promise.reject(new Error("queue down")) } };
    const again = await createEdgeHandler({ logs: second.logs }).fetch!(
      new Request(`http://${ADMIN_HOST}/admin/login`) as never,
      failing as never,
      ctx,
    );
    expect(again.status).toBe(200);
    await again.text();
    await second.started;
    second.open();
    await expect(waited[1]).resolves.toBeUndefined();
  });
});

describe("log lines gathered per isolate (issue 19: one queue message for many requests)", () => {
  /** A queue that counts its calls and messages, and keeps the lines it got. */
  const countingQueue = () => {
    const q = { send: 0, sendBatch: 0, messages: 0, bodies: [] as RequestLog[] };
    const binding = {
      send: async (b: LogBatchMessage) => {
        q.send++;
        q.messages++;
        q.bodies.push(...b.lines);
      },
      sendBatch: async (batch: { body: LogBatchMessage }[]) => {
        q.sendBatch++;
        q.messages += batch.length;
        q.bodies.push(...batch.flatMap((m) => m.body.lines));
      },
    };
    return { q, binding };
  };

  it("sends the lines of the requests served during one window in one queue message, after the window", async () => {
    const { logs, started, open } = manualWindow();
    const handler = createEdgeHandler({ logs });
    const { ctx, waited } = waitingContext();
    const { q, binding } = countingQueue();
    const counted = { ...testEnv, TELEMETRY_LOGS: binding };
    const ids: (string | null)[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await handler.fetch!(new Request(`http://${ADMIN_HOST}/admin/login?n=${i}`) as never, counted as never, ctx);
      await res.text();
      ids.push(res.headers.get("x-request-id"));
    }
    // The first line opened the window; the others joined its batch: nothing sent yet.
    await started;
    await Promise.all(waited.slice(1));
    expect(q.send + q.sendBatch).toBe(0);
    open();
    await Promise.all(waited);
    // One call and one message for the five lines (before: a sendBatch of five messages, whose
    // every message the queue parses and delivers on its own).
    expect(q).toMatchObject({ send: 1, sendBatch: 0, messages: 1 });
    expect(q.bodies.map((b) => b.id)).toEqual(ids);
    expect(logs.sends).toBe(1);
  });

  it("sends a full message at once, and the line that did not fit waits for the window", async () => {
    const windows: (() => void)[] = [];
    const logs = new LogBatcher(() => new Promise<void>((r) => windows.push(r)));
    const { q, binding } = countingQueue();
    const size = JSON.stringify(line("full.batch", "2026-03-01T10:00:00.000Z", { id: "l000" })).length + 1;
    const fit = Math.floor(LOG_MESSAGE_BYTES / size);
    const pending: Promise<void>[] = [];
    const add = (i: number) =>
      pending.push(
        logs.add(binding as never, line("full.batch", "2026-03-01T10:00:00.000Z", { id: `l${String(i).padStart(3, "0")}` })),
      );
    for (let i = 0; i < fit; i++) add(i);
    expect(q.messages).toBe(0);
    // The next line does not fit: the full message goes at once, without waiting for the window.
    add(fit);
    await pending.at(-1);
    expect(q).toMatchObject({ send: 1, messages: 1 });
    expect(q.bodies).toHaveLength(fit);
    // The window the first line opened is still open, and sends the line that did not fit.
    expect(windows).toHaveLength(1);
    windows[0]!();
    await Promise.all(pending);
    expect(q).toMatchObject({ send: 2, messages: 2 });
    expect(q.bodies.at(-1)!.id).toBe(`l${String(fit).padStart(3, "0")}`);
    // The next line opens a new window.
    const next = logs.add(binding as never, line("full.batch", "2026-03-01T10:00:01.000Z", { id: "after" }));
    expect(windows).toHaveLength(2);
    windows[1]!();
    await next;
    expect(q.send).toBe(3);
    expect(q.bodies.at(-1)!.id).toBe("after");
  });
});

describe("log batches in R2", () => {
  it("writes one object per component and minute, keyed for range listing; a redelivered batch overwrites, not doubles", async () => {
    const bodies = [
      line("batch.a", "2026-03-01T10:58:59.000Z"),
      line("batch.a", "2026-03-01T10:59:00.000Z"),
      line("batch.a", "2026-03-01T10:59:30.000Z"),
      line("batch.b", "2026-03-01T10:59:10.000Z"),
      { not: "a log line" },
    ];
    const ids = bodies.map((_, i) => `fixed-${i}`);
    const first = batchOf(bodies, ids);
    await handleTelemetryBatch(first.batch, testEnv);
    expect(first.messages.every((m) => m.acked && !m.retried)).toBe(true);
    const a = await keysUnder(logKeys.component("batch.a"));
    expect(a).toHaveLength(2);
    expect(a[0]).toMatch(/^logs\/batch\.a\/2026-03-01\/10-58\/[0-9a-f]{24}\.jsonl$/);
    expect(a[1]).toMatch(/^logs\/batch\.a\/2026-03-01\/10-59\/[0-9a-f]{24}\.jsonl$/);
    const minute = (await (await testEnv.OBJECTS.get(a[1]!))!.text()).trim().split("\n");
    expect(minute.map((l) => (JSON.parse(l) as RequestLog).t)).toEqual(["2026-03-01T10:59:00.000Z", "2026-03-01T10:59:30.000Z"]);
    expect(await keysUnder(logKeys.component("batch.b"))).toHaveLength(1);

    await handleTelemetryBatch(batchOf(bodies, ids).batch, testEnv);
    expect(await keysUnder(logKeys.component("batch.a"))).toEqual(a);
  });

  it("retries the messages of an object it could not write, and only those", async () => {
    const failingBucket = new Proxy(testEnv.OBJECTS, {
      get(target, prop) {
        if (prop === "put")
          return (key: string, ...rest: unknown[]) =>
            key.includes("/fail.me/") ? Promise.reject(new Error("R2 down")) : target.put(key, ...(rest as [never]));
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const { batch, messages } = batchOf([
      line("fail.me", "2026-03-01T11:00:00.000Z"),
      line("keep.me", "2026-03-01T11:00:00.000Z"),
    ]);
    await handleTelemetryBatch(batch, { ...testEnv, OBJECTS: failingBucket });
    expect(messages.map((m) => [m.acked, m.retried])).toEqual([
      [false, true],
      [true, false],
    ]);
  });

  it("writes the lines of batch messages by component and minute, beside a one-line message sent before batching", async () => {
    const m1: LogBatchMessage = {
      lines: [
        line("multi.a", "2026-03-01T12:00:01.000Z"),
        line("multi.b", "2026-03-01T12:00:02.000Z"),
        line("multi.a", "2026-03-01T12:01:00.000Z"),
      ],
    };
    const m2: LogBatchMessage = { lines: [line("multi.a", "2026-03-01T12:00:30.000Z"), { junk: 1 } as never] };
    const old = line("multi.a", "2026-03-01T12:00:40.000Z");
    const ids = ["multi-1", "multi-2", "multi-3", "multi-4"];
    const first = batchOf([m1, m2, old, { lines: "not lines" }], ids);
    await handleTelemetryBatch(first.batch, testEnv);
    expect(first.messages.map((m) => [m.acked, m.retried])).toEqual([
      [true, false],
      [true, false],
      [true, false],
      [true, false],
    ]);
    const a = await keysUnder(logKeys.component("multi.a"));
    expect(a).toHaveLength(2);
    const minute = (await (await testEnv.OBJECTS.get(a[0]!))!.text()).trim().split("\n");
    expect(minute.map((l) => (JSON.parse(l) as RequestLog).t)).toEqual([
      "2026-03-01T12:00:01.000Z",
      "2026-03-01T12:00:30.000Z",
      "2026-03-01T12:00:40.000Z",
    ]);
    expect(await keysUnder(logKeys.component("multi.b"))).toHaveLength(1);
    // Delivered again: the same objects, not more.
    await handleTelemetryBatch(batchOf([m1, m2, old, { lines: "not lines" }], ids).batch, testEnv);
    expect(await keysUnder(logKeys.component("multi.a"))).toEqual(a);
  });

  it("retries a batch message when any object with its lines failed", async () => {
    const failingBucket = new Proxy(testEnv.OBJECTS, {
      get(target, prop) {
        if (prop === "put")
          return (key: string, ...rest: unknown[]) =>
            key.includes("/fail.two/") ? Promise.reject(new Error("R2 down")) : target.put(key, ...(rest as [never]));
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const { batch, messages } = batchOf([
      { lines: [line("keep.two", "2026-03-01T13:00:00.000Z"), line("fail.two", "2026-03-01T13:00:00.000Z")] },
      { lines: [line("keep.two", "2026-03-01T13:00:01.000Z", { id: "other" })] },
    ]);
    await handleTelemetryBatch(batch, { ...testEnv, OBJECTS: failingBucket });
    expect(messages.map((m) => [m.acked, m.retried])).toEqual([
      [false, true],
      [true, false],
    ]);
  });
});

describe("range queries", () => {
  it("lists exactly the lines of one component in a range, filtered by tenant and status, newest first", async () => {
    const lines = [
      line("range.a", "2026-03-02T09:59:59.999Z"),
      line("range.a", "2026-03-02T10:00:00.000Z", { ms: 100 }),
      line("range.a", "2026-03-02T10:30:00.000Z", { ms: 300, status: 500 }),
      line("range.a", "2026-03-02T11:15:00.000Z", { ms: 200, tenant: "tenant2" }),
      line("range.a", "2026-03-02T11:20:00.001Z"),
      line("range.b", "2026-03-02T10:30:00.000Z"),
    ];
    await handleTelemetryBatch(batchOf(lines).batch, testEnv);
    const q = {
      since: Date.parse("2026-03-02T10:00:00.000Z"),
      until: Date.parse("2026-03-02T11:20:00.000Z"),
      component: "range.a",
    };
    const found = await queryLogs(testEnv.OBJECTS, q, 100);
    expect(found.lines.map((l) => l.t)).toEqual([
      "2026-03-02T11:15:00.000Z",
      "2026-03-02T10:30:00.000Z",
      "2026-03-02T10:00:00.000Z",
    ]);
    expect(found.total).toBe(3);
    expect((await queryLogs(testEnv.OBJECTS, { ...q, tenant: "tenant2" }, 100)).lines.map((l) => l.ms)).toEqual([200]);
    expect((await queryLogs(testEnv.OBJECTS, { ...q, status: "5xx" }, 100)).lines.map((l) => l.ms)).toEqual([300]);
    expect((await queryLogs(testEnv.OBJECTS, { ...q, status: "200" }, 100)).total).toBe(2);
    expect((await queryLogs(testEnv.OBJECTS, q, 2)).lines.map((l) => l.ms)).toEqual([200, 300]);
    // A family of components: range.a and range.b, not others.
    const family = await queryLogs(testEnv.OBJECTS, { ...q, component: "range.*" }, 100);
    expect(family.lines.map((l) => l.component).sort()).toEqual(["range.a", "range.a", "range.a", "range.b"]);

    const stats = await queryStats(testEnv.OBJECTS, q, 30 * 60_000);
    expect(stats.components.map((c) => c.component)).toEqual(["range.a"]);
    const a = stats.components[0]!;
    expect([a.requests, a.errors, a.p50, a.p99, a.max]).toEqual([3, 1, 200, 300, 300]);
    expect(a.series.map((s) => [new Date(s.t).toISOString().slice(11, 16), s.requests, s.errors, s.p99])).toEqual([
      ["10:00", 1, 0, 100],
      ["10:30", 1, 1, 300],
      ["11:00", 1, 0, 200],
    ]);
    // Without a component: every component in range.
    const all = await queryStats(testEnv.OBJECTS, { since: q.since, until: q.until }, 3_600_000);
    expect(all.components.filter((c) => c.component.startsWith("range.")).map((c) => [c.component, c.requests])).toEqual([
      ["range.a", 3],
      ["range.b", 1],
    ]);
  });

  it("stops at its bounds and says so", async () => {
    const lines = Array.from({ length: 5 }, (_, i) => line("bound.a", `2026-03-03T10:0${i}:00.000Z`));
    await handleTelemetryBatch(batchOf(lines).batch, testEnv);
    const q = { since: Date.parse("2026-03-03T10:00:00Z"), until: Date.parse("2026-03-03T10:59:00Z"), component: "bound.a" };
    expect((await queryLogs(testEnv.OBJECTS, q, 100)).truncated).toBe(false);
    const cut = await queryLogs(testEnv.OBJECTS, q, 100, { maxObjects: 2, maxLines: 1_000 });
    expect([cut.total, cut.truncated]).toEqual([2, true]);
  });

  it("the admin API answers the same queries with the bearer token only", async () => {
    await handleTelemetryBatch(batchOf([line("api.a", "2026-03-04T10:00:00.000Z", { status: 502 })]).batch, testEnv);
    const path = "/admin/api/v1/logs?component=api.a&since=2026-03-04T09:00:00Z&until=2026-03-04T11:00:00Z";
    expect((await admin("GET", path, undefined, "wrong")).status).toBe(401);
    const res = await admin("GET", path);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { lines: RequestLog[] };
    expect(body.lines.map((l) => [l.component, l.status])).toEqual([["api.a", 502]]);
    const stats = await admin(
      "GET",
      "/admin/api/v1/stats?component=api.a&since=2026-03-04T09:00:00Z&until=2026-03-04T11:00:00Z&slice=1h",
    );
    const s = (await stats.json()) as {
      slice_ms: number;
      components: { component: string; errors: number; series: unknown[] }[];
    };
    expect([s.slice_ms, s.components[0]?.errors, s.components[0]?.series.length]).toEqual([3_600_000, 1, 3]);
    for (const bad of [
      "since=yesterday",
      "status=5x",
      "since=2026-03-04T11:00:00Z&until=2026-03-04T09:00:00Z",
      "component=A%20B",
    ]) {
      const r = await admin("GET", `/admin/api/v1/logs?${bad}`);
      expect(r.status, bad).toBe(400);
      expect(((await r.json()) as { error: { message: string } }).error.message.length).toBeGreaterThan(10);
    }
  });
});

describe("retention", () => {
  it("deletes whole days before the cutoff and keeps the rest", async () => {
    await handleTelemetryBatch(
      batchOf([
        line("keep.days", "2026-02-10T23:59:00.000Z"),
        line("keep.days", "2026-02-11T00:00:00.000Z"),
        line("keep.days", "2026-02-12T08:00:00.000Z"),
      ]).batch,
      testEnv,
    );
    const before = await pruneLogs(testEnv.OBJECTS, new Date("2026-02-11T12:00:00Z"));
    expect(before.deleted).toBeGreaterThanOrEqual(1);
    const left = await keysUnder(logKeys.component("keep.days"));
    expect(left.map((k) => k.split("/")[2])).toEqual(["2026-02-11", "2026-02-12"]);
    const viaApi = await admin("DELETE", "/admin/api/v1/logs?before=2026-02-12T00:00:00Z");
    expect(viaApi.status).toBe(200);
    expect((await keysUnder(logKeys.component("keep.days"))).map((k) => k.split("/")[2])).toEqual(["2026-02-12"]);
  });
});
