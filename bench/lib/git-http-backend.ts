// Peer: C git's smart-HTTP server (git-http-backend, a CGI) behind lighttpd, over a directory of
// bare repositories. Clone URL: `${url}/<name>.git`.
//
// Protocol v2: the client asks for it with a `Git-Protocol: version=2` request header, and
// upload-pack only looks at the GIT_PROTOCOL environment variable. lighttpd's mod_cgi passes every
// request header as HTTP_<NAME>, so the CGI sees HTTP_GIT_PROTOCOL; git-http-backend itself copies
// HTTP_GIT_PROTOCOL to GIT_PROTOCOL since git 2.34, so no web server set-up is needed. For an older
// git, start() notices (the probe below gets a v0 advertisement) and puts a two-line wrapper
// script in front that does the copy.
import { chmodSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "node:http";
import { startLighttpd, type Lighttpd } from "./lighttpd";
import { tempDir } from "./run";

const GIT_HTTP_BACKEND = "/usr/lib/git-core/git-http-backend";

export interface GitHttpBackend {
  /** Base URL; a repository `<root>/x.git` is at `${url}/x.git`. */
  url: string;
  /** lighttpd's PID: git-http-backend, upload-pack and pack-objects run as its descendants. */
  pid: number;
  /** True when the CGI needed the GIT_PROTOCOL wrapper script. */
  wrapped: boolean;
  stop(): Promise<void>;
}

function config(projectRoot: string, cgi: string): string {
  // alias.url maps /git/ onto the CGI binary; lighttpd runs the longest existing prefix of the
  // physical path as the CGI and hands it the rest as PATH_INFO (/x.git/info/refs).
  return `
server.modules = ( "mod_alias", "mod_setenv", "mod_cgi" )
alias.url = ( "/git/" => "${cgi}/" )
$HTTP["url"] =~ "^/git/" {
  cgi.assign = ( "" => "" )
  setenv.add-environment = (
    "GIT_PROJECT_ROOT" => "${projectRoot}",
    "GIT_HTTP_EXPORT_ALL" => "1",
  )
}
`;
}

/** GETs the v2 capability advertisement and tells whether the server spoke v2. */
function speaksV2(port: number, repo: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: `/git/${repo}/info/refs?service=git-upload-pack`,
        headers: { "Git-Protocol": "version=2" },
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString("latin1")));
        res.on("end", () => resolve(body.includes("version 2")));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/**
 * Starts lighttpd + git-http-backend over `projectRoot`. `probeRepo` (a repository name under the
 * root, e.g. "express.git") is used to check that protocol v2 is negotiated.
 * Pushes need `http.receivepack=true` in each repository's config (see repo.ts).
 */
export async function startGitHttpBackend(projectRoot: string, probeRepo: string): Promise<GitHttpBackend> {
  let server: Lighttpd = await startLighttpd("git-http-backend", config(projectRoot, GIT_HTTP_BACKEND));
  let wrapperDir: string | null = null;
  if (!(await speaksV2(server.port, probeRepo))) {
    await server.stop();
    wrapperDir = tempDir("ghb-wrapper");
    const wrapper = join(wrapperDir, "git-http-backend");
    writeFileSync(wrapper, `#!/bin/sh\nexport GIT_PROTOCOL="$HTTP_GIT_PROTOCOL"\nexec ${GIT_HTTP_BACKEND}\n`);
    chmodSync(wrapper, 0o755);
    server = await startLighttpd("git-http-backend", config(projectRoot, wrapper));
    if (!(await speaksV2(server.port, probeRepo))) {
      await server.stop();
      throw new Error("git-http-backend does not negotiate protocol v2 even with the GIT_PROTOCOL wrapper");
    }
  }
  const s = server;
  const dir = wrapperDir;
  return {
    url: `http://127.0.0.1:${s.port}/git`,
    pid: s.pid,
    wrapped: dir !== null,
    async stop() {
      await s.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
