// The guard of git smart HTTP: who asks (HTTP Basic with an API token as the password, or
// nobody) and whether canAccess lets them read or push the repository of the URL.
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { ANONYMOUS, canAccess, deniedStatus, type Mode } from "../../auth/access";
import { authenticateGitBasic } from "../../services/credentials";
import { findProject } from "../../services/projects";

/** git shows the body of an error answer to its user; a trailing newline ends the line. */
export const gitPlain = (c: Context<AppEnv>, status: 400 | 401 | 403 | 404 | 413 | 415, message: string) =>
  c.text(`${message}\n`, status, { "cache-control": "no-cache" });

/**
 * Puts the URL's project (`/<name>.git/...`) and the viewer on the context when they may use it
 * in `mode`. Anonymous requests for anything they cannot read get 401, so git asks for
 * credentials, whether or not the repository exists; signed-in ones get 404 (hidden looks like
 * missing), or 403 for a push by a reader.
 */
export function requireGitAccess(mode: Mode | ((c: Context<AppEnv>) => Mode)): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const need = typeof mode === "function" ? mode(c) : mode;
    const header = c.req.header("authorization");
    const viewer = header ? await authenticateGitBasic(c.get("db"), header) : ANONYMOUS;
    const challenge = () => {
      c.header("WWW-Authenticate", `Basic realm="${c.get("tenant").name.replace(/["\\]/g, "")}", charset="UTF-8"`);
      return gitPlain(c, 401, "authentication required: use your username and an API token as the password");
    };
    if (!viewer) return challenge();
    const project = await findProject(c.get("db"), c.req.param("project")!.slice(0, -4));
    if (!project || !canAccess(viewer, project, "source", need)) {
      const status = deniedStatus(viewer, project, "source", need, { challengeAnonymous: true });
      if (status === 401) return challenge();
      if (status === 403) return gitPlain(c, 403, `${viewer.user?.username ?? "you"} may not push to this repository`);
      return gitPlain(c, 404, "repository not found");
    }
    c.set("project", project);
    c.set("viewer", viewer);
    await next();
  };
}
