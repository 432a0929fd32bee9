// Refs pages of the repository browser: branches and tags (newest first, with their tip commit),
// and archives of any revision as .tar.gz or .zip, streamed as they are built.
import { tarGzStream, zipStream } from "../../../git/archive";
import { parseTag } from "../../../git/objects";
import { setHash } from "../../../git/oid";
import { branches, defaultBranch, readCommit, resolveRev, tags } from "../../../services/source";
import { branchesBody, type PagerView, tagsBody } from "../../../views/source/refs";
import { notFound, type Rendered, sourceResponse, versionOrder, type SourcePage } from "./page";
import { ifNoneMatchHits } from "../../../utils/etag";

const PER_PAGE = 100;

function pageNumber(p: SourcePage): number | null {
  const raw = p.c.req.query("page") ?? "1";
  const n = Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= 10_000 ? n : null;
}

function pages(href: (n: number) => string, page: number, total: number): PagerView {
  const last = Math.max(1, Math.ceil(total / PER_PAGE));
  return {
    page,
    last,
    prevHref: page > 1 ? href(page - 1) : undefined,
    nextHref: page < last ? href(page + 1) : undefined,
  };
}

/** Every ref's state in the key: these pages change whenever a ref does, and only then. */
const refsKey = (p: SourcePage) => `${setHash(p.src.snapshot.refs.map((r) => `${r.name} ${r.oid}`))}:${p.src.snapshot.head}`;

export async function branchesPage(p: SourcePage): Promise<Response> {
  const { src, urls } = p;
  const page = pageNumber(p);
  if (!page) return notFound(p);
  const render = async (): Promise<Rendered> => {
    const head = defaultBranch(src.snapshot);
    const items: { name: string; oid: string; subject: string; author: string; time: number }[] = [];
    for (const r of branches(src.snapshot)) {
      const rev = await resolveRev(src, r.name.slice(11));
      if (!rev) continue;
      const c = await readCommit(src, rev.commit);
      items.push({ name: rev.name, oid: rev.commit, subject: c.subject, author: c.author.name, time: c.committer.time });
    }
    items.sort((a, b) => (a.name === head ? -1 : b.name === head ? 1 : b.time - a.time || (a.name < b.name ? -1 : 1)));
    const shown = items.slice((page - 1) * PER_PAGE, page * PER_PAGE);
    const rows = shown.map((b) => ({
      ...b,
      href: urls.tree(b.name),
      isDefault: b.name === head,
      commitHref: urls.commit(b.oid),
      compareHref: b.name === head ? undefined : urls.compare(head, b.name),
    }));
    const pager = pages((n) => `${urls.branches()}?page=${n}`, page, items.length);
    return { html: branchesBody(rows, items.length, pager), cacheable: true };
  };
  return sourceResponse(p, {
    title: "Branches",
    tab: "branches",
    rev: null,
    key: ["branches", refsKey(p), String(page)],
    immutableUrl: false,
    render,
  });
}

export async function tagsPage(p: SourcePage): Promise<Response> {
  const { src, urls } = p;
  const page = pageNumber(p);
  if (!page) return notFound(p);
  const render = async (): Promise<Rendered> => {
    const items: { name: string; commit: string; subject: string; time: number; annotated: boolean }[] = [];
    for (const r of tags(src.snapshot)) {
      const rev = await resolveRev(src, r.name.slice(10));
      if (!rev) continue;
      const c = await readCommit(src, rev.commit);
      let subject = c.subject;
      let time = c.committer.time;
      let annotated = false;
      const obj = await src.store.read(r.oid);
      if (obj.type === "tag") {
        const t = parseTag(obj.data);
        annotated = true;
        if (t.tagger) time = t.tagger.time;
        const first = t.message.trim().split("\n")[0];
        if (first) subject = first;
      }
      items.push({ name: rev.name, commit: rev.commit, subject, time, annotated });
    }
    items.sort((a, b) => b.time - a.time || versionOrder.compare(b.name, a.name));
    const shown = items.slice((page - 1) * PER_PAGE, page * PER_PAGE);
    const rows = shown.map((t) => ({
      ...t,
      href: urls.tree(t.name),
      commitHref: urls.commit(t.commit),
      tarGzHref: urls.archive(t.name, "tar.gz"),
      zipHref: urls.archive(t.name, "zip"),
    }));
    const pager = pages((n) => `${urls.tags()}?page=${n}`, page, items.length);
    return { html: tagsBody(rows, items.length, pager), cacheable: true };
  };
  return sourceResponse(p, {
    title: "Tags",
    tab: "tags",
    rev: null,
    key: ["tags", refsKey(p), String(page)],
    immutableUrl: false,
    render,
  });
}

export async function archive(p: SourcePage, rest: string[]): Promise<Response> {
  const { c, src } = p;
  let spec: string;
  try {
    spec = rest.map(decodeURIComponent).join("/");
  } catch {
    return notFound(p);
  }
  const m = /^(.+)\.(tar\.gz|tgz|zip)$/.exec(spec);
  if (!m) return notFound(p);
  const rev = await resolveRev(src, m[1]!);
  if (!rev) return notFound(p);
  const format = m[2] === "zip" ? "zip" : "tar.gz";
  const commit = await readCommit(src, rev.commit);
  const label = (rev.kind === "commit" ? rev.commit.slice(0, 12) : rev.name).replace(/[^A-Za-z0-9._-]+/g, "-");
  const prefix = `${p.project.name}-${label}/`;
  const etag = `"${rev.commit}.${format}"`;
  const headers: Record<string, string> = {
    "content-type": format === "zip" ? "application/zip" : "application/gzip",
    "content-disposition": `attachment; filename="${p.project.name}-${label}.${format}"`,
    etag,
    "cache-control": rev.kind === "commit" ? `${p.isPublic ? "public" : "private"}, max-age=31536000, immutable` : "no-cache",
    "x-content-type-options": "nosniff",
  };
  if (ifNoneMatchHits(c.req.header("if-none-match"), etag)) return new Response(null, { status: 304, headers });
  const opts = { prefix, mtime: commit.committer.time, commit: commit.oid };
  const body = format === "zip" ? zipStream(src.store, commit.tree, opts) : tarGzStream(src.store, commit.tree, opts);
  return new Response(c.req.method === "HEAD" ? null : body, { headers });
}
