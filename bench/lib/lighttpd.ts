// A throw-away lighttpd in the foreground on a free loopback port, configured from a temp dir.
// Shared by the git-http-backend and cgit peers: the same web server in front of both C programs,
// so the comparison is between the programs, not between web servers.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../test/e2e/runner";
import { tempDir, waitForPort } from "./run";

export interface Lighttpd {
  port: number;
  /** PID of the lighttpd process; CGI children descend from it (for memory sampling). */
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

/**
 * `body` is the site-specific part of lighttpd.conf; the common part (port, logs, temp dir,
 * streaming) is added here. `$DIR` in the body is replaced with the temp dir.
 */
export async function startLighttpd(name: string, body: string): Promise<Lighttpd> {
  const dir = tempDir(name);
  const port = await freePort();
  mkdirSync(join(dir, "www"));
  mkdirSync(join(dir, "uploads"));
  const conf = `
server.document-root = "${dir}/www"
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = "${dir}/error.log"
server.upload-dirs = ( "${dir}/uploads" )
# Responses go to the client as the CGI writes them (no spooling of a whole pack to temp files).
server.stream-response-body = 2
# Request bodies are buffered (the default): git push sends a chunked body when the pack is larger
# than http.postBuffer, and CGI/1.1 needs CONTENT_LENGTH, so lighttpd answers 411 to a streamed
# chunked body; buffered, it spools the pack to upload-dirs and then runs the CGI with its length.
server.stream-request-body = 0
server.max-request-size = 0
server.max-keep-alive-requests = 10000
${body.replaceAll("$DIR", dir)}
`;
  writeFileSync(join(dir, "lighttpd.conf"), conf);
  const child: ChildProcess = spawn("lighttpd", ["-D", "-f", join(dir, "lighttpd.conf")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // If the benchmark dies half-way, do not leave a server behind.
  const kill = () => child.kill("SIGTERM");
  process.once("exit", kill);
  try {
    await Promise.race([
      waitForPort(port),
      exited.then(() => {
        throw new Error(
          `lighttpd exited: ${stderr}${existsSync(join(dir, "error.log")) ? readFileSync(join(dir, "error.log"), "utf8") : ""}`,
        );
      }),
    ]);
  } catch (err) {
    child.kill("SIGTERM");
    throw err;
  }
  return {
    port,
    pid: child.pid!,
    dir,
    async stop() {
      process.off("exit", kill);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
