// The wiki's REST API under /api/v1/projects/{project}/wiki: pages (current or any revision, as
// Markdown and rendered HTML), saves conditional on the base revision (409 otherwise), revisions,
// and files. Every answer goes through canAccess (requireApiWiki).
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { component } from "../middleware/guards";
import { requireApiWiki } from "../middleware/api-guards";
import {
  deletePage,
  deleteRevision,
  findResource,
  listPages,
  listResources,
  listRevisions,
  requirePage,
  requireRevision,
  resourceResponse,
  savePage,
  uploadResource,
  type ResourceInfo,
  type WikiPage,
} from "../../services/wiki";
import { ForgeError } from "../../utils/errors";
import { wikiMarkdownOptions } from "../web/wiki/shared";
import { renderMarkdown } from "../../views/markdown";
import { WIKI_ROUTE_BASE, wikiRoutes as routes } from "./wiki-api-routes";

type Ctx = Context<AppEnv>;

function urls(c: Ctx, page: string) {
  const origin = new URL(c.req.url).origin;
  const p = encodeURIComponent(c.get("wiki").project.name);
  const n = encodeURIComponent(page);
  return { html_url: `${origin}/p/${p}/wiki/${n}`, url: `${origin}/api/v1/projects/${p}/wiki/pages/${n}` };
}

const actorOf = (c: Ctx) => {
  const user = c.get("wiki").user;
  if (!user) throw new ForgeError("unauthorized", "Sign in, or send Authorization: token <API token>.");
  return { id: user.id, username: user.username };
};

/** A page as JSON: its current revision, or revision `number`. */
async function pageJson(c: Ctx, page: WikiPage, number?: number) {
  const db = c.get("db");
  const rev = await requireRevision(db, page, number ?? page.revision);
  const { links, opts } = await wikiMarkdownOptions(c, page.name, rev.body);
  return {
    name: page.name,
    title: rev.title,
    labels: rev.labels,
    revision: rev.number,
    current_revision: page.revision,
    content: rev.body,
    html: renderMarkdown(rev.body, links, undefined, opts),
    author: rev.author,
    comment: rev.comment,
    updated_at: rev.createdAt,
    ...urls(c, page.name),
  };
}

function resourceJson(c: Ctx, page: string, r: ResourceInfo) {
  return {
    name: r.name,
    revision: r.number,
    content_type: r.contentType,
    size: r.size,
    comment: r.comment,
    uploader: r.uploader,
    created_at: r.createdAt,
    browser_download_url: `${urls(c, page).html_url}/resources/${encodeURIComponent(r.name)}?revision=${r.number}`,
  };
}

export function registerWikiApi(app: OpenAPIHono<AppEnv>): void {
  app.use(`${WIKI_ROUTE_BASE}/*`, component("api.wiki"), requireApiWiki);

  app.openapi(routes.list, async (c) => {
    const w = c.get("wiki");
    const pages = await listPages(c.get("db"), w.project.id, { label: c.req.valid("query").label });
    return c.json(
      pages.map((p) => ({
        name: p.name,
        title: p.title,
        labels: p.labels,
        revision: p.revision,
        updated_at: p.updatedAt,
        ...urls(c, p.name),
      })),
      200,
    );
  });

  app.openapi(routes.create, async (c) => {
    const w = c.get("wiki");
    const body = c.req.valid("json");
    const saved = await savePage(c.get("db"), w.project.id, actorOf(c), {
      name: body.name,
      title: body.title,
      body: body.content,
      labels: body.labels ?? [],
      comment: body.message,
      baseRevision: null,
    });
    c.header("Location", urls(c, saved.page.name).url);
    return c.json(await pageJson(c, saved.page), 201);
  });

  app.openapi(routes.get, async (c) => {
    const { page } = c.req.valid("param");
    const p = await requirePage(c.get("db"), c.get("wiki").project.id, page);
    return c.json(await pageJson(c, p, c.req.valid("query").revision), 200);
  });

  app.openapi(routes.update, async (c) => {
    const { page } = c.req.valid("param");
    const body = c.req.valid("json");
    const w = c.get("wiki");
    const p = await requirePage(c.get("db"), w.project.id, page);
    const saved = await savePage(c.get("db"), w.project.id, actorOf(c), {
      name: p.name,
      title: body.title,
      body: body.content,
      labels: body.labels,
      comment: body.message,
      baseRevision: body.base_revision,
    });
    return c.json(await pageJson(c, saved.page), 200);
  });

  app.openapi(routes.remove, async (c) => {
    const w = c.get("wiki");
    const p = await requirePage(c.get("db"), w.project.id, c.req.valid("param").page);
    await deletePage(c.get("db"), c.env.OBJECTS, w.project.id, actorOf(c), p);
    return c.body(null, 204);
  });

  app.openapi(routes.revisions, async (c) => {
    const p = await requirePage(c.get("db"), c.get("wiki").project.id, c.req.valid("param").page);
    const revisions = await listRevisions(c.get("db"), p);
    return c.json(
      revisions.map((r) => ({
        number: r.number,
        title: r.title,
        labels: r.labels,
        comment: r.comment,
        author: r.author,
        created_at: r.createdAt,
      })),
      200,
    );
  });

  app.openapi(routes.revision, async (c) => {
    const { page, revision } = c.req.valid("param");
    const p = await requirePage(c.get("db"), c.get("wiki").project.id, page);
    return c.json(await pageJson(c, p, revision), 200);
  });

  app.openapi(routes.deleteRevision, async (c) => {
    const { page, revision } = c.req.valid("param");
    const w = c.get("wiki");
    const p = await requirePage(c.get("db"), w.project.id, page);
    await deleteRevision(c.get("db"), w.project.id, actorOf(c), p, revision);
    return c.body(null, 204);
  });

  app.openapi(routes.resources, async (c) => {
    const p = await requirePage(c.get("db"), c.get("wiki").project.id, c.req.valid("param").page);
    const files = await listResources(c.get("db"), p);
    return c.json(
      files.map((r) => ({ ...resourceJson(c, p.name, r), revisions: r.revisions })),
      200,
    );
  });

  app.openapi(routes.upload, async (c) => {
    const w = c.get("wiki");
    const p = await requirePage(c.get("db"), w.project.id, c.req.valid("param").page);
    const { name, message } = c.req.valid("query");
    const maxBytes = c.get("tenant").plan.maxUploadBytes;
    if (Number(c.req.header("content-length") ?? "0") > maxBytes)
      throw new ForgeError("payload_too_large", `The file is larger than this forge's limit of ${maxBytes} bytes.`);
    const raw = c.req.raw.body;
    if (!raw) throw new ForgeError("bad_request", "Send the file as the request body.");
    const info = await uploadResource(
      c.get("db"),
      { bucket: c.env.OBJECTS, tenantId: c.get("tenant").id, maxBytes },
      p,
      actorOf(c),
      name,
      raw,
      message ?? "",
    );
    return c.json(resourceJson(c, p.name, info), 201);
  });

  app.openapi(routes.resource, async (c) => {
    const { page, name } = c.req.valid("param");
    const p = await requirePage(c.get("db"), c.get("wiki").project.id, page);
    const r = await findResource(c.get("db"), p, name, c.req.valid("query").revision);
    const res = r ? await resourceResponse(c.env.OBJECTS, c.get("tenant").id, r) : null;
    if (!res) throw new ForgeError("not_found", `${name} not found on wiki page ${p.name}`);
    return res as never;
  });
}
