// The source part of a project's home page: latest commit of the default branch, links into the
// browser, and the README; or, for an empty repository, where to look to push the first commit.
import type { Context } from "hono";
import type { AppEnv } from "../../edge/context";
import { isBinary } from "../../git/diff";
import { blobStorage } from "../../git/blob-stream";
import { listTree } from "../../git/tree-path";
import type { Project } from "../../services/projects";
import { branches, openSource, readCommit, resolveRev, tags } from "../../services/source";
import { renderMarkdown } from "../../utils/markdown";
import { cacheUrl, getFragment, putFragment } from "../../services/page-cache";
import { escapeHtml } from "../../views/highlight";
import { SourceUrls, timeHtml } from "../../views/source";

const README = /^readme(\.(md|markdown|mdown|txt))?$/i;

/** HTML for the project home (the caller has checked that the viewer reads the source). */
export async function sourceSummary(c: Context<AppEnv>, project: Project): Promise<string> {
  const src = await openSource(c.env, { tenantId: c.get("tenant").id, repoId: project.repoId });
  const urls = new SourceUrls(project.name);
  const head = await resolveRev(src, "HEAD");
  if (!head) {
    return `<h2>Source</h2><p class="notice">The repository is empty. <a href="${escapeHtml(urls.home())}">See how to push to it</a>.</p>`;
  }
  // The same for every viewer until a ref moves: cached under the refs version.
  const url = cacheUrl({
    origin: new URL(c.req.url).origin,
    tenantId: src.repo.tenantId,
    repoId: src.repo.repoId,
    purges: src.snapshot.purges ?? 0,
    parts: ["summary", head.name, head.commit, String(src.snapshot.version)],
  });
  const cached = await getFragment(url);
  if (cached !== null) return cached;
  const commit = await readCommit(src, head.commit);
  const nBranches = branches(src.snapshot).length;
  const nTags = tags(src.snapshot).length;
  let s = `<h2>Source</h2><p><a href="${escapeHtml(urls.home())}">Browse files</a> · <a href="${escapeHtml(urls.log(head.name))}">Log</a> · <a href="${escapeHtml(urls.branches())}">${nBranches} branch${nBranches === 1 ? "" : "es"}</a> · <a href="${escapeHtml(urls.tags())}">${nTags} tag${nTags === 1 ? "" : "s"}</a></p>`;
  const href = escapeHtml(urls.commit(commit.oid));
  s += `<div class="tip"><span class="muted">${escapeHtml(head.name)}</span> <a class="mono" href="${href}">${commit.oid.slice(0, 7)}</a> <a href="${href}">${escapeHtml(commit.subject || "(no message)")}</a> <span class="muted">${escapeHtml(commit.author.name)} · ${timeHtml(commit.committer.time)}</span></div>`;
  const readme = (await listTree(src.store, commit.tree))
    .filter((e) => e.type === "blob" && README.test(e.name))
    .sort((a, b) => (/\.m/i.test(b.name) ? 1 : 0) - (/\.m/i.test(a.name) ? 1 : 0))[0];
  if (readme && (await blobStorage(src.store, readme.oid)).size <= 512 * 1024) {
    const data = await src.store.readTyped(readme.oid, "blob");
    if (!isBinary(data)) {
      const text = new TextDecoder().decode(data);
      const body = /\.m/i.test(readme.name)
        ? `<div class="md">${renderMarkdown(text)}</div>`
        : `<pre class="plain">${escapeHtml(text)}</pre>`;
      s += `<section class="readme" aria-label="${escapeHtml(readme.name)}"><h2><a href="${escapeHtml(urls.blob(head.name, [readme.name]))}">${escapeHtml(readme.name)}</a></h2>${body}</section>`;
    }
  }
  c.executionCtx.waitUntil(putFragment(url, s).catch(() => undefined));
  return s;
}
