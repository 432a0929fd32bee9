// The project timeline: one stream of what happened (pushes, issues, wiki, downloads, reviews),
// filtered by kind (?kind=push,issue), paged by id (?before=), as a page and as an Atom feed.
// Entries of areas the viewer cannot read are left out; feed readers authenticate with the
// user's feed token (?token=), checked exactly like a session.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../context";
import { component, requireProjectPage } from "../middleware/guards";
import { webViewer } from "../middleware/session";
import { type Viewer, canAccess } from "../../auth/access";
import { feedTokenUser } from "../../services/feed-tokens";
import { loadViewer } from "../../services/members";
import { findProjectForView, type Project } from "../../services/projects";
import { EVENT_AREA, EVENT_KINDS, type EventKind, isEventKind, listEvents } from "../../services/timeline";
import { ForgeError } from "../../utils/errors";
import { atomDocument } from "../../views/atom";
import { Layout } from "../../views/layout";
import { TimelineEntries, entryView, kindLabel } from "../../views/timeline";
import { notFoundPage } from "./errors";

export const timelineRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;

const PAGE_SIZE = 50;
const FEED_SIZE = 50;

/** The kinds of events the viewer may read in this project. */
export function readableKinds(viewer: Viewer, project: Project): EventKind[] {
  return EVENT_KINDS.filter((k) => canAccess(viewer, project, EVENT_AREA[k], "read"));
}

/** ?kind=push,issue (or kind=push&kind=issue, as a form sends it): the chosen kinds; none: all. */
function chosenKinds(c: Ctx): EventKind[] | null {
  const raw = (c.req.queries("kind") ?? []).flatMap((v) => v.split(",")).filter((v) => v !== "");
  if (raw.length === 0) return null;
  const bad = raw.find((k) => !isEventKind(k));
  if (bad !== undefined) {
    throw new ForgeError("bad_request", `There is no kind of event "${bad.slice(0, 40)}"; use ${EVENT_KINDS.join(", ")}.`);
  }
  return [...new Set(raw as EventKind[])];
}

function beforeId(c: Ctx): number | undefined {
  const raw = c.req.query("before");
  if (raw === undefined) return undefined;
  const n = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new ForgeError("bad_request", "The page to show (?before=) must be an event number.");
  return n;
}

const base = (project: string) => `/p/${encodeURIComponent(project)}`;

/** The timeline's URL for these kinds (null: all) and page. */
export function timelineHref(project: string, opts: { kinds?: EventKind[] | null; before?: number; atom?: boolean } = {}) {
  const q = new URLSearchParams();
  if (opts.kinds?.length) q.set("kind", opts.kinds.join(","));
  if (opts.before !== undefined) q.set("before", String(opts.before));
  const s = q.toString().replaceAll("%2C", ",");
  return `${base(project)}/timeline${opts.atom ? ".atom" : ""}${s ? `?${s}` : ""}`;
}

timelineRoutes.get("/p/:project/timeline", component("web.timeline"), requireProjectPage, async (c) => {
  const project = c.get("project");
  const viewer = c.get("viewer");
  const chosen = chosenKinds(c);
  const before = beforeId(c);
  const readable = readableKinds(viewer, project);
  const kinds = chosen ? readable.filter((k) => chosen.includes(k)) : readable;
  const page = await listEvents(c.get("db"), project.id, { kinds, before, limit: PAGE_SIZE });
  const entries = page.events.map((e) => entryView(project.name, e));
  const feedHref = timelineHref(project.name, { kinds: chosen, atom: true });
  return c.html(
    <Layout
      title={`Timeline · ${project.name}`}
      forgeName={c.get("tenant").name}
      crumbs={[{ label: project.name, href: `${base(project.name)}/` }, { label: "Timeline" }]}
      project={{ project, viewer, current: "timeline" }}
      feeds={[{ title: `${project.name} timeline`, href: feedHref }]}
    >
      <div class="actions">
        <h1>Timeline</h1>
        <a class="feed" href={feedHref}>
          Atom feed
        </a>
      </div>
      <form method="get" action={`${base(project.name)}/timeline`} class="tlfilter">
        <fieldset>
          <legend>Show</legend>
          {readable.map((k) => (
            <label class="check">
              <input type="checkbox" name="kind" value={k} checked={!chosen || chosen.includes(k)} /> {kindLabel(k)}
            </label>
          ))}
          <button type="submit">Filter</button>
        </fieldset>
      </form>
      {entries.length ? (
        <TimelineEntries entries={entries} />
      ) : (
        <p class="muted">{before ? "No older events." : "Nothing has happened here yet that you can see."}</p>
      )}
      {(before !== undefined || page.older !== null) && (
        <nav class="pager" aria-label="Pages">
          {before !== undefined && (
            <a href={timelineHref(project.name, { kinds: chosen })} rel="first">
              ← Newest
            </a>
          )}{" "}
          {page.older !== null && (
            <a href={timelineHref(project.name, { kinds: chosen, before: page.older })} rel="next">
              Older →
            </a>
          )}
        </nav>
      )}
    </Layout>,
  );
});

/**
 * Who reads a feed: the owner of ?token= (a feed token: it reads, never writes), else the session.
 * A wrong token is a 404, as for a project the reader may not see.
 */
async function feedViewer(c: Ctx): Promise<Viewer | null> {
  const token = c.req.query("token");
  if (token === undefined) return webViewer(c);
  const user = await feedTokenUser(c.get("db"), token);
  return user ? loadViewer(c.get("db"), user, "read") : null;
}

timelineRoutes.get("/p/:project/timeline.atom", component("web.timeline.feed"), async (c) => {
  const project = await findProjectForView(c.get("db"), c.get("tenant").id, c.req.param("project") ?? "");
  const viewer = await feedViewer(c);
  if (!project || !viewer || !canAccess(viewer, project, "project", "read")) return notFoundPage(c);
  const chosen = chosenKinds(c);
  const readable = readableKinds(viewer, project);
  const kinds = chosen ? readable.filter((k) => chosen.includes(k)) : readable;
  const { events } = await listEvents(c.get("db"), project.id, { kinds, limit: FEED_SIZE });
  const url = new URL(c.req.url);
  const origin = url.origin;
  const idBase = `tag:${url.hostname},2024:${project.id}`;
  const body = atomDocument({
    id: `${idBase}/timeline${chosen ? `/${[...chosen].sort().join(",")}` : ""}`,
    title: `${project.name} timeline${chosen ? ` (${chosen.map(kindLabel).join(", ")})` : ""} · ${c.get("tenant").name}`,
    // The self link names the feed without the reader's token, which must not travel further.
    self: `${origin}${timelineHref(project.name, { kinds: chosen, atom: true })}`,
    alternate: `${origin}${timelineHref(project.name, { kinds: chosen })}`,
    updated: events[0]?.createdAt ?? project.updatedAt,
    entries: events.map((e) => {
      const v = entryView(project.name, e);
      return {
        id: `${idBase}/event/${e.id}`,
        title: v.title,
        href: `${origin}${v.href ?? timelineHref(project.name)}`,
        updated: v.at,
        author: v.actor ?? "the forge",
        summary: `${kindLabel(v.kind)}: ${v.title}`,
      };
    }),
  });
  return c.body(body, 200, {
    "content-type": "application/atom+xml; charset=utf-8",
    // A feed read with a token is that user's: no shared cache may keep it.
    "cache-control": "private, max-age=60",
    vary: "Cookie",
  });
});
