// The app of tenant hosts: resolves the forge from the Host header, then serves its pages and APIs.
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../routes/context";
import { canonicalHost, resolveHost } from "../storage/directory";
import { ensureTenantReady } from "../services/tenants";
import { lazyTenantDb, tenantD1 } from "../db/tenant-db";
import { type EventMessage, withEventFanout } from "../services/events/fanout";
import { newMeter } from "../obs/meter";
import { meterOf } from "../obs/request-meter";
import { ErrorPage } from "../views/layout";
import { homeRoutes } from "../routes/web/home";
import { gitRoutes } from "../routes/git/smart-http";
import { projectRoutes } from "../routes/web/project";
import { timelineRoutes } from "../routes/web/timeline";
import { sourceRoutes } from "../routes/web/source";
import { notFoundPage } from "../routes/web/errors";
import { accountRoutes } from "../routes/web/account";
import { adminRoutes } from "../routes/web/admin";
import { projectAdminRoutes } from "../routes/web/project-admin";
import { userRoutes } from "../routes/web/users";
import { issueRoutes } from "../routes/web/issues";
import { downloadRoutes } from "../routes/web/downloads";
import { wikiRoutes } from "../routes/web/wiki";
import { tenantApi } from "../routes/api/tenant-api";
import { jsonError } from "../routes/api/responses";
import { crossSiteGuard, sessionMiddleware } from "../routes/middleware/session";
import { respondToError } from "../routes/middleware/errors";

export function tenantApp() {
  const app = new Hono<AppEnv>();

  app.use("*", async (c, next) => {
    c.set("meter", meterOf(c.req.raw) ?? newMeter("unmetered"));
    c.get("meter").component = "web.tenant";
    const host = canonicalHost(c.req.url);
    const found = await resolveHost(c.env.DIRECTORY, host);
    if (!found || found.status === "deleting") {
      return c.html(
        <ErrorPage
          status={404}
          title="No forge at this address"
          message={`There is no forge at ${host}. Check the address, or ask the person who gave it to you.`}
          back={null}
        />,
        404,
      );
    }
    if (found.status === "suspended") {
      return c.html(
        <ErrorPage
          status={503}
          title="This forge is suspended"
          forgeName={found.name}
          // The reason is a note between the operator and the forge's owners, not for visitors.
          message="This forge is not available right now. Try again later."
          back={null}
        />,
        503,
      );
    }
    const tenant = await ensureTenantReady(c.env, found);
    const d1 = tenantD1(c.env, tenant);
    if (tenant.status !== "active" || !d1) {
      c.header("Retry-After", "2");
      return c.html(
        <ErrorPage
          status={503}
          title="This forge is being set up"
          forgeName={tenant.name}
          message="It will be ready in a few seconds."
          back={{ label: "Reload", href: c.req.path }}
        />,
        503,
      );
    }
    c.set("tenant", tenant);
    c.get("meter").tenant = tenant.id;
    // Events this request records go on the FORGE_EVENTS queue after the response (services/events/).
    c.set(
      "db",
      withEventFanout(lazyTenantDb(d1), {
        tenantId: tenant.id,
        queue: c.env.FORGE_EVENTS as Queue<EventMessage> | undefined,
        waitUntil: (work) => c.executionCtx.waitUntil(work),
      }),
    );
    await next();
  });

  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", "data:", "https:"],
        styleSrc: ["'self'"],
        scriptSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
      referrerPolicy: "strict-origin-when-cross-origin",
      crossOriginEmbedderPolicy: false,
      // A route that sets its own policy keeps it (raw files: a sandbox, not the pages' policy).
      overwrite: false,
    }),
  );

  app.use("*", sessionMiddleware);
  app.use("*", crossSiteGuard);

  app.route("/", tenantApi());
  app.all("/api/*", (c) => jsonError(c, 404, "not_found", `no API route ${c.req.method} ${c.req.path}`));
  app.route("/", gitRoutes);
  app.route("/", homeRoutes);
  app.route("/", accountRoutes);
  app.route("/", userRoutes);
  app.route("/", adminRoutes);
  app.route("/", projectRoutes);
  app.route("/", timelineRoutes);
  app.route("/", sourceRoutes);
  app.route("/", projectAdminRoutes);
  app.route("/", issueRoutes);
  app.route("/", downloadRoutes);
  app.route("/", wikiRoutes);
  app.notFound((c) => notFoundPage(c));
  app.onError(respondToError);
  return app;
}
