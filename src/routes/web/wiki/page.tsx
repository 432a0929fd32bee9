// One wiki page: reading it (current or an old revision), writing it (create, edit, revert),
// its history and diffs, and deleting a revision or the whole page. Every change is a POST.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { component, requireWiki } from "../../middleware/guards";
import { showFormErrors } from "../../middleware/errors";
import {
  allowedLabels,
  deletePage,
  deleteRevision,
  diffRevisions,
  findPage,
  listResources,
  listRevisions,
  loadPhases,
  requirePage,
  requirePageName,
  requireRevision,
  revertPage,
  savePage,
  defaultTitle,
  type WikiPage,
} from "../../../services/wiki";
import { isWatching } from "../../../services/notifications/watches";
import { WikiDiff, WikiEdit, WikiHistory, WikiPageView, type EditModel } from "../../../views/wiki/page";
import { WikiFrame, pageHref, wikiBase } from "../../../views/wiki/frame";
import { Notice } from "../../../views/forms";
import { actorOf, frameOf, pageCrumbs, readWikiForm, renderWikiText, revisionNumber, type Ctx } from "./shared";

export const wikiPageRoutes = new Hono<AppEnv>();

const P = "/p/:project/wiki/:page";

/** The page of the URL, or a 404 page that offers to create it (to those who may). */
async function pageOr404(c: Ctx): Promise<WikiPage | Response> {
  const w = c.get("wiki");
  const name = requirePageName(c.req.param("page") ?? "");
  const page = await findPage(c.get("db"), w.project.id, name);
  if (page) return page;
  return c.html(
    <WikiFrame {...frameOf(c, name, "page", [{ label: name }])}>
      <h1>No page {name} yet</h1>
      <Notice kind="info">
        This wiki has no page called {name}.{" "}
        {w.canWrite ? (
          <a href={`${pageHref(w.project.name, name)}/edit`}>Create this page</a>
        ) : (
          <a href={wikiBase(w.project.name)}>See all pages</a>
        )}
      </Notice>
    </WikiFrame>,
    404,
  );
}

async function showPage(c: Ctx, page: WikiPage, revision?: number, notice?: string) {
  const db = c.get("db");
  const rev = revision === undefined ? undefined : await requireRevision(db, page, revision);
  const user = c.get("wiki").user;
  const [latest, resources, watching] = await Promise.all([
    rev ? Promise.resolve(undefined) : listRevisions(db, page).then((r) => r[0]),
    listResources(db, page),
    user ? isWatching(db, user.id, page.projectId, "wiki", page.id) : undefined,
  ]);
  const body = rev?.body ?? page.body;
  const { html, toc } = await renderWikiText(c, page.name, body);
  const title = rev?.title ?? page.title;
  return c.html(
    <WikiPageView
      frame={frameOf(
        c,
        title,
        "page",
        pageCrumbs(c.get("wiki"), page.name, page.title, rev ? `Revision ${rev.number}` : undefined),
      )}
      m={{
        name: page.name,
        title,
        labels: rev?.labels ?? page.labels.split(" ").filter(Boolean),
        revision: rev?.number ?? page.revision,
        updatedAt: rev?.createdAt ?? page.updatedAt,
        author: rev ? rev.author : (latest?.author ?? null),
        html,
        toc,
        resources,
        oldRevision: rev ? { number: rev.number, current: page.revision, comment: rev.comment } : undefined,
        notice,
        watching,
      }}
    />,
  );
}

wikiPageRoutes.get(P, component("web.wiki.page"), requireWiki("read"), async (c) => {
  const page = await pageOr404(c);
  if (page instanceof Response) return page;
  const saved = c.req.query("saved");
  const uploaded = c.req.query("uploaded");
  const notice =
    saved && /^\d+$/.test(saved) ? `Saved as revision ${saved}.` : uploaded ? `Uploaded ${uploaded.slice(0, 100)}.` : undefined;
  return showPage(c, page, undefined, notice);
});

wikiPageRoutes.get(`${P}/revisions/:n`, component("web.wiki.revision"), requireWiki("read"), async (c) => {
  const page = await pageOr404(c);
  if (page instanceof Response) return page;
  return showPage(c, page, revisionNumber(c.req.param("n")));
});

// Writing

async function editPage(c: Ctx, name: string, draft: Partial<EditModel>, status = 200) {
  const w = c.get("wiki");
  const [page, phases] = await Promise.all([findPage(c.get("db"), w.project.id, name), loadPhases(c.get("db"), w.project.id)]);
  const m: EditModel = {
    name: page?.name ?? name,
    title: draft.title ?? page?.title ?? defaultTitle(name),
    body: draft.body ?? page?.body ?? "",
    labels: draft.labels ?? page?.labels.split(" ").filter(Boolean) ?? [],
    allowedLabels: allowedLabels(phases),
    comment: draft.comment ?? "",
    base: draft.base !== undefined ? draft.base : (page?.revision ?? null),
    error: draft.error,
  };
  const crumbs = page ? pageCrumbs(w, page.name, page.title, "Edit") : [{ label: `New page ${name}` }];
  return c.html(<WikiEdit frame={frameOf(c, `Edit ${m.name}`, page ? "page" : "new", crumbs)} m={m} />, status as 200);
}

wikiPageRoutes.get(`${P}/edit`, component("web.wiki.edit"), requireWiki("write"), (c) =>
  editPage(c, requirePageName(c.req.param("page") ?? ""), {}),
);

wikiPageRoutes.post(`${P}/edit`, component("web.wiki.edit"), requireWiki("write"), async (c) => {
  const w = c.get("wiki");
  const name = requirePageName(c.req.param("page") ?? "");
  const { fields, labels } = await readWikiForm(c);
  const base = fields.base ? revisionNumber(fields.base, "base revision") : null;
  const draft = { title: fields.title ?? "", body: fields.body ?? "", labels, comment: fields.comment ?? "", base };
  showFormErrors(c, (f) => editPage(c, name, { ...draft, error: f.message }, f.status));
  const saved = await savePage(c.get("db"), w.project.id, actorOf(c), { ...draft, name, baseRevision: base });
  return c.redirect(`${pageHref(w.project.name, saved.page.name)}?saved=${saved.revision}`, 303);
});

wikiPageRoutes.post(`${P}/delete`, component("web.wiki.delete"), requireWiki("write"), async (c) => {
  const w = c.get("wiki");
  const page = await requirePage(c.get("db"), w.project.id, c.req.param("page") ?? "");
  await deletePage(c.get("db"), c.env.OBJECTS, w.project.id, actorOf(c), page);
  return c.redirect(`${wikiBase(w.project.name)}?deleted=${encodeURIComponent(page.name)}`, 303);
});

// History

async function historyPage(c: Ctx, page: WikiPage, notice?: string, status = 200) {
  const revisions = await listRevisions(c.get("db"), page);
  return c.html(
    <WikiHistory
      frame={frameOf(c, `History of ${page.name}`, "page", pageCrumbs(c.get("wiki"), page.name, page.title, "History"))}
      name={page.name}
      current={page.revision}
      revisions={revisions}
      notice={notice}
    />,
    status as 200,
  );
}

wikiPageRoutes.get(`${P}/history`, component("web.wiki.history"), requireWiki("read"), async (c) => {
  const page = await pageOr404(c);
  if (page instanceof Response) return page;
  const done = c.req.query("deleted");
  return historyPage(c, page, done && /^\d+$/.test(done) ? `Revision ${done} was deleted.` : undefined);
});

wikiPageRoutes.get(`${P}/diff`, component("web.wiki.diff"), requireWiki("read"), async (c) => {
  const page = await pageOr404(c);
  if (page instanceof Response) return page;
  const from = revisionNumber(c.req.query("from"), "from revision");
  const to = revisionNumber(c.req.query("to") ?? String(page.revision), "to revision");
  const d = await diffRevisions(c.get("db"), page, from, to);
  return c.html(
    <WikiDiff
      frame={frameOf(c, `${page.name}: ${from} → ${to}`, "page", pageCrumbs(c.get("wiki"), page.name, page.title, "Diff"))}
      name={page.name}
      from={d.from}
      to={d.to}
      hunks={d.hunks}
    />,
  );
});

wikiPageRoutes.post(`${P}/revisions/:n/revert`, component("web.wiki.revert"), requireWiki("write"), async (c) => {
  const w = c.get("wiki");
  const page = await requirePage(c.get("db"), w.project.id, c.req.param("page") ?? "");
  const number = revisionNumber(c.req.param("n"));
  const { fields } = await readWikiForm(c);
  const base = revisionNumber(fields.base, "base revision");
  const saved = await revertPage(c.get("db"), w.project.id, actorOf(c), page, number, base);
  return c.redirect(`${pageHref(w.project.name, page.name)}?saved=${saved.revision}`, 303);
});

wikiPageRoutes.post(`${P}/revisions/:n/delete`, component("web.wiki.delete-revision"), requireWiki("write"), async (c) => {
  const w = c.get("wiki");
  const page = await requirePage(c.get("db"), w.project.id, c.req.param("page") ?? "");
  const number = revisionNumber(c.req.param("n"));
  await deleteRevision(c.get("db"), w.project.id, actorOf(c), page, number);
  return c.redirect(`${pageHref(w.project.name, page.name)}/history?deleted=${number}`, 303);
});
