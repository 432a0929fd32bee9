// The wiki of a project: its index (all pages, by label, a form to start one), full-text search,
// the owners' settings (phases), and every wiki route mounted under /p/<project>/wiki.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component, requireWiki } from "../../middleware/guards";
import { showFormErrors } from "../../middleware/errors";
import { allowedLabels, listPages, loadPhases, pageNameOf, savePhases, searchWiki, wikiMatch } from "../../../services/wiki";
import { WikiIndex, WikiSearch, WikiSettings, pageHref } from "../../../views/wiki/frame";
import { readForm } from "../helpers";
import { frameOf } from "./shared";
import { wikiPageRoutes } from "./page";
import { wikiResourceRoutes } from "./resources";

export const wikiRoutes = new Hono<AppEnv>();

wikiRoutes.get("/p/:project/wiki/", (c) => c.redirect(`/p/${encodeURIComponent(c.req.param("project"))}/wiki`, 301));

wikiRoutes.get("/p/:project/wiki", component("web.wiki.index"), requireWiki("read"), async (c) => {
  const w = c.get("wiki");
  const db = c.get("db");
  const create = c.req.query("create");
  let error: string | undefined;
  if (create !== undefined && w.canWrite) {
    const name = pageNameOf(create);
    if (name) return c.redirect(`${pageHref(w.project.name, name)}/edit`, 303);
    error = `"${create.slice(0, 40)}" is not a page name: use letters, digits, - and _ (spaces become -).`;
  }
  const label = c.req.query("label")?.slice(0, 60) || undefined;
  const [pages, phases] = await Promise.all([listPages(db, w.project.id, { label }), loadPhases(db, w.project.id)]);
  const deleted = c.req.query("deleted");
  return c.html(
    <WikiIndex
      frame={frameOf(c, label ? `Pages labelled ${label}` : "Wiki", "index")}
      m={{
        pages,
        label,
        allLabels: allowedLabels(phases),
        error,
        newName: create,
        notice: deleted ? `Page ${deleted} was deleted.` : undefined,
      }}
    />,
    error ? 400 : 200,
  );
});

wikiRoutes.get("/p/:project/wiki-search", component("web.wiki.search"), requireWiki("read"), async (c) => {
  const w = c.get("wiki");
  const q = (c.req.query("q") ?? "").slice(0, 500);
  const match = wikiMatch(q);
  const hits = match ? await searchWiki(c.get("db"), w.project.id, match) : null;
  return c.html(<WikiSearch frame={frameOf(c, "Search the wiki", "search", [{ label: "Search" }], q)} q={q} hits={hits} />);
});

wikiRoutes.get("/p/:project/wiki-settings", component("web.wiki.settings"), requireWiki("configure"), async (c) => {
  const w = c.get("wiki");
  const phases = await loadPhases(c.get("db"), w.project.id);
  return c.html(
    <WikiSettings
      frame={frameOf(c, "Wiki settings", "settings", [{ label: "Settings" }])}
      phases={phases}
      saved={c.req.query("ok") === "1"}
    />,
  );
});

wikiRoutes.post("/p/:project/wiki-settings", component("web.wiki.settings"), requireWiki("configure"), async (c) => {
  const w = c.get("wiki");
  const fields = await readForm(c);
  showFormErrors(c, (f) =>
    c.html(
      <WikiSettings
        frame={frameOf(c, "Wiki settings", "settings", [{ label: "Settings" }])}
        phases={(fields.phases ?? "").split(/\s+/).filter(Boolean)}
        error={f.message}
      />,
      f.status as 400,
    ),
  );
  await savePhases(c.get("db"), w.project.id, fields.phases ?? "");
  return c.redirect(`/p/${encodeURIComponent(w.project.name)}/wiki-settings?ok=1`, 303);
});

wikiRoutes.route("/", wikiResourceRoutes);
wikiRoutes.route("/", wikiPageRoutes);
