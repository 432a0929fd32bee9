// The Gitea-compatible API's source routes of a repository: branches, tags, commits, contents,
// raw files and archives, read through the same source services and archive code as the pages.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { component } from "../middleware/guards";
import { requireGiteaRepo } from "../middleware/api-guards";
import { blobPrefix, blobStorage, openBlobStream, SMALL_BLOB } from "../../git/blob-stream";
import { tarGzStream, zipStream } from "../../git/archive";
import { isBinary } from "../../git/diff";
import { logPage } from "../../git/history";
import { Budget } from "../../git/budget";
import { listTree, listingOrder, resolvePath, type NamedEntry } from "../../git/tree-path";
import { branches, openSource, readCommit, resolveRev, tags, type SourceRepo } from "../../services/source";
import { protectedRefs } from "../../services/projects";
import { canAccess } from "../../auth/access";
import { ForgeError } from "../../utils/errors";
import { pageOf, setPaginationHeaders } from "./responses";
import { COMMITS_WALK_MAX, pathRoutes, routes } from "./gitea-repo-routes";
import { extension, IMAGE_TYPES } from "../web/source/raw";

type Ctx = Context<AppEnv>;

/** Base64 of a file of at most SMALL_BLOB bytes, in 32 KiB pieces (no argument list grows with it). */
function bytesToBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
const seg = encodeURIComponent;

const sourceOf = (c: Ctx) => openSource(c.env, { tenantId: c.get("tenant").id, repoId: c.get("project").repoId });

async function revOf(src: SourceRepo, ref: string | undefined) {
  const rev = await resolveRev(src, ref ?? "HEAD");
  if (!rev)
    throw new ForgeError("not_found", ref ? `no branch, tag or commit ${ref} in this repository` : "this repository is empty");
  return rev;
}

function urls(c: Ctx) {
  const origin = new URL(c.req.url).origin;
  const p = c.get("project").name;
  const api = `${origin}/api/v1/repos/${seg(c.get("tenant").slug)}/${seg(p)}`;
  return { origin, api, html: `${origin}/p/${seg(p)}/source` };
}

const sig = (s: { name: string; email: string; time: number }) => ({
  name: s.name,
  email: s.email,
  date: new Date(s.time * 1000).toISOString().replace(/\.000Z$/, "Z"),
});

async function payloadCommit(c: Ctx, src: SourceRepo, oid: string) {
  const commit = await readCommit(src, oid);
  const u = urls(c);
  return {
    id: oid,
    message: commit.message,
    url: `${u.html}/commit/${oid}`,
    author: sig(commit.author),
    committer: sig(commit.committer),
    timestamp: sig(commit.committer).date,
  };
}

async function branchJson(c: Ctx, src: SourceRepo, name: string, oid: string) {
  const prot = protectedRefs(c.get("project")).includes(`refs/heads/${name}`);
  const push = canAccess(c.get("viewer"), c.get("project"), "source", "write");
  return {
    name,
    commit: await payloadCommit(c, src, oid),
    protected: prot,
    required_approvals: 0,
    enable_status_check: false,
    status_check_contexts: [] as string[],
    user_can_push: push,
    user_can_merge: false,
    effective_branch_protection_name: prot ? name : "",
  };
}

/** Path segments of a URL's file path; a 404 for `..`, empty or NUL segments. */
function segmentsOf(raw: string): string[] {
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    throw new ForgeError("not_found", "no such path");
  }
  const parts = path.split("/").filter(Boolean);
  if (parts.some((s) => s === "." || s === ".." || s.includes("\0"))) throw new ForgeError("not_found", "no such path");
  return parts;
}

export function registerGiteaRepoApi(app: OpenAPIHono<AppEnv>): void {
  for (const part of ["branches", "tags", "commits", "contents", "raw", "archive"]) {
    app.use(`/api/v1/repos/:owner/:repo/${part}`, component("api.gitea.source"), requireGiteaRepo("source"));
    app.use(`/api/v1/repos/:owner/:repo/${part}/*`, component("api.gitea.source"), requireGiteaRepo("source"));
  }

  app.openapi(routes.branches, async (c) => {
    const src = await sourceOf(c);
    const { page, limit } = pageOf(c.req.valid("query"));
    const all = branches(src.snapshot).sort((a, b) => (a.name < b.name ? -1 : 1));
    setPaginationHeaders(c, all.length, page, limit);
    const slice = all.slice((page - 1) * limit, page * limit);
    return c.json(await Promise.all(slice.map((r) => branchJson(c, src, r.name.slice(11), r.peeled ?? r.oid))), 200);
  });

  app.openapi(routes.branch, async (c) => {
    const src = await sourceOf(c);
    const name = c.req.valid("param").branch;
    const ref = branches(src.snapshot).find((r) => r.name === `refs/heads/${name}`);
    if (!ref) throw new ForgeError("not_found", `no branch ${name} in this repository`);
    return c.json(await branchJson(c, src, name, ref.peeled ?? ref.oid), 200);
  });

  app.openapi(routes.tags, async (c) => {
    const src = await sourceOf(c);
    const { page, limit } = pageOf(c.req.valid("query"));
    const all = tags(src.snapshot).sort((a, b) => (a.name < b.name ? 1 : -1));
    setPaginationHeaders(c, all.length, page, limit);
    const u = urls(c);
    const out = [];
    for (const r of all.slice((page - 1) * limit, page * limit)) {
      const name = r.name.slice(10);
      const commit = r.peeled ?? r.oid;
      const info = await readCommit(src, commit).catch(() => null);
      out.push({
        name,
        message: info?.message ?? "",
        id: r.oid,
        commit: { url: `${u.api}/git/commits/${commit}`, sha: commit, created: info ? sig(info.committer).date : "" },
        zipball_url: `${u.api}/archive/${seg(name)}.zip`,
        tarball_url: `${u.api}/archive/${seg(name)}.tar.gz`,
      });
    }
    return c.json(out, 200);
  });

  app.openapi(routes.commits, async (c) => {
    const q = c.req.valid("query");
    const { page, limit } = pageOf(q);
    if (page * limit > COMMITS_WALK_MAX) {
      throw new ForgeError(
        "validation_failed",
        `page: at most ${COMMITS_WALK_MAX} commits deep; start from an older sha instead.`,
      );
    }
    const src = await sourceOf(c);
    const rev = await revOf(src, q.sha);
    const path = q.path ? segmentsOf(q.path) : undefined;
    const walked = await logPage(src.graph, [rev.commit], {
      limit: page * limit + 1,
      path,
      budget: new Budget(Infinity, 200_000),
    });
    const pageCommits = walked.commits.slice((page - 1) * limit, page * limit);
    const more = walked.commits.length > page * limit;
    const u = urls(c);
    const out = [];
    for (const info of pageCommits) {
      const commit = await readCommit(src, info.oid);
      const created = sig(commit.committer).date;
      out.push({
        url: `${u.api}/git/commits/${info.oid}`,
        sha: info.oid,
        created,
        html_url: `${u.html}/commit/${info.oid}`,
        commit: {
          url: `${u.api}/git/commits/${info.oid}`,
          author: sig(commit.author),
          committer: sig(commit.committer),
          message: commit.message,
          tree: { url: `${u.api}/git/trees/${commit.tree}`, sha: commit.tree, created },
        },
        author: null,
        committer: null,
        parents: commit.parents.map((p) => ({ url: `${u.api}/git/commits/${p}`, sha: p, created })),
      });
    }
    // The whole history is not counted (that is a walk of all of it): Gitea's X-HasMore instead.
    const link = new URL(c.req.url);
    link.searchParams.delete("token");
    link.searchParams.delete("access_token");
    const at = (p: number, rel: string) => {
      link.searchParams.set("page", String(p));
      link.searchParams.set("limit", String(limit));
      return `<${link}>; rel="${rel}"`;
    };
    const links = [at(1, "first")];
    if (page > 1) links.push(at(page - 1, "prev"));
    if (more) links.push(at(page + 1, "next"));
    c.header("Link", links.join(", "));
    c.header("X-HasMore", String(more));
    return c.json(out, 200);
  });

  for (const r of Object.values(pathRoutes)) app.openAPIRegistry.registerPath(r);

  const contents = async (c: Ctx, raw: string) => {
    const src = await sourceOf(c);
    const ref = c.req.query("ref");
    const rev = await revOf(src, ref);
    const parts = segmentsOf(raw);
    const commit = await src.graph.commit(rev.commit);
    const entry = await resolvePath(src.store, commit.tree, parts);
    if (!entry) throw new ForgeError("not_found", `no file or directory ${parts.join("/")} at ${ref ?? "the default branch"}`);
    const u = urls(c);
    const refQ = `?ref=${seg(rev.name)}`;
    const item = async (
      path: string,
      e: { name: string; mode: string; oid: string; type: NamedEntry["type"] },
      withContent: boolean,
    ) => {
      const type = e.type === "tree" ? "dir" : e.type === "commit" ? "submodule" : e.mode === "120000" ? "symlink" : "file";
      const size = e.type === "blob" ? (await blobStorage(src.store, e.oid)).size : 0;
      let content: string | null = null;
      if (withContent && type !== "dir" && type !== "submodule" && size <= SMALL_BLOB) {
        content = bytesToBase64(await src.store.readTyped(e.oid, "blob"));
      }
      const self = `${u.api}/contents/${path.split("/").map(seg).join("/")}${refQ}`;
      const html = `${u.html}/${type === "dir" ? "tree" : "blob"}/${seg(rev.name)}/${path.split("/").map(seg).join("/")}`;
      const git = `${u.api}/git/${type === "dir" ? "trees" : "blobs"}/${e.oid}`;
      return {
        name: e.name,
        path,
        sha: e.oid,
        last_commit_sha: rev.commit,
        type: type as "file" | "dir" | "symlink" | "submodule",
        size,
        encoding: content === null ? null : "base64",
        content,
        target:
          type === "symlink" && content !== null ? new TextDecoder().decode(await src.store.readTyped(e.oid, "blob")) : null,
        url: self,
        html_url: html,
        git_url: git,
        download_url: type === "file" ? `${u.api}/raw/${path.split("/").map(seg).join("/")}${refQ}` : null,
        submodule_git_url: null,
        _links: { self, git, html },
      };
    };
    if (entry.type === "tree") {
      const entries = listingOrder(await listTree(src.store, entry.oid));
      const base = parts.length ? `${parts.join("/")}/` : "";
      return c.json(await Promise.all(entries.map((e) => item(base + e.name, e, false))), 200);
    }
    const name = parts[parts.length - 1]!;
    return c.json(await item(parts.join("/"), { name, ...entry }, true), 200);
  };
  app.get("/api/v1/repos/:owner/:repo/contents", (c) => contents(c, ""));
  app.get("/api/v1/repos/:owner/:repo/contents/:filepath{.+}", (c) => contents(c, c.req.param("filepath")));

  app.get("/api/v1/repos/:owner/:repo/raw/:filepath{.+}", async (c) => {
    const src = await sourceOf(c);
    const rev = await revOf(src, c.req.query("ref"));
    const parts = segmentsOf(c.req.param("filepath"));
    const entry = parts.length ? await resolvePath(src.store, (await src.graph.commit(rev.commit)).tree, parts) : null;
    if (entry?.type !== "blob") throw new ForgeError("not_found", `no file ${parts.join("/")} at ${rev.name}`);
    const name = parts[parts.length - 1]!;
    const { size } = await blobStorage(src.store, entry.oid);
    const head = await blobPrefix(src.store, entry.oid, 8000);
    const image = IMAGE_TYPES[extension(name)];
    const headers: Record<string, string> = {
      "content-type":
        image && image !== "image/svg+xml" ? image : isBinary(head) ? "application/octet-stream" : "text/plain; charset=utf-8",
      "content-length": String(size),
      "content-security-policy": "default-src 'none'; sandbox",
      "x-content-type-options": "nosniff",
      "cache-control": rev.kind === "commit" ? "private, max-age=31536000, immutable" : "no-cache",
      etag: `"${entry.oid}"`,
    };
    c.get("meter").marks.bytes = size;
    return new Response(c.req.method === "HEAD" ? null : (await openBlobStream(src.store, entry.oid)).stream, { headers });
  });

  app.get("/api/v1/repos/:owner/:repo/archive/:archive{.+}", async (c) => {
    const m = /^(.+)\.(tar\.gz|zip)$/.exec(c.req.param("archive"));
    if (!m) throw new ForgeError("not_found", "ask for <ref>.zip or <ref>.tar.gz");
    const src = await sourceOf(c);
    const rev = await revOf(src, m[1]!);
    const commit = await readCommit(src, rev.commit);
    const project = c.get("project").name;
    const label = (rev.kind === "commit" ? rev.commit.slice(0, 12) : rev.name).replace(/[^A-Za-z0-9._-]+/g, "-");
    const opts = { prefix: `${project}/`, mtime: commit.committer.time, commit: commit.oid };
    const zip = m[2] === "zip";
    const body = zip ? zipStream(src.store, commit.tree, opts) : tarGzStream(src.store, commit.tree, opts);
    return new Response(c.req.method === "HEAD" ? null : body, {
      headers: {
        "content-type": zip ? "application/zip" : "application/gzip",
        "content-disposition": `attachment; filename="${project}-${label}.${m[2]}"`,
        "x-content-type-options": "nosniff",
      },
    });
  });
}
