// Watching a project or a wiki page (issues: the star of issues/issue-page.tsx): POST forms that
// add or remove the watch and go back to the page. Only readers of the thing may watch it.
import { Hono } from "hono";
import type { AppEnv } from "../context";
import { component, requireProjectPage, requireUser, requireWiki } from "../middleware/guards";
import { readForm } from "./helpers";
import { setWatch } from "../../services/notifications/watches";
import { findPage, requirePageName } from "../../services/wiki";
import { notFoundPage } from "./errors";
import { pageHref } from "../../views/wiki/frame";

export const watchRoutes = new Hono<AppEnv>();

watchRoutes.post("/p/:project/watch", component("web.project.watch"), requireUser, requireProjectPage, async (c) => {
  const project = c.get("project");
  const form = await readForm(c);
  await setWatch(c.get("db"), c.get("user").id, project.id, "project", 0, form.watch !== "0");
  return c.redirect(`/p/${encodeURIComponent(project.name)}/`, 303);
});

watchRoutes.post("/p/:project/wiki/:page/watch", component("web.wiki.watch"), requireUser, requireWiki("read"), async (c) => {
  const w = c.get("wiki");
  const page = await findPage(c.get("db"), w.project.id, requirePageName(c.req.param("page") ?? ""));
  if (!page) return notFoundPage(c);
  const form = await readForm(c);
  await setWatch(c.get("db"), w.user!.id, w.project.id, "wiki", page.id, form.watch !== "0");
  return c.redirect(pageHref(w.project.name, page.name), 303);
});
