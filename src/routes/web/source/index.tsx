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
import { lastCommitsFor, type CommitBrief } from "../../../services/last-commits";
import { defaultBranch, readCommit, resolveRev, splitRev, type Rev } from "../../../services/source";
import { reachableFromRefs } from "../../../services/reachable";
import { renderMarkdown } from "../../../views/markdown";
import { renderedFile, showsRendered, viewSwitch } from "../../../views/markdown-file";
import { escapeHtml, HIGHLIGHT_MAX, highlightLines, languageOf } from "../../../views/highlight";
import { codeTable, day, formatSize, isoTime, pathNav, timeHtml, type SourceUrls } from "../../../views/source";
import { sourceScript, sourceScriptPath } from "../../../views/source-script";
import { anonymousPage, notFound, sourceResponse, type SourcePage } from "./page";
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
  const url = cloneUrl(p);
  const branch = defaultBranch(p.src.snapshot);
  const body =
    `<h1>${escapeHtml(p.project.name)}</h1>` +
    `<p class="notice">This repository is empty. Push an existing repository to it:</p>` +
    `<pre class="commands">cd my-project\ngit remote add origin ${escapeHtml(url)}\ngit push -u origin ${escapeHtml(branch)}</pre>` +
    `<p>Or start a new one:</p>` +
    `<pre class="commands">git clone ${escapeHtml(url)}\ncd ${escapeHtml(p.project.name)}\necho "# ${escapeHtml(p.project.name)}" &gt; README.md\ngit add README.md\ngit commit -m "First commit"\ngit push -u origin ${escapeHtml(branch)}</pre>` +
    `<p class="muted">Pushing needs a member's API token as the password: make one under Settings → API tokens.</p>`;
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
  const split = await splitRev(p.src, rest);
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

async function readmeHtml(p: SourcePage, rev: Rev, path: string[], readme: NamedEntry): Promise<string> {
  const { size } = await blobStorage(p.src.store, readme.oid);
  if (size > 512 * 1024) return "";
  const data = await p.src.store.readTyped(readme.oid, "blob");
  if (isBinary(data)) return "";
  const text = new TextDecoder().decode(data);
  const inner = /\.(md|markdown|mdown)$/i.test(readme.name)
    ? `<div class="md">${renderMarkdown(text, undefined, { project: p.project.name, commit: rev.commit, dir: path })}</div>`
    : `<pre class="plain">${escapeHtml(text)}</pre>`;
  return `<section class="readme" aria-label="${escapeHtml(readme.name)}"><h2><a href="${escapeHtml(p.urls.blob(rev.name, [...path, readme.name]))}">${escapeHtml(readme.name)}</a></h2>${inner}</section>`;
}

function commitLine(urls: SourceUrls, oid: Oid, b: CommitBrief, label: string): string {
  const href = escapeHtml(urls.commit(oid));
  return `<div class="tip"><span class="muted">${label}</span> <a class="mono" href="${href}">${oid.slice(0, 7)}</a> <a href="${href}">${escapeHtml(b.s || "(no message)")}</a> <span class="muted">${escapeHtml(b.a)} · ${timeHtml(b.t)}</span></div>`;
}

async function treePage(p: SourcePage, rev: Rev, path: string[], home: boolean): Promise<Response> {
  const { c, src, urls } = p;
  const render = async (): Promise<{ html: string; cacheable: boolean }> => {
    const commit = await src.graph.commit(rev.commit);
    const dir = await resolvePath(src.store, commit.tree, path);
    const entries = listingOrder(await listTree(src.store, dir!.oid));
    const last = await lastCommitsFor(
      c.env,
      src.repo,
      src.graph,
      rev.commit,
      path,
      entries.map((e) => e.name),
      (job) => c.executionCtx.waitUntil(job),
    );
    const tipInfo = await readCommit(src, rev.commit);
    let s = "";
    if (home) {
      const url = cloneUrl(p);
      s += `<div class="clone"><label for="clone-url">Clone</label><input id="clone-url" readonly value="${escapeHtml(url)}"></div>`;
    }
    s += `<div class="pathbar">${pathNav(urls, p.project.name, rev.name, path)}<span class="links"><a href="${escapeHtml(urls.log(rev.name, path))}">History</a>`;
    if (path.length === 0)
      s += ` · <a href="${escapeHtml(urls.archive(rev.name, "tar.gz"))}">tar.gz</a> · <a href="${escapeHtml(urls.archive(rev.name, "zip"))}">zip</a>`;
    s += `</span></div>`;
    s += commitLine(
      urls,
      rev.commit,
      { t: tipInfo.committer.time, s: tipInfo.subject, a: tipInfo.author.name },
      rev.kind === "commit" ? "Commit" : "Latest commit",
    );
    s += `<table class="list files"><thead><tr><th scope="col">Name</th><th scope="col" class="opt">${last.unavailable ? "" : "Last change"}</th><th scope="col">${last.unavailable ? "" : "Date"}</th></tr></thead><tbody>`;
    if (path.length > 0) s += `<tr><td colspan="3"><a href="${escapeHtml(urls.tree(rev.name, path.slice(0, -1)))}">..</a></tr>`;
    for (const e of entries) {
      const full = [...path, e.name];
      let name: string;
      if (e.type === "tree") name = `<a class="dir" href="${escapeHtml(urls.tree(rev.name, full))}">${escapeHtml(e.name)}/</a>`;
      else if (e.type === "commit")
        name = `<span class="submodule">${escapeHtml(e.name)}</span> <span class="muted mono">@ ${e.oid.slice(0, 7)}</span>`;
      else
        name = `<a href="${escapeHtml(urls.blob(rev.name, full))}">${escapeHtml(e.name)}</a>${e.mode === "120000" ? ' <span class="muted">→ link</span>' : e.mode === "100755" ? ' <span class="muted">*</span>' : ""}`;
      const oid = last.entries[e.name];
      const brief = oid ? last.commits[oid] : undefined;
      const msg =
        oid && brief
          ? `<a href="${escapeHtml(urls.commit(oid))}">${escapeHtml(brief.s || "(no message)")}</a>`
          : last.complete
            ? ""
            : "…";
      const date = brief ? timeHtml(brief.t) : "";
      s += `<tr data-entry="${escapeHtml(e.name)}"><td class="name">${name}<td class="lcm opt${oid || last.complete ? "" : " pending"}">${msg}<td class="lcd nowrap">${date}</tr>`;
    }
    s += `</tbody></table>`;
    if (!last.complete) {
      s += `<p class="computing muted" data-last-commits="${escapeHtml(urls.lastCommits(rev.commit, path))}">Finding the last change of each entry takes a moment on this directory; reload to see them all.</p>`;
    }
    const readme = pickReadme(entries);
    if (readme) s += await readmeHtml(p, rev, path, readme);
    return { html: s, cacheable: last.complete };
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
    let s = `<div class="pathbar">${pathNav(urls, p.project.name, rev.name, path)}</div>`;
    if (type === "commit") {
      s += `<p class="notice">A submodule, at commit <span class="mono">${oid}</span>.</p>`;
      return { html: s, cacheable: true };
    }
    const { size } = await blobStorage(src.store, oid);
    const rendered = showsRendered(name, size, plain);
    const links = [
      viewSwitch(urls.blob(rev.name, path), name, rendered),
      `<a href="${escapeHtml(urls.raw(rev.name, path))}">Raw</a>`,
      `<a href="${escapeHtml(urls.blame(rev.name, path))}">Blame</a>`,
      `<a href="${escapeHtml(urls.log(rev.name, path))}">History</a>`,
    ];
    if (rev.kind !== "commit") links.push(`<a href="${escapeHtml(urls.blob(rev.commit, path))}">Permalink</a>`);
    const info = (extra: string) =>
      `<div class="fileinfo"><span class="muted">${extra}${formatSize(size)}</span><span class="links">${links.filter(Boolean).join(" · ")}</span></div>`;
    if (mode === "120000") {
      const target = new TextDecoder().decode(await src.store.readTyped(oid, "blob"));
      return { html: `${s + info("Symbolic link · ")}<p>Points to <code>${escapeHtml(target)}</code>.</p>`, cacheable: true };
    }
    const image = IMAGE_TYPES[extension(name)];
    if (image && size <= 20 * 1024 * 1024) {
      return {
        html: `${s + info("Image · ")}<p class="image"><img src="${escapeHtml(urls.raw(rev.commit, path))}" alt="${escapeHtml(name)}"></p>`,
        cacheable: true,
      };
    }
    if (size > INLINE_MAX) {
      return {
        html: `${s + info("")}<p class="notice">This file is ${formatSize(size)}, too large to show here. <a href="${escapeHtml(urls.raw(rev.name, path))}">Download it</a>.</p>`,
        cacheable: true,
      };
    }
    const data = await src.store.readTyped(oid, "blob");
    if (isBinary(data)) {
      return {
        html: `${s + info("Binary file · ")}<p class="notice">Binary file, not shown. <a href="${escapeHtml(urls.raw(rev.name, path))}">Download it</a>.</p>`,
        cacheable: true,
      };
    }
    const text = new TextDecoder().decode(data);
    if (rendered)
      return { html: s + info("Markdown · ") + renderedFile(p.project.name, rev.commit, path, text), cacheable: true };
    const lines = highlightLines(text.endsWith("\n") ? text.slice(0, -1) : text, size <= HIGHLIGHT_MAX ? languageOf(name) : null);
    const count = text === "" ? 0 : lines.length;
    return {
      html:
        s + info(`${count} line${count === 1 ? "" : "s"} · `) + (count ? codeTable(lines) : `<p class="muted">Empty file.</p>`),
      cacheable: true,
    };
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
  if (!commitId || !/^[0-9a-f]{40}$/.test(commitId) || !path || !src.store.has(commitId)) return notFound(p);
  if (!(await reachableFromRefs(src, commitId))) return notFound(p);
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
