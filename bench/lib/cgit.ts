// Peer: cgit (a CGI in C on libgit) behind lighttpd, over one bare repository, with its own
// cgitrc in a temp dir (CGIT_CONFIG), never /etc/cgitrc.
//
// Caching, and what is fair:
// - cgit's cache (cache-size > 0) stores whole rendered pages in files keyed by URL; a hit still
//   costs a fork+exec of cgit.cgi, then a file copy. Pages addressed by a SHA-1 live forever
//   (cache-static-ttl=-1), pages addressed by a ref for cache-dynamic-ttl minutes (5 by default:
//   longer than a benchmark, so a ref-addressed page is never re-rendered during one).
// - Edgeforge caches pages addressed by an object id forever and resolves a ref before reusing the
//   immutable page, so its "warm" figure includes some caching too.
// So bench/web.ts runs cgit both ways, as two columns: "cgit" (cache-size=0: every request renders,
// which is cgit's best cold figure, a miss not paying for a cache write) and "cgit-cached"
// (cache-size=1000: cgit's best warm figure). Neither uses a source filter (no syntax
// highlighting), which keeps cgit's blob pages cheap; the log shows cgit's default 50 commits.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startLighttpd } from "./lighttpd";

const CGIT_CGI = "/usr/lib/cgit/cgit.cgi";

export interface Cgit {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** `blame`: cgit's blame pages on (off in its default configuration: they answer 403). */
export async function startCgit(bareRepo: string, opts: { cache: boolean; repoName?: string; blame?: boolean }): Promise<Cgit> {
  const repoName = opts.repoName ?? "repo";
  const server = await startLighttpd(
    opts.cache ? "cgit-cached" : "cgit",
    // As for git-http-backend: the alias makes lighttpd run cgit.cgi with PATH_INFO=/repo/tree/...,
    // and cgit builds its links from SCRIPT_NAME (/cgit), so no virtual-root or rewrite is needed.
    `
server.modules = ( "mod_alias", "mod_setenv", "mod_cgi" )
alias.url = ( "/cgit.css" => "/usr/share/cgit/cgit.css", "/cgit.png" => "/usr/share/cgit/cgit.png", "/cgit/" => "${CGIT_CGI}/" )
$HTTP["url"] =~ "^/cgit/" {
  cgi.assign = ( "" => "" )
  setenv.add-environment = ( "CGIT_CONFIG" => "$DIR/cgitrc" )
}
`,
  );
  // Written after start (the dir is lighttpd's temp dir); cgit reads it on every request.
  // cgit does not create cache-root: without the folder it silently renders every page.
  mkdirSync(join(server.dir, "cache"));
  writeFileSync(
    join(server.dir, "cgitrc"),
    [
      `css=/cgit.css`,
      `logo=/cgit.png`,
      opts.cache ? `cache-size=1000` : `cache-size=0`,
      `cache-root=${server.dir}/cache`,
      `enable-http-clone=0`,
      `snapshots=`,
      ...(opts.blame ? ["enable-blame=1"] : []),
      `repo.url=${repoName}`,
      `repo.path=${bareRepo}`,
      `repo.desc=benchmark repository`,
      "",
    ].join("\n"),
  );
  return { url: `http://127.0.0.1:${server.port}/cgit`, pid: server.pid, stop: () => server.stop() };
}

const isSha = (rev: string) => /^[0-9a-f]{40}$/.test(rev);
/** cgit takes a branch as h= and anything else (a commit id) as id=. */
const revQuery = (rev: string) => (isSha(rev) ? `id=${rev}` : `h=${encodeURIComponent(rev)}`);
const encPath = (path: string) => path.split("/").map(encodeURIComponent).join("/");

/** URL paths (after the base url) of cgit's pages for a repository. */
export const cgitPages = {
  tree: (repo: string, rev: string, path: string) => `/${repo}/tree/${encPath(path)}?${revQuery(rev)}`,
  // cgit's "tree" view of a file is its blob page (numbered lines); /plain/ would be the raw file.
  blob: (repo: string, rev: string, path: string) => `/${repo}/tree/${encPath(path)}?${revQuery(rev)}`,
  log: (repo: string, rev: string) => `/${repo}/log/?${revQuery(rev)}`,
  commit: (repo: string, sha: string) => `/${repo}/commit/?id=${sha}`,
};
