// The edge worker's front door: meters every request, then hands it to the platform admin app
// (platform host) or to the tenant app (every other host); after the response, writes the request's
// telemetry (log lines gathered per isolate: services/telemetry.ts). Also the consumer of the
// post-push, event, telemetry and webhook queues.
import type { Env } from "../env";
import { meteredEnv, newMeter, serverTiming } from "../obs/meter";
import { isolateTurns } from "../utils/pace";
import { loggedResponse } from "../obs/telemetry";
import { attachMeter, withMeter } from "../obs/request-meter";
import { withWan } from "../obs/wan";
import { randomId } from "../utils/crypto";
import { platformHost } from "../services/tenants";
import { canonicalHost } from "../storage/directory";
import { stylesheet, stylesheetPath } from "../views/style";
import { faviconPath, staticAssets } from "../views/static-assets";
import { adminApp } from "../routes/admin";
import { tenantApp } from "./tenant-app";
import { handlePostPushBatch } from "../services/post-push";
import { handleTelemetryBatch, isolateLogs, type LogBatcher, recordTelemetry, TELEMETRY_QUEUE } from "../services/telemetry";
import type { PushedEvent } from "../services/push-events";
import { handleEventBatch } from "../services/events/consumer";
import { EVENTS_QUEUE, type EventMessage } from "../services/events/fanout";
import { slowFaultOf } from "../push/faults";
import { handleWebhookBatch, WEBHOOKS_QUEUE, type WebhookMessage } from "../services/webhooks";
import { inRequestScope } from "../utils/request-scope";

/** `logs`: where request log lines gather before the queue (one batcher per isolate; tests pass their own). */
export function createEdgeHandler(opts: { logs?: LogBatcher } = {}): ExportedHandler<Env> {
  const logs = opts.logs ?? isolateLogs;
  const admin = adminApp();
  const tenants = tenantApp();

  const route = async (request: Request, env: Env, ctx: ExecutionContext): Promise<Response> => {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return new Response("ok\n", { headers: { "content-type": "text/plain" } });
    if (url.pathname === stylesheetPath) {
      return new Response(stylesheet, {
        headers: { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=31536000, immutable" },
      });
    }
    const asset = staticAssets.get(url.pathname);
    if (asset) {
      return new Response(asset.body, {
        headers: { "content-type": asset.type, "cache-control": "public, max-age=31536000, immutable" },
      });
    }
    // Browsers that ignore the page's icon link ask here; send them to the current icon.
    if (url.pathname === "/favicon.ico") return Response.redirect(new URL(faviconPath, url).toString(), 301);
    if (canonicalHost(url) === platformHost(env)) return admin.fetch(request, env, ctx);
    return tenants.fetch(request, env, ctx);
  };

  return {
    // One queue handler for the worker: each batch comes from one queue, named in the batch.
    queue: (batch, env) =>
      inRequestScope(() =>
        batch.queue === TELEMETRY_QUEUE
          ? handleTelemetryBatch(batch, withWan(env))
          : batch.queue === EVENTS_QUEUE
            ? handleEventBatch(batch as MessageBatch<EventMessage>, withWan(env))
            : batch.queue === WEBHOOKS_QUEUE
              ? handleWebhookBatch(batch as MessageBatch<WebhookMessage>, withWan(env))
              : handlePostPushBatch(batch as MessageBatch<PushedEvent>, withWan(env)),
      ),
    // Each request (and batch) in its own scope: in-flight reads are not joined across requests.
    fetch: (request, raw, ctx) => inRequestScope(() => edgeFetch(request, raw, ctx)),
  };

  async function edgeFetch(request: Request, raw: Env, ctx: ExecutionContext): Promise<Response> {
    // Injected distance (FORGE_WAN_MS, local runs only) sits under the meter: it times the wait.
    const env = withWan(raw);
    const meter = newMeter(request.headers.get("cf-ray") ?? randomId(16), "edge");
    attachMeter(request, meter);
    const turnsBefore = isolateTurns.turns;
    let response: Response;
    try {
      response = await withMeter(meter, () => route(request, meteredEnv(env, meter), ctx));
      // Test configurations only: a request of the named component answers late (faults.ts).
      const slow = slowFaultOf(env, request);
      if (slow && slow.component === meter.component) await new Promise((r) => setTimeout(r, slow.ms));
    } catch (err) {
      console.error(JSON.stringify({ level: "error", id: meter.id, message: String((err as Error)?.stack ?? err) }));
      response = new Response("internal error\n", { status: 500, headers: { "content-type": "text/plain" } });
    }
    // Responses from fetch() or the cache have immutable headers: copy before adding ours.
    response = new Response(response.body, response);
    meter.turns = isolateTurns.turns - turnsBefore;
    response.headers.set("X-Request-Id", meter.id);
    response.headers.set("Server-Timing", serverTiming(meter));
    const logged = loggedResponse(response, meter, request);
    // After the last byte, off the response's path; the unmetered env, so it is not counted as the request's.
    ctx.waitUntil(logged.done.then((log) => recordTelemetry(env, log, logs)));
    return logged.response;
  }
}
