// Git smart HTTP on tenant hosts: /<project>.git/info/refs and /<project>.git/git-upload-pack
// (fetch and clone at the edge). Pushes go to the push worker.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../context";
import { findProject, protectedRefs, type Project } from "../../services/projects";
import { ANONYMOUS, canAccess, deniedStatus, type Viewer } from "../../auth/access";
import { authenticateGitBasic } from "../../services/credentials";
import { openRepoView } from "../../services/repositories";
import { advertiseV0, advertiseV2, uploadPackV0, uploadPackV2 } from "../../git/upload-pack";
import { GitError } from "../../git/errors";
import { decodedBody } from "../../git/content-encoding";

export const gitRoutes = new Hono<AppEnv>();

/** Largest upload-pack request body (wants and haves) accepted. */
const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

const PROJECT = "/:project{[a-z0-9][a-z0-9._-]*\\.git}";

function protocolVersion(c: Context<AppEnv>): 0 | 1 | 2 {
  const header = c.req.header("git-protocol") ?? "";
  const versions = header
    .split(":")
    .filter((p) => p.startsWith("version="))
    .map((p) => Number(p.slice(8)));
  if (versions.includes(2)) return 2;
  if (versions.includes(1)) return 1;
  return 0;
}

const plain = (c: Context<AppEnv>, status: 400 | 401 | 403 | 404 | 413 | 415, message: string) =>
  c.text(message + "\n", status, { "cache-control": "no-cache" });

interface GitAccess {
  project: Project;
  viewer: Viewer;
  repo: { tenantId: string; repoId: string };
}

/**
 * Who asks (HTTP Basic with an API token as the password, or nobody) and whether they may read
 * or push. Anonymous requests for anything they cannot read get 401, so git asks for credentials,
 * whether or not the repository exists; signed-in ones get 404 (hidden looks like missing).
 */
async function gitAccess(c: Context<AppEnv>, mode: "read" | "write"): Promise<GitAccess | Response> {
  const header = c.req.header("authorization");
  const viewer = header ? await authenticateGitBasic(c.get("db"), header) : ANONYMOUS;
  const challenge = () => {
    c.header("WWW-Authenticate", `Basic realm="${c.get("tenant").name.replace(/["\\]/g, "")}", charset="UTF-8"`);
    return plain(c, 401, "authentication required: use your username and an API token as the password");
  };
  if (!viewer) return challenge();
  const project = await findProject(c.get("db"), c.req.param("project")!.slice(0, -4));
  if (!project || !canAccess(viewer, project, "source", mode)) {
    const status = deniedStatus(viewer, project, "source", mode, { challengeAnonymous: true });
    if (status === 401) return challenge();
    if (status === 403) return plain(c, 403, `${viewer.user?.username ?? "you"} may not push to this repository`);
    return plain(c, 404, "repository not found");
  }
  return { project, viewer, repo: { tenantId: c.get("tenant").id, repoId: project.repoId } };
}

gitRoutes.get(`${PROJECT}/info/refs`, async (c) => {
  c.get("meter").component = "git.info-refs";
  const service = c.req.query("service");
  if (service !== "git-upload-pack" && service !== "git-receive-pack") {
    return plain(c, 403, "only the smart HTTP protocol is served: use git 1.6.6 or later");
  }
  const access = await gitAccess(c, service === "git-receive-pack" ? "write" : "read");
  if (access instanceof Response) return access;
  if (service === "git-receive-pack") return forwardToPush(c, access);
  const version = protocolVersion(c);
  const body = version === 2 ? advertiseV2() : advertiseV0(await openRepoView(c.env, access.repo), version);
  return c.body(body as Uint8Array<ArrayBuffer>, 200, {
    "content-type": "application/x-git-upload-pack-advertisement",
    "cache-control": "no-cache",
  });
});

gitRoutes.post(`${PROJECT}/git-upload-pack`, async (c) => {
  c.get("meter").component = "git.upload-pack";
  if (c.req.header("content-type") !== "application/x-git-upload-pack-request") {
    return plain(c, 415, "expected application/x-git-upload-pack-request");
  }
  const access = await gitAccess(c, "read");
  if (access instanceof Response) return access;
  let body;
  try {
    body = await readBody(c);
  } catch (err) {
    if (err instanceof GitError) return plain(c, 400, err.message);
    throw err;
  }
  if (!body) return plain(c, 413, `request body over ${MAX_REQUEST_BYTES} bytes`);
  const view = await openRepoView(c.env, access.repo);
  let result;
  try {
    result = protocolVersion(c) === 2 ? uploadPackV2(view, body) : uploadPackV0(view, body);
  } catch (err) {
    if (err instanceof GitError) return plain(c, 400, err.message);
    throw err;
  }
  c.executionCtx.waitUntil(result.done);
  return c.body(result.stream, 200, {
    "content-type": "application/x-git-upload-pack-result",
    "cache-control": "no-cache",
  });
});

gitRoutes.post(`${PROJECT}/git-receive-pack`, async (c) => {
  c.get("meter").component = "git.receive-pack";
  const access = await gitAccess(c, "write");
  if (access instanceof Response) return access;
  return forwardToPush(c, access);
});

/**
 * Reads the (possibly gzip-encoded) request body, up to the limit; null when over it. A corrupt
 * gzip body throws a GitError.
 */
async function readBody(c: Context<AppEnv>): Promise<Uint8Array | null> {
  if (!c.req.raw.body) return new Uint8Array(0);
  const stream = decodedBody(c.req.raw.body, c.req.header("content-encoding"));
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > MAX_REQUEST_BYTES) return null;
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const ch of chunks) {
    out.set(ch, o);
    o += ch.length;
  }
  return out;
}

/** Hands a push to the push worker, naming the repository, the pusher and the rules that apply. */
async function forwardToPush(c: Context<AppEnv>, access: GitAccess): Promise<Response> {
  if (!c.env.PUSH) return plain(c, 403, "pushing is not available on this forge");
  const headers = new Headers(c.req.raw.headers);
  headers.delete("authorization");
  headers.set("x-forge-tenant", access.repo.tenantId);
  headers.set("x-forge-repo", access.repo.repoId);
  headers.set("x-forge-pusher", access.viewer.user?.username ?? "");
  headers.set("x-forge-max-repo-bytes", String(c.get("tenant").plan.maxRepoBytes));
  headers.set("x-forge-protected", JSON.stringify(protectedRefs(access.project)));
  const res = await c.env.PUSH.fetch(new Request(c.req.url, { method: c.req.method, headers, body: c.req.raw.body }));
  // A fetched response's headers are immutable; middleware adds its own.
  return new Response(res.body, res);
}
