// The Gitea-compatible label routes: an issue's labels (by id or name) through the tracker's
// update service, and the repository's labels (the tracker's predefined ones) with their ids
// and colors (services/gitea/labels.ts).
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { component } from "../middleware/guards";
import { requireGiteaRepo } from "../middleware/api-guards";
import { updateIssue } from "../../services/issues";
import { loadConfig } from "../../services/issues/config";
import { deleteLabel, labelById, labelInfo, listLabels, resolveLabels, saveLabel } from "../../services/gitea/labels";
import { giteaLabel } from "../../services/gitea/model";
import { ForgeError } from "../../utils/errors";
import { pageOf, setPaginationHeaders } from "./responses";
import { giteaSite } from "./gitea-api";
import { actorOf, issueOr404 } from "./gitea-issues-api";
import { routes } from "./gitea-issues-routes";

type Ctx = Context<AppEnv>;

async function issueLabelsJson(c: Ctx, index: number) {
  const t = c.get("tracker");
  const db = c.get("db");
  const [d, config, site] = await Promise.all([issueOr404(c, t, index), loadConfig(db, t.project.id), giteaSite(c)]);
  const labelOf = await labelInfo(db, t.project.id, config);
  return d.labels.map((l) => giteaLabel(site, t.project, labelOf(l)));
}

async function labelNames(c: Ctx, refs: (number | string)[]) {
  const t = c.get("tracker");
  const db = c.get("db");
  return resolveLabels(db, t.project.id, await loadConfig(db, t.project.id), refs);
}

export function registerGiteaLabelsApi(app: OpenAPIHono<AppEnv>): void {
  const guard = requireGiteaRepo("labels");
  app.use("/api/v1/repos/:owner/:repo/labels", component("api.gitea.labels"), guard);
  app.use("/api/v1/repos/:owner/:repo/labels/*", component("api.gitea.labels"), guard);

  app.openapi(routes.issueLabels, async (c) => c.json(await issueLabelsJson(c, c.req.valid("param").index), 200));

  app.openapi(routes.addLabels, async (c) => {
    const { index } = c.req.valid("param");
    const t = c.get("tracker");
    const names = await labelNames(c, c.req.valid("json").labels);
    await updateIssue(c.get("db"), t.project, index, actorOf(t), { addLabels: names });
    return c.json(await issueLabelsJson(c, index), 200);
  });

  app.openapi(routes.replaceLabels, async (c) => {
    const { index } = c.req.valid("param");
    const t = c.get("tracker");
    const names = await labelNames(c, c.req.valid("json").labels);
    await updateIssue(c.get("db"), t.project, index, actorOf(t), { labels: names });
    return c.json(await issueLabelsJson(c, index), 200);
  });

  app.openapi(routes.clearLabels, async (c) => {
    const { index } = c.req.valid("param");
    const t = c.get("tracker");
    await updateIssue(c.get("db"), t.project, index, actorOf(t), { labels: [] });
    return c.body(null, 204);
  });

  app.openapi(routes.removeLabel, async (c) => {
    const { index, identity } = c.req.valid("param");
    const t = c.get("tracker");
    const d = await issueOr404(c, t, index);
    let name: string;
    try {
      [name] = (await labelNames(c, [/^\d+$/.test(identity) ? Number(identity) : identity])) as [string];
    } catch {
      throw new ForgeError("not_found", `There is no label ${identity} in this repository.`);
    }
    if (!d.labels.some((l) => l.toLowerCase() === name.toLowerCase())) {
      throw new ForgeError("not_found", `Issue ${index} has no label ${name}.`);
    }
    await updateIssue(c.get("db"), t.project, index, actorOf(t), { removeLabels: [name] });
    return c.body(null, 204);
  });

  app.openapi(routes.listLabels, async (c) => {
    const t = c.get("tracker");
    const db = c.get("db");
    const { page, limit } = pageOf(c.req.valid("query"));
    const all = await listLabels(db, t.project.id, await loadConfig(db, t.project.id));
    setPaginationHeaders(c, all.length, page, limit);
    const site = await giteaSite(c);
    return c.json(
      all.slice((page - 1) * limit, page * limit).map((l) => giteaLabel(site, t.project, l)),
      200,
    );
  });

  app.openapi(routes.createLabel, async (c) => {
    const t = c.get("tracker");
    const label = giteaLabel(
      await giteaSite(c),
      t.project,
      await saveLabel(c.get("db"), t.project.id, null, c.req.valid("json")),
    );
    c.header("Location", label.url);
    return c.json(label, 201);
  });

  app.openapi(routes.getLabel, async (c) => {
    const t = c.get("tracker");
    const db = c.get("db");
    const config = await loadConfig(db, t.project.id);
    const name = labelById(config, c.req.valid("param").id);
    return c.json(giteaLabel(await giteaSite(c), t.project, (await labelInfo(db, t.project.id, config))(name)), 200);
  });

  app.openapi(routes.editLabel, async (c) => {
    const t = c.get("tracker");
    const db = c.get("db");
    const name = labelById(await loadConfig(db, t.project.id), c.req.valid("param").id);
    const saved = await saveLabel(db, t.project.id, name, c.req.valid("json"));
    return c.json(giteaLabel(await giteaSite(c), t.project, saved), 200);
  });

  app.openapi(routes.deleteLabel, async (c) => {
    const t = c.get("tracker");
    const db = c.get("db");
    await deleteLabel(db, t.project.id, labelById(await loadConfig(db, t.project.id), c.req.valid("param").id));
    return c.body(null, 204);
  });
}
