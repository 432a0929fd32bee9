// What every source page does: the permission check (before any cache is consulted), opening the
// repository (one Durable Object call), and answering with a page whose body comes from the page
// cache when it is addressed by object ids (strong ETag, long-lived Cache-Control).
import type { Context } from "hono";
import type { AppEnv, SourcePage } from "../../context";
import type { Viewer } from "../../../auth/access";
import type { Project } from "../../../services/projects";
import { openSource, type SourceRepo, branches, tags, defaultBranch } from "../../../services/source";
import { cacheUrl, getFragment, pageEtag, putFragment } from "../../../services/page-cache";
import { Layout } from "../../../views/layout";
import { pageContext } from "../../../views/page-context";
import { projectTabs } from "../../../views/project-nav";
import { SourceUrls, type RefChoice, type SourceTab } from "../../../views/source";
import type { Markup } from "../../../views/source/markup";
import { refBar } from "../../../views/source/parts";
import { cachedBody } from "../../../views/trusted-html";
import { sourceScriptPath } from "../../../views/source-script";
import type { Rev } from "../../../services/source";
import { notFoundPage } from "../errors";
import { ifNoneMatchHits } from "../../../utils/etag";
import { isolateTurns } from "../../../utils/pace";
import { edgeLru } from "../../../utils/edge-budget";

export type { SourcePage };

/** Opens the repository of a project whose source the viewer may read (requireSource decided). */
export async function sourcePageOf(c: Context<AppEnv>, project: Project, viewer: Viewer): Promise<SourcePage> {
  const src = await openSource(c.env, { tenantId: c.get("tenant").id, repoId: project.repoId });
  return {
    c,
    project,
    viewer,
    src,
    urls: new SourceUrls(project.name),
    isPublic: !project.private && project.accessSource === "all",
  };
}

export const notFound = (p: SourcePage | Context<AppEnv>) => notFoundPage("c" in p ? p.c : p);

/** Version-aware name order (v1.10 after v1.9); one collator, made once (making one is slow). */
export const versionOrder = new Intl.Collator("en", { numeric: true });

/** Ref choices per repository and refs version (the Durable Object bumps it on every change). */
const choices = new Map<string, RefChoice>();

/** The refs offered by the ref selector: every branch (default first) and the newest tags. */
export function refChoice(src: SourceRepo): RefChoice {
  const key = `${src.repo.tenantId}/${src.repo.repoId}@${src.snapshot.version}:${src.snapshot.head}`;
  const hit = choices.get(key);
  if (hit) return hit;
  const head = defaultBranch(src.snapshot);
  const names = branches(src.snapshot).map((r) => r.name.slice(11));
  names.sort((a, b) => (a === head ? -1 : b === head ? 1 : a < b ? -1 : 1));
  const tagNames = tags(src.snapshot)
    .map((r) => r.name.slice(10))
    .sort((a, b) => versionOrder.compare(b, a))
    .slice(0, 30);
  const choice = { branches: names.slice(0, 300), tags: tagNames };
  if (choices.size >= 256) choices.delete(choices.keys().next().value!);
  choices.set(key, choice);
  return choice;
}

export interface Rendered {
  /** The body, from the escaping views under views/source/. */
  html: Markup;
  /** Deterministic and final: may be cached forever (false: partial, computed within a budget). */
  cacheable: boolean;
}

export interface PageSpec {
  title: string;
  tab: SourceTab;
  /** The ref bar's state (null: no selector on this page). */
  rev: Rev | null;
  view?: "tree" | "blob" | "log" | "blame";
  path?: string[];
  /** What makes the body unique, object ids included; null: never cached. */
  key: string[] | null;
  /** The URL names objects by id (not a branch): browsers may keep the page for a year. */
  immutableUrl: boolean;
  render(): Promise<Rendered>;
  /** For pages that can be partial: a fuller render to run after the response, cached if final. */
  background?: () => Promise<Rendered>;
  status?: 200 | 404;
}

const backgroundRenders = new Map<string, Promise<void>>();

/**
 * Turns a rendering page gave to other requests (for tests). A page whose reads all come from the
 * isolate's caches and Miniflare's in-process services waits on no socket: locally workerd then
 * takes no new request in until the page is done, so during cold pages the warm page got about one
 * turn per cold page (issue 19). A timer turn lets the runtime poll for new requests first.
 */
export const pageTurns = { count: 0 };
const pageTurn = () => {
  pageTurns.count++;
  return isolateTurns.turn();
};

export async function sourceResponse(p: SourcePage, spec: PageSpec): Promise<Response> {
  const { c } = p;
  const account = pageContext()?.account;
  const viewerTag = account ? `u:${account.username}:${account.isAdmin ? 1 : 0}` : "anon";
  const url = spec.key
    ? cacheUrl({
        origin: new URL(c.req.url).origin,
        tenantId: p.src.repo.tenantId,
        repoId: p.src.repo.repoId,
        purges: p.src.snapshot.purges ?? 0,
        parts: spec.key,
      })
    : null;
  let body: string | null = url ? await getFragment(url) : null;
  let cacheable = body !== null;
  const meter = c.get("meter");
  if (body !== null) {
    meter.marks["page-cache-hit"] = 0;
    const unchanged = notModified(c, pageEtag(url!, viewerTag), cacheControl(p, spec, true));
    if (unchanged) return unchanged;
  } else {
    // A turn for other requests before and after the render (see pageTurns).
    await pageTurn();
    const started = performance.now();
    const r = await spec.render();
    await pageTurn();
    meter.marks.render = performance.now() - started;
    // The page cache keeps rendered strings; cachedBody turns them back into markup below.
    body = r.html.toString();
    cacheable = r.cacheable && url !== null;
    if (cacheable) c.executionCtx.waitUntil(putFragment(url!, body).catch(() => undefined));
    else if (url && spec.background && !backgroundRenders.has(url)) {
      const job = spec
        .background()
        .then((full) => (full.cacheable ? putFragment(url, full.html.toString()) : undefined))
        .catch((err) =>
          console.error(JSON.stringify({ level: "error", message: `background render: ${String(err?.stack ?? err)}` })),
        )
        .finally(() => backgroundRenders.delete(url));
      backgroundRenders.set(url, job);
      c.executionCtx.waitUntil(job);
    }
  }
  const headers: Record<string, string> = { "cache-control": cacheControl(p, spec, cacheable), vary: "Cookie" };
  if (cacheable) headers.etag = pageEtag(url!, viewerTag);
  const shellKey = cacheable && !account ? anonymousKey(p) : null;
  const logRev = spec.rev?.name ?? defaultBranch(p.src.snapshot);
  const markup = await (
    <Layout
      title={`${spec.title} · ${p.project.name}`}
      forgeName={c.get("tenant").name}
      crumbs={[
        { label: p.project.name, href: `/p/${p.project.name}/` },
        { label: "source", href: p.urls.home() },
      ]}
      project={{ project: p.project, viewer: p.viewer, current: "source" }}
    >
      {refBar({
        urls: p.urls,
        refs: refChoice(p.src),
        current: spec.rev,
        view: spec.view ?? "tree",
        path: spec.path ?? [],
        tab: spec.tab,
        logRev,
      })}
      {cachedBody(body)}
      <script src={sourceScriptPath} defer></script>
    </Layout>
  ).toString();
  const page: AnonymousPage = {
    status: spec.status ?? 200,
    headers: { ...headers, "content-type": "text/html; charset=UTF-8" },
    body: encoder.encode(markup) as Uint8Array<ArrayBuffer>,
  };
  if (shellKey) anonymousPages.set(shellKey, page);
  return sendPage(c, page);
}

/**
 * Final pages as anonymous visitors get them. What such a page shows depends only on its URL, the
 * repository's refs (their version: the Durable Object bumps it on every change, so a push shows
 * at once) and the forge's name; permissions are checked before the lookup. A hit skips resolving
 * the revision and the path, the page cache and the rendering.
 */
interface AnonymousPage {
  status: 200 | 404;
  headers: Record<string, string>;
  body: Uint8Array<ArrayBuffer>;
}
const anonymousPages = edgeLru<string, AnonymousPage>("web.anonymous-pages", (p) => p.body.length + 512);

// The tab bar shows the areas anonymous visitors may read: a change of access levels changes the key.
const anonymousKey = (p: SourcePage) => {
  const tabs = projectTabs(p.project, p.viewer)
    .map((t) => t.id)
    .join(",");
  return `${p.src.repo.tenantId}/${p.src.repo.repoId}@${p.src.snapshot.version}\0${p.isPublic}\0${p.c.get("tenant").name}\0${tabs}\0${p.c.req.url}`;
};

/** The stored page for this request, if the visitor is anonymous and one was kept. */
export function anonymousPage(p: SourcePage): Response | null {
  if (pageContext()?.account) return null;
  const page = anonymousPages.get(anonymousKey(p));
  if (!page) return null;
  p.c.get("meter").marks["page-cache-hit"] = 0;
  return sendPage(p.c, page);
}

/** 304 when the browser already holds this version of the page. */
function notModified(c: Context<AppEnv>, etag: string | undefined, cacheControl: string): Response | null {
  if (!etag || !ifNoneMatchHits(c.req.header("if-none-match"), etag)) return null;
  return new Response(null, { status: 304, headers: { etag, "cache-control": cacheControl, vary: "Cookie" } });
}

function sendPage(c: Context<AppEnv>, page: AnonymousPage): Response {
  const unchanged = notModified(c, page.headers.etag, page.headers["cache-control"]!);
  if (unchanged) return unchanged;
  return c.body(keptBytes(page.body), page.status, { ...page.headers, "content-length": String(page.body.length) });
}

/**
 * A body that sends bytes this isolate keeps (a stored page) as they are. Given the bytes
 * themselves, workerd's Response copies them into native memory that stays held until V8's next
 * full collection: on big.git's 75 KB warm page the forge's workerd grew to 900 MiB resident before
 * its allocator had enough to reuse, every fresh page a fault that doubled the request's CPU
 * (bench/scale-results.md, session 19). A stream of the one kept array is read by workerd as it
 * writes the response; nothing is copied to be kept (350 MiB), and the array is never transferred
 * (a default stream's chunks are not detached).
 */
function keptBytes(bytes: Uint8Array<ArrayBuffer>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    // workerd's own: the length it sends as Content-Length (a stream's is otherwise unknown: chunked).
    expectedLength: bytes.byteLength,
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

const encoder = new TextEncoder();

function cacheControl(p: SourcePage, spec: PageSpec, cacheable: boolean): string {
  if (!cacheable) return "no-store";
  if (!spec.immutableUrl) return "no-cache";
  const signedIn = !!pageContext()?.account;
  return `${p.isPublic && !signedIn ? "public" : "private"}, max-age=31536000, immutable`;
}
