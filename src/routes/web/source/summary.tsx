// The source part of a project's home page: latest commit of the default branch, links into the
// browser, and the README; or, for an empty repository, where to look to push the first commit.
import type { Context } from "hono";
import type { AppEnv } from "../../context";
import { isBinary } from "../../../git/diff";
import { blobStorage } from "../../../git/blob-stream";
import { listTree } from "../../../git/tree-path";
import type { Project } from "../../../services/projects";
import { branches, openSource, readCommit, resolveRev, tags } from "../../../services/source";
import { markdownHtml } from "../../../views/markdown";
import { cacheUrl, getFragment, putFragment } from "../../../services/page-cache";
import { SourceUrls } from "../../../views/source";
import type { ReadmeView } from "../../../views/source/files";
import type { Markup } from "../../../views/source/markup";
import { sourceSummaryBody } from "../../../views/source/refs";
import { cachedBody } from "../../../views/trusted-html";

const README = /^readme(\.(md|markdown|mdown|txt))?$/i;

/** The source part of the project home (the caller has checked that the viewer reads the source). */
export async function sourceSummary(c: Context<AppEnv>, project: Project): Promise<Markup> {
  const src = await openSource(c.env, { tenantId: c.get("tenant").id, repoId: project.repoId });
  const urls = new SourceUrls(project.name);
  const head = await resolveRev(src, "HEAD");
  if (!head) return sourceSummaryBody({ urls, head: null });
  // The same for every viewer until a ref moves: cached under the refs version.
  const url = cacheUrl({
    origin: new URL(c.req.url).origin,
    tenantId: src.repo.tenantId,
    repoId: src.repo.repoId,
    purges: src.snapshot.purges ?? 0,
    parts: ["summary", head.name, head.commit, String(src.snapshot.version)],
  });
  const cached = await getFragment(url);
  if (cached !== null) return cachedBody(cached);
  const commit = await readCommit(src, head.commit);
  const found = (await listTree(src.store, commit.tree))
    .filter((e) => e.type === "blob" && README.test(e.name))
    .sort((a, b) => (/\.m/i.test(b.name) ? 1 : 0) - (/\.m/i.test(a.name) ? 1 : 0))[0];
  let readme: ReadmeView | undefined;
  if (found && (await blobStorage(src.store, found.oid)).size <= 512 * 1024) {
    const data = await src.store.readTyped(found.oid, "blob");
    if (!isBinary(data)) {
      const text = new TextDecoder().decode(data);
      readme = {
        name: found.name,
        href: urls.blob(head.name, [found.name]),
        body: /\.m/i.test(found.name)
          ? { markdown: markdownHtml(text, undefined, { project: project.name, commit: commit.oid, dir: [] }) }
          : { text },
      };
    }
  }
  const body = sourceSummaryBody({
    urls,
    head: {
      branches: branches(src.snapshot).length,
      tags: tags(src.snapshot).length,
      logHref: urls.log(head.name),
      tip: {
        label: head.name,
        oid: commit.oid,
        href: urls.commit(commit.oid),
        subject: commit.subject,
        author: commit.author.name,
        time: commit.committer.time,
      },
      readme,
    },
  });
  c.executionCtx.waitUntil(putFragment(url, body.toString()).catch(() => undefined));
  return body;
}
