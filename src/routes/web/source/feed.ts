// The Atom feed of a branch's commits (/p/<project>/feed/commits/<branch>.atom).
import { logPage as walkLog } from "../../../git/history";
import { readCommit, resolveRev } from "../../../services/source";
import { isoTime } from "../../../views/source";
import { notFound, type SourcePage } from "./page";
import { ifNoneMatchHits } from "../../../utils/etag";

// ---- Atom feed of a branch's commits

const FEED_ENTRIES = 20;

const xml = (s: string) =>
  s
    .replace(/[&<>"]/g, (ch) => (ch === "&" ? "&amp;" : ch === "<" ? "&lt;" : ch === ">" ? "&gt;" : "&quot;"))
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "");

export async function commitFeed(p: SourcePage, rest: string[]): Promise<Response> {
  const { c } = p;
  if (rest[0] !== "commits" || rest.length < 2) return notFound(p);
  let branch: string;
  try {
    branch = rest.slice(1).map(decodeURIComponent).join("/");
  } catch {
    return notFound(p);
  }
  let rev = await resolveRev(p.src, branch);
  if (!rev && branch.endsWith(".atom")) rev = await resolveRev(p.src, branch.slice(0, -5));
  if (rev?.kind !== "branch") return notFound(p);
  const { src, urls } = p;
  const origin = new URL(c.req.url).origin;
  const page = await walkLog(src.graph, [rev.commit], { limit: FEED_ENTRIES });
  const self = `${origin}${urls.feed(rev.name)}`;
  let updated = 0;
  let entries = "";
  for (const info of page.commits) {
    const commit = await readCommit(src, info.oid);
    updated = Math.max(updated, commit.committer.time);
    entries +=
      `<entry><id>${xml(`${origin}${urls.commit(commit.oid)}`)}</id><title>${xml(commit.subject || "(no message)")}</title>` +
      `<link rel="alternate" type="text/html" href="${xml(`${origin}${urls.commit(commit.oid)}`)}"/>` +
      `<author><name>${xml(commit.author.name)}</name><email>${xml(commit.author.email)}</email></author>` +
      `<published>${isoTime(commit.author.time)}</published><updated>${isoTime(commit.committer.time)}</updated>` +
      `<content type="text">${xml(commit.message)}</content></entry>\n`;
  }
  const feed =
    `<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">` +
    `<id>${xml(self)}</id><title>${xml(`${p.project.name}: commits on ${rev.name}`)}</title>` +
    `<link rel="self" href="${xml(self)}"/><link rel="alternate" type="text/html" href="${xml(`${origin}${urls.log(rev.name)}`)}"/>` +
    `<updated>${isoTime(updated)}</updated>\n${entries}</feed>\n`;
  const etag = `"${rev.commit}"`;
  if (ifNoneMatchHits(c.req.header("if-none-match"), etag)) return new Response(null, { status: 304, headers: { etag } });
  return new Response(feed, {
    headers: { "content-type": "application/atom+xml; charset=utf-8", etag, "cache-control": "no-cache" },
  });
}
