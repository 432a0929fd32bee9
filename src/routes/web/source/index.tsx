// The repository browser: source home, trees and files, under /p/<project>/source/. Blame is
// blame.tsx, history pages history.tsx, comparisons compare.tsx, raw files raw.ts, refs and
// archives refs.tsx. URLs: docs in README.md (Source browser).
import { Hono, type Context } from "hono";
import type { AppEnv } from "../../context";
import { blobStorage } from "../../../git/blob-stream";
import { isBinary } from "../../../git/diff";
import { GitError } from "../../../git/errors";
import type { Oid } from "../../../git/oid";
import { decodePathSegments, listTree, listingOrder, resolvePath, type NamedEntry } from "../../../git/tree-path";
import { lastCommitsFor } from "../../../services/last-commits";
import { newWalkStats } from "../../../git/last-commit";
import { defaultBranch, readCommit, resolveRev, splitRev, type Rev } from "../../../services/source";
import { reachableFromRefs } from "../../../services/reachable";
import { markdownHtml } from "../../../views/markdown";
import { renderedFile, showsRendered, viewSwitch } from "../../../views/markdown-file";
import { HIGHLIGHT_MAX, highlightedLinesPaced, languageOf } from "../../../views/highlight";
import { day, isoTime } from "../../../views/source";
import {
  type BlobContent,
  type BlobView,
  blobBody,
  emptyRepositoryBody,
  type ReadmeView,
  type TreeView,
  treeBody,
} from "../../../views/source/files";
import { sourceScript, sourceScriptPath } from "../../../views/source-script";
import { anonymousPage, notFound, type Rendered, sourceResponse, type SourcePage } from "./page";
import { component, requireSource } from "../../middleware/guards";
import { blamePage } from "./blame";
import { commitPage, logPage } from "./history";
import { comparePage } from "./compare";
import { commitFeed } from "./feed";
import { archive, branchesPage, tagsPage } from "./refs";
import { IMAGE_TYPES, extension, rawFile } from "./raw";

export const sourceRoutes = new Hono<AppEnv>();

sourceRoutes.get(
  sourceScriptPath,
  () =>
    new Response(sourceScript, {
      headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=31536000, immutable" },
    }),
);

sourceRoutes.get("/p/:project/source", (c) => c.redirect(`/p/${encodeURIComponent(c.req.param("project"))}/source/`, 301));

/** The raw (percent-encoded) segments after /p/<project>/source/. */
function tailSegments(c: Context<AppEnv>, area: string): string[] {
  const parts = new URL(c.req.url).pathname.split("/");
  // ["", "p", project, area, ...]
  return parts[3] === area ? parts.slice(4) : [];
}

/**
 * web.source.<view>: web.source.tree, web.source.blob, ... (web.source.home for the source home);
 * archives by their format: web.source.archive.zip, web.source.archive.tgz.
 */
function sourceComponent(c: Context<AppEnv>): string {
  const view = tailSegments(c, "source")[0] || "home";
  if (view !== "archive") return `web.source.${view}`;
  const format = /\.zip$/.test(c.req.path) ? ".zip" : /\.(tar\.gz|tgz)$/.test(c.req.path) ? ".tgz" : "";
  return `web.source.archive${format}`;
}

sourceRoutes.get("/p/:project/source/*", component(sourceComponent), requireSource, async (c) => {
  const [view = "", ...rest] = tailSegments(c, "source");
  const p = c.get("source");
  const kept = anonymousPage(p);
  if (kept) return kept;
  try {
    switch (view) {
      case "":
        return rest.length === 0 ? await homePage(p) : notFound(p);
      case "tree":
        return await treeOrBlob(p, rest, "tree");
      case "blob":
        return await treeOrBlob(p, rest, "blob");
      case "raw":
        return await rawFile(p, rest);
      case "blame":
        return await treeOrBlob(p, rest, "blame");
      case "log":
        return await logPage(p, rest);
      case "commit":
        return await commitPage(p, rest);
      case "compare":
        return await comparePage(p, rest);
      case "branches":
        return rest.length === 0 || (rest.length === 1 && rest[0] === "") ? await branchesPage(p) : notFound(p);
      case "tags":
        return rest.length === 0 || (rest.length === 1 && rest[0] === "") ? await tagsPage(p) : notFound(p);
      case "archive":
        return await archive(p, rest);
      case "switch":
        return await switchRef(p);
      case "last-commits":
        return await lastCommitsJson(p, rest);
      default:
        return notFound(p);
    }
  } catch (err) {
    // Objects the refs promise but the packs lack, ids that are not what the URL says: not found.
    if (err instanceof GitError && err.code === "missing_object") return notFound(p);
    throw err;
  }
});

// ---- Source home: the default branch's root, README, clone URL; or how to push the first commit.

async function homePage(p: SourcePage): Promise<Response> {
  const head = await resolveRev(p.src, "HEAD");
  if (!head) return emptyRepository(p);
  return treePage(p, head, [], true);
}

function cloneUrl(p: SourcePage): string {
  return `${new URL(p.c.req.url).origin}/${p.project.name}.git`;
}

function emptyRepository(p: SourcePage): Promise<Response> {
  const body = emptyRepositoryBody({ project: p.project.name, cloneUrl: cloneUrl(p), branch: defaultBranch(p.src.snapshot) });
  return sourceResponse(p, {
    title: "Source",
    tab: "files",
    rev: null,
    key: null,
    immutableUrl: false,
    render: async () => ({ html: body, cacheable: false }),
  });
}

// ---- Trees, files and blame

async function treeOrBlob(p: SourcePage, rest: string[], view: "tree" | "blob" | "blame"): Promise<Response> {
  const started = performance.now();
  const split = await splitRev(p.src, rest);
  // Server-Timing: resolving the revision (for a commit id, whether a ref reaches it).
  p.c.get("meter").marks.rev = performance.now() - started;
  if (!split) return notFound(p);
  const path = decodePathSegments(split.rest);
  if (!path) return notFound(p);
  const commit = await p.src.graph.commit(split.rev.commit);
  const entry = await resolvePath(p.src.store, commit.tree, path);
  if (!entry) return notFound(p);
  if (entry.type === "tree") {
    if (view !== "tree") return p.c.redirect(p.urls.tree(split.rev.name, path), 302);
    return treePage(p, split.rev, path, false);
  }
  if (view === "tree") return p.c.redirect(p.urls.blob(split.rev.name, path), 302);
  if (view === "blame" && entry.type === "blob") return blamePage(p, split.rev, path, entry.oid, entry.mode);
  return blobPage(p, split.rev, path, entry.oid, entry.mode, entry.type);
}

const README = /^readme(\.(md|markdown|mdown|txt|rst|adoc))?$/i;

function pickReadme(entries: NamedEntry[]): NamedEntry | undefined {
  const candidates = entries.filter((e) => e.type === "blob" && README.test(e.name));
  return candidates.find((e) => /\.(md|markdown|mdown)$/i.test(e.name)) ?? candidates[0];
}

async function readmeView(p: SourcePage, rev: Rev, path: string[], readme: NamedEntry): Promise<ReadmeView | undefined> {
  const { size } = await blobStorage(p.src.store, readme.oid);
  if (size > 512 * 1024) return undefined;
  const data = await p.src.store.readTyped(readme.oid, "blob");
  if (isBinary(data)) return undefined;
  const text = new TextDecoder().decode(data);
  return {
    name: readme.name,
    href: p.urls.blob(rev.name, [...path, readme.name]),
    body: /\.(md|markdown|mdown)$/i.test(readme.name)
      ? { markdown: markdownHtml(text, undefined, { project: p.project.name, commit: rev.commit, dir: path }) }
      : { text },
  };
}

async function treePage(p: SourcePage, rev: Rev, path: string[], home: boolean): Promise<Response> {
  const { c, src, urls } = p;
  const render = async (): Promise<Rendered> => {
    const commit = await src.graph.commit(rev.commit);
    const dir = await resolvePath(src.store, commit.tree, path);
    const entries = listingOrder(await listTree(src.store, dir!.oid));
    const stats = newWalkStats();
    const started = performance.now();
    const last = await lastCommitsFor(
      c.env,
      src.repo,
      src.graph,
      rev.commit,
      path,
      entries.map((e) => e.name),
      (job) => c.executionCtx.waitUntil(job),
      { wait: true, stats },
    );
    // Server-Timing: the column's time, and what its walk did (counts, not milliseconds).
    const marks = c.get("meter").marks;
    marks["last-commits"] = performance.now() - started;
    for (const [k, n] of Object.entries(stats)) if (n > 0) marks[`walk-${k}`] = n;
    const tipInfo = await readCommit(src, rev.commit);
    const readme = pickReadme(entries);
    const view: TreeView = {
      place: { urls, project: p.project.name, rev: rev.name, path },
      cloneUrl: home ? cloneUrl(p) : undefined,
      historyHref: urls.log(rev.name, path),
      archives: path.length === 0 ? { tarGz: urls.archive(rev.name, "tar.gz"), zip: urls.archive(rev.name, "zip") } : undefined,
      tip: {
        label: rev.kind === "commit" ? "Commit" : "Latest commit",
        oid: rev.commit,
        href: urls.commit(rev.commit),
        subject: tipInfo.subject,
        author: tipInfo.author.name,
        time: tipInfo.committer.time,
      },
      lastChangeHeadings: !last.unavailable,
      parentHref: path.length > 0 ? urls.tree(rev.name, path.slice(0, -1)) : undefined,
      entries: entries.map((e) => {
        const full = [...path, e.name];
        const oid = last.entries[e.name];
        const brief = oid ? last.commits[oid] : undefined;
        return {
          name: e.name,
          type: e.type,
          href: e.type === "tree" ? urls.tree(rev.name, full) : e.type === "commit" ? null : urls.blob(rev.name, full),
          oid: e.oid,
          mode: e.mode,
          lastCommit: oid && brief ? { href: urls.commit(oid), subject: brief.s, time: brief.t } : undefined,
          pending: !oid && !last.complete,
        };
      }),
      lastCommitsUrl: last.complete ? undefined : urls.lastCommits(rev.commit, path),
      readme: readme ? await readmeView(p, rev, path, readme) : undefined,
    };
    return { html: treeBody(view), cacheable: last.complete };
  };
  return sourceResponse(p, {
    title: path.length ? path.join("/") : "Source",
    tab: "files",
    rev,
    view: "tree",
    path,
    key: [home ? "home" : "tree", rev.name, rev.commit, path.join("/")],
    immutableUrl: rev.kind === "commit",
    render,
  });
}

/** Files up to this size are shown inline; highlighted up to HIGHLIGHT_MAX (views/highlight.ts). */
export const INLINE_MAX = 1024 * 1024;

async function blobPage(
  p: SourcePage,
  rev: Rev,
  path: string[],
  oid: Oid,
  mode: string,
  type: "blob" | "commit",
): Promise<Response> {
  const { src, urls } = p;
  const name = path[path.length - 1]!;
  const plain = p.c.req.query("plain") === "1";
  const render = async () => {
    if (type === "commit")
      return { html: blobBody(blobView(p, rev, path, 0, false, { kind: "submodule", oid })), cacheable: true };
    const { size } = await blobStorage(src.store, oid);
    const rendered = showsRendered(name, size, plain);
    const view = (content: BlobContent) => ({ html: blobBody(blobView(p, rev, path, size, rendered, content)), cacheable: true });
    if (mode === "120000")
      return view({ kind: "symlink", target: new TextDecoder().decode(await src.store.readTyped(oid, "blob")) });
    const image = IMAGE_TYPES[extension(name)];
    if (image && size <= 20 * 1024 * 1024) return view({ kind: "image", src: urls.raw(rev.commit, path), alt: name });
    if (size > INLINE_MAX) return view({ kind: "too-large", size, rawHref: urls.raw(rev.name, path) });
    const data = await src.store.readTyped(oid, "blob");
    if (isBinary(data)) return view({ kind: "binary", rawHref: urls.raw(rev.name, path) });
    const text = new TextDecoder().decode(data);
    if (rendered) return view({ kind: "markdown", html: renderedFile(p.project.name, rev.commit, path, text) });
    const lang = size <= HIGHLIGHT_MAX ? languageOf(name) : null;
    // Paced: a large file's highlighting would otherwise hold every other page of the isolate.
    return view({
      kind: "code",
      lines: text === "" ? [] : await highlightedLinesPaced(text.endsWith("\n") ? text.slice(0, -1) : text, lang),
    });
  };
  return sourceResponse(p, {
    title: path.join("/"),
    tab: "files",
    rev,
    view: "blob",
    path,
    key: ["blob", rev.name, rev.commit, path.join("/"), plain ? "plain" : ""],
    immutableUrl: rev.kind === "commit",
    render,
  });
}

function blobView(p: SourcePage, rev: Rev, path: string[], size: number, rendered: boolean, content: BlobContent): BlobView {
  const { urls } = p;
  return {
    place: { urls, project: p.project.name, rev: rev.name, path },
    size,
    viewSwitch: viewSwitch(urls.blob(rev.name, path), path[path.length - 1]!, rendered) ?? undefined,
    rawHref: urls.raw(rev.name, path),
    blameHref: urls.blame(rev.name, path),
    historyHref: urls.log(rev.name, path),
    permalink: rev.kind === "commit" ? undefined : urls.blob(rev.commit, path),
    content,
  };
}

// ---- The ref selector's target, and the last-commits follow-up for the optional script

async function switchRef(p: SourcePage): Promise<Response> {
  const { c, src, urls } = p;
  const ref = c.req.query("ref") ?? "";
  const view = c.req.query("view") ?? "tree";
  const rev = await resolveRev(src, ref);
  if (!rev) return notFound(p);
  const path = (c.req.query("path") ?? "").split("/").filter(Boolean);
  const commit = await src.graph.commit(rev.commit);
  const entry = path.length ? await resolvePath(src.store, commit.tree, path) : null;
  if (view === "log") return c.redirect(urls.log(rev.name, path), 303);
  if (!entry) return c.redirect(urls.tree(rev.name), 303);
  if (entry.type === "tree") return c.redirect(urls.tree(rev.name, path), 303);
  return c.redirect(view === "blame" ? urls.blame(rev.name, path) : urls.blob(rev.name, path), 303);
}

async function lastCommitsJson(p: SourcePage, rest: string[]): Promise<Response> {
  const { c, src, urls } = p;
  const [commitId, ...rawPath] = rest;
  const path = decodePathSegments(rawPath);
  if (!commitId || !/^[0-9a-f]{40}$/.test(commitId) || !path || !(await src.store.has(commitId))) return notFound(p);
  if (!(await reachableFromRefs(src, commitId))) return notFound(p);
  const commit = await src.graph.commit(commitId);
  const dir = await resolvePath(src.store, commit.tree, path);
  if (dir?.type !== "tree") return notFound(p);
  const names = (await listTree(src.store, dir.oid)).map((e) => e.name);
  const last = await lastCommitsFor(c.env, src.repo, src.graph, commitId, path, names, (job) => c.executionCtx.waitUntil(job), {
    wait: false,
  });
  const entries: Record<string, { href: string; s: string; date: string; iso: string }> = {};
  for (const [name, oid] of Object.entries(last.entries)) {
    const b = last.commits[oid];
    if (b) entries[name] = { href: urls.commit(oid), s: b.s || "(no message)", date: day(b.t), iso: isoTime(b.t) };
  }
  return c.json({ complete: last.complete, entries }, 200, {
    "cache-control": last.complete ? "private, max-age=31536000, immutable" : "no-store",
  });
}

sourceRoutes.get("/p/:project/feed/commits/*", component("web.source.feed"), requireSource, (c) =>
  commitFeed(c.get("source"), tailSegments(c, "feed")),
);
