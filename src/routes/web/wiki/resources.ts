// A wiki page's files: uploads (multipart, streamed into R2 as they arrive) and serving them
// (the current revision, or ?revision=N), streamed with a type that cannot run script here.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component, requireWiki } from "../../middleware/guards";
import {
  ResourceSink,
  findResource,
  recordResource,
  requirePage,
  requireResourceName,
  resourceResponse,
} from "../../../services/wiki";
import { cleanFilename } from "../../../services/issues/attachments";
import { pageHref } from "../../../views/wiki/frame";
import { ForgeError } from "../../../utils/errors";
import { multipartBoundary, readMultipart } from "../../../utils/multipart";
import { notFoundPage } from "../errors";
import { actorOf, revisionNumber } from "./shared";

export const wikiResourceRoutes = new Hono<AppEnv>();

const P = "/p/:project/wiki/:page/resources";

wikiResourceRoutes.post(P, component("web.wiki.upload"), requireWiki("write"), async (c) => {
  const w = c.get("wiki");
  const db = c.get("db");
  const page = await requirePage(db, w.project.id, c.req.param("page") ?? "");
  const boundary = multipartBoundary(c.req.header("content-type"));
  const body = c.req.raw.body;
  if (!boundary || !body) throw new ForgeError("bad_request", "Send the file from the page's upload form (multipart/form-data).");
  const target = { bucket: c.env.OBJECTS, tenantId: c.get("tenant").id, maxBytes: c.get("tenant").plan.maxUploadBytes };
  let sink: ResourceSink | null = null;
  const fields: Record<string, string> = {};
  try {
    await readMultipart(
      body,
      boundary,
      {
        maxFieldBytes: 16 * 1024,
        maxParts: 6,
        onFile: async (part) => {
          if (part.field !== "file") return null;
          if (sink) throw new ForgeError("bad_request", "Upload one file at a time.");
          // The form sends the name field before the file: it names the resource when filled in.
          sink = new ResourceSink(
            target,
            page.projectId,
            requireResourceName(fields.name?.trim() || cleanFilename(part.filename)),
          );
          return sink;
        },
      },
      fields,
    );
  } catch (err) {
    await (sink as ResourceSink | null)?.abort();
    throw err;
  }
  const stored = sink as ResourceSink | null;
  if (!stored) throw new ForgeError("bad_request", "Choose a file to upload.");
  const info = await recordResource(db, c.env.OBJECTS, page, actorOf(c), stored, fields.comment ?? "");
  return c.redirect(`${pageHref(w.project.name, page.name)}?uploaded=${encodeURIComponent(info.name)}#files`, 303);
});

wikiResourceRoutes.get(`${P}/:name`, component("web.wiki.resource"), requireWiki("read"), async (c) => {
  const w = c.get("wiki");
  const db = c.get("db");
  const page = await requirePage(db, w.project.id, c.req.param("page") ?? "");
  const rev = c.req.query("revision");
  const r = await findResource(db, page, c.req.param("name") ?? "", rev === undefined ? undefined : revisionNumber(rev));
  const res = r ? await resourceResponse(c.env.OBJECTS, c.get("tenant").id, r) : null;
  return res ?? notFoundPage(c);
});
