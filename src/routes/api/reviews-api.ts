// The reviews REST API under /api/v1/projects/{project}/reviews: list, open (of a branch or of a
// patch series, and a series' new versions), read, status,
// comments (whole review or a line of a revision), verdicts and merge. canAccess decides: review
// read (and source read: reviews show code) to see, review write to take part, source write to
// change a status or merge.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { canAccess, deniedStatus } from "../../auth/access";
import { findProject } from "../../services/projects";
import {
  authorName,
  commentOnReview,
  type CommentView,
  getReview,
  listComments,
  listReviews,
  listRevisions,
  listVerdicts,
  mergeReview,
  addPatchRevision,
  openPatchReview,
  openReview,
  type Review,
  setStatus,
  setVerdict,
} from "../../services/reviews";
import { badRequest, ForgeError } from "../../utils/errors";
import { component } from "../middleware/guards";
import { apiIdentity } from "../middleware/session";
import { patchContext } from "../web/reviews/shared";
import { setPaginationHeaders } from "./responses";
import { REVIEWS_ROUTE_BASE, reviewRoutes as routes } from "./reviews-api-routes";

type Ctx = Context<AppEnv>;

const requireApiReviews: MiddlewareHandler<AppEnv> = async (c, next) => {
  const name = c.req.param("project") ?? "";
  const [{ viewer }, project] = await Promise.all([apiIdentity(c), findProject(c.get("db"), name)]);
  if (!project || !canAccess(viewer, project, "review", "read") || !canAccess(viewer, project, "source", "read"))
    throw new ForgeError("not_found", `project ${name} not found`);
  const write = c.req.method !== "GET" && c.req.method !== "HEAD";
  if (write && !canAccess(viewer, project, "review", "write")) {
    if (deniedStatus(viewer, project, "review", "write") === 401) {
      c.header("WWW-Authenticate", 'token realm="edgeforge"');
      throw new ForgeError("unauthorized", "Sign in, or send Authorization: token <API token>.");
    }
    throw new ForgeError(
      "forbidden",
      viewer.scope !== "write" ? "This token is read-only." : "You may not take part in this project's reviews.",
    );
  }
  c.set("project", project);
  c.set("viewer", viewer);
  await next();
};

async function actorOf(c: Ctx) {
  const { user } = await apiIdentity(c);
  if (!user) throw new ForgeError("unauthorized", "Sign in, or send Authorization: token <API token>.");
  return { id: user.id, username: user.username };
}

const encoder = new TextEncoder();

function requireManage(c: Ctx): void {
  if (!canAccess(c.get("viewer"), c.get("project"), "source", "write"))
    throw new ForgeError("forbidden", "Only those who may push to this repository change a review's status or merge it.");
}

function urls(c: Ctx, n: number) {
  const origin = new URL(c.req.url).origin;
  const p = encodeURIComponent(c.get("project").name);
  return { html_url: `${origin}/p/${p}/reviews/${n}`, url: `${origin}/api/v1/projects/${p}/reviews/${n}` };
}

function reviewJson(c: Ctx, r: Review, author: string | null) {
  return {
    number: r.number,
    title: r.title,
    description: r.description,
    status: r.status as "open",
    author,
    kind: r.kind as "branch" | "patches",
    source_branch: r.kind === "patches" ? null : r.sourceBranch,
    target_branch: r.targetBranch,
    merged_oid: r.mergedOid,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
    ...urls(c, r.number),
  };
}

async function detailJson(c: Ctx, r: Review) {
  const db = c.get("db");
  const [revisions, verdicts, author] = await Promise.all([listRevisions(db, r.id), listVerdicts(db, r.id), authorName(db, r)]);
  return {
    ...reviewJson(c, r, author),
    revisions: revisions.map((v) => ({ number: v.number, head: v.headOid, base: v.baseOid, created_at: v.createdAt })),
    verdicts: verdicts.map((v) => ({ user: v.user, verdict: v.verdict, revision: v.revision, updated_at: v.updatedAt })),
  };
}

const commentJson = (cm: CommentView) => ({
  id: cm.id,
  author: cm.author,
  body: cm.body,
  revision: cm.revision,
  path: cm.path,
  side: cm.side,
  line: cm.line,
  line_text: cm.lineText,
  outdated: cm.outdatedRevision !== null,
  outdated_revision: cm.outdatedRevision,
  created_at: cm.createdAt,
});

export function registerReviewsApi(app: OpenAPIHono<AppEnv>): void {
  app.use(REVIEWS_ROUTE_BASE, component("api.reviews"), requireApiReviews);
  app.use(`${REVIEWS_ROUTE_BASE}/*`, component("api.reviews"), requireApiReviews);
  const review = (c: Ctx, n: number) => getReview(c.get("db"), c.get("project").id, n);

  app.openapi(routes.list, async (c) => {
    const { page, limit, status } = c.req.valid("query");
    const { items, total } = await listReviews(c.get("db"), c.get("project").id, { status, offset: (page - 1) * limit, limit });
    setPaginationHeaders(c, total, page, limit);
    return c.json(
      items.map((r) => reviewJson(c, r, r.author)),
      200,
    );
  });

  app.openapi(routes.create, async (c) => {
    const body = c.req.valid("json");
    if ((body.patches === undefined) === (body.source === undefined))
      throw badRequest("A review is of a source branch (source) or of a patch series (patches): give one of them.");
    const r =
      body.patches !== undefined
        ? await openPatchReview(patchContext(c, await actorOf(c)), { ...body, series: encoder.encode(body.patches) })
        : await openReview(c.env, c.get("db"), c.get("tenant").id, c.get("project"), await actorOf(c), {
            ...body,
            title: body.title ?? "",
            source: body.source ?? "",
          });
    c.header("Location", urls(c, r.number).url);
    return c.json(await detailJson(c, r), 201);
  });

  app.openapi(routes.get, async (c) => c.json(await detailJson(c, await review(c, c.req.valid("param").number)), 200));

  app.openapi(routes.update, async (c) => {
    requireManage(c);
    const r = await review(c, c.req.valid("param").number);
    await setStatus(c.get("db"), c.get("project").id, r, await actorOf(c), c.req.valid("json").status);
    return c.json(await detailJson(c, await review(c, r.number)), 200);
  });

  app.openapi(routes.comments, async (c) => {
    const r = await review(c, c.req.valid("param").number);
    return c.json((await listComments(c.get("db"), r.id)).map(commentJson), 200);
  });

  app.openapi(routes.comment, async (c) => {
    const r = await review(c, c.req.valid("param").number);
    const { id } = await commentOnReview(
      c.env,
      c.get("db"),
      c.get("tenant").id,
      c.get("project"),
      r,
      await actorOf(c),
      c.req.valid("json"),
    );
    const made = (await listComments(c.get("db"), r.id)).find((cm) => cm.id === id)!;
    return c.json(commentJson(made), 201);
  });

  app.openapi(routes.verdict, async (c) => {
    const r = await review(c, c.req.valid("param").number);
    const revisions = await listRevisions(c.get("db"), r.id);
    await setVerdict(
      c.get("db"),
      c.get("project").id,
      r,
      await actorOf(c),
      c.req.valid("json").verdict,
      revisions[revisions.length - 1]!.number,
    );
    return c.json(await detailJson(c, r), 200);
  });

  app.openapi(routes.revision, async (c) => {
    const r = await review(c, c.req.valid("param").number);
    const { patches, base } = c.req.valid("json");
    const manage = canAccess(c.get("viewer"), c.get("project"), "source", "write");
    await addPatchRevision(
      patchContext(c, await actorOf(c)),
      r,
      { series: encoder.encode(patches), target: r.targetBranch, base },
      manage,
    );
    return c.json(await detailJson(c, r), 201);
  });

  app.openapi(routes.merge, async (c) => {
    requireManage(c);
    const r = await review(c, c.req.valid("param").number);
    const result = await mergeReview(c.env, c.get("db"), patchContext(c, await actorOf(c)), r);
    return c.json(result, 200);
  });
}
