// Event fan-out in workerd: recordEvent hands each new event to the FORGE_EVENTS queue (here one
// that records what it is sent, or fails), a duplicate key sends nothing, a lost send goes again
// with the tenant's next event, and the consumer runs every handler, retrying on a throw.
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { openTenantDb, type TenantDb } from "../../src/db/tenant-db";
import { recordEvent, type TimelineEvent } from "../../src/services/timeline";
import { withEventFanout, type EventMessage } from "../../src/services/events/fanout";
import { handleEventBatch } from "../../src/services/events/consumer";
import type { EventContext, EventHandler } from "../../src/services/events/handlers";
import { apiCall, newForge, tenantD1, type Forge } from "./browser";
import { countedBatch, RecordingQueue } from "./recording-queue";

const env = workerEnv as unknown as Env;

/** Runs the consumer on `messages` with `handlers`; counts acks and retries. */
async function consume(messages: EventMessage[], handlers: EventHandler[], attempts = 1) {
  const { batch, counts } = countedBatch("edgeforge-events", messages, attempts);
  await handleEventBatch(batch, env, handlers);
  return counts;
}

let forge: Forge;
let projectId: number;
// The resend cutoff is this clock less a minute, against rows stamped by the database: a clock in
// the past makes every send recent, one in the future every send old, whatever time it is.
let clock = Date.parse("2000-01-01T00:00:00Z");
const queue = new RecordingQueue<EventMessage>();
let db: TenantDb;

beforeAll(async () => {
  forge = await newForge("events");
  expect((await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "ev" })).status).toBe(201);
  const d1 = await tenantD1(forge);
  projectId = (await d1.prepare("SELECT id FROM projects WHERE name = 'ev'").first<{ id: number }>())!.id;
  db = withEventFanout(openTenantDb(d1), {
    tenantId: forge.id,
    queue: queue as unknown as Queue<EventMessage>,
    now: () => clock,
  });
});

const pendingOf = async (id: number) =>
  (await (await tenantD1(forge)).prepare("SELECT pending FROM events WHERE id = ?").bind(id).first<{ pending: number }>())!
    .pending;

describe("event fan-out", () => {
  it("sends {tenant, event} for a new event and marks it sent; a duplicate key sends nothing", async () => {
    const id = await recordEvent(db, { projectId, kind: "wiki", actor: "owner", title: "Edited Home", key: "fanout:1" });
    expect(id).toEqual(expect.any(Number));
    expect(queue.take()).toEqual([{ tenantId: forge.id, eventId: id }]);
    expect(await pendingOf(id!)).toBe(0);
    expect(await recordEvent(db, { projectId, kind: "wiki", actor: "owner", title: "Edited Home", key: "fanout:1" })).toBeNull();
    expect(queue.take()).toEqual([]);
  });

  it("keeps an event whose send failed and sends it again with a later event, once it is old enough", async () => {
    queue.failing = true;
    const lost = (await recordEvent(db, { projectId, kind: "download", actor: "owner", title: "Uploaded a", key: "fanout:2" }))!;
    queue.failing = false;
    expect(await pendingOf(lost)).toBe(1);
    // A send may still be on its way within the minute: not sent again yet.
    const next = (await recordEvent(db, { projectId, kind: "download", actor: "owner", title: "Uploaded b", key: "fanout:3" }))!;
    expect(queue.take().map((m) => m.eventId)).toEqual([next]);
    clock = Date.parse("2100-01-01T00:00:00Z");
    const third = (await recordEvent(db, { projectId, kind: "download", actor: "owner", title: "Uploaded c", key: "fanout:4" }))!;
    expect(queue.take().map((m) => m.eventId)).toEqual([third, lost]);
    expect(await pendingOf(lost)).toBe(0);
  });

  it("records without sending on a handle that has no fan-out", async () => {
    const plain = openTenantDb(await tenantD1(forge));
    const id = (await recordEvent(plain, { projectId, kind: "wiki", actor: "owner", title: "Quiet", key: "fanout:5" }))!;
    expect(await pendingOf(id)).toBe(0);
    expect(queue.take()).toEqual([]);
  });
});

describe("event consumer", () => {
  it("runs every handler with the tenant, project and event; a throw retries the message with its attempt", async () => {
    const id = (await recordEvent(db, { projectId, kind: "issue", actor: "owner", title: "Opened 1", key: "fanout:6" }))!;
    queue.take();
    const seen: { handler: string; event: number; project: string; tenant: string; attempt: number }[] = [];
    const note =
      (handler: string): EventHandler =>
      async (ctx: EventContext, event: TimelineEvent) =>
        void seen.push({ handler, event: event.id, project: ctx.project.name, tenant: ctx.tenant.id, attempt: ctx.attempt });
    expect(await consume([{ tenantId: forge.id, eventId: id }], [note("a"), note("b")])).toEqual({ acked: 1, retried: 0 });
    expect(seen).toEqual([
      { handler: "a", event: id, project: "ev", tenant: forge.id, attempt: 1 },
      { handler: "b", event: id, project: "ev", tenant: forge.id, attempt: 1 },
    ]);
    const failing: EventHandler = async () => {
      throw new Error("mail server down");
    };
    seen.length = 0;
    expect(await consume([{ tenantId: forge.id, eventId: id }], [note("a"), failing], 2)).toEqual({ acked: 0, retried: 1 });
    expect(seen.map((s) => s.attempt)).toEqual([2]);
  });

  it("acks a message whose event or tenant no longer exists", async () => {
    const none = async () => {
      throw new Error("must not run");
    };
    expect(await consume([{ tenantId: forge.id, eventId: 999_999 }], [none])).toEqual({ acked: 1, retried: 0 });
    expect(await consume([{ tenantId: "no-such-tenant", eventId: 1 }], [none])).toEqual({ acked: 1, retried: 0 });
  });
});
