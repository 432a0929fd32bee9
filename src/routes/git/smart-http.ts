// Git smart HTTP on tenant hosts: /<project>.git/info/refs and /<project>.git/git-upload-pack
// (fetch and clone at the edge). Pushes go to the push worker.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../../edge/context";
import { findProject } from "../../services/projects";
import { openRepoView } from "../../services/repositories";
import { advertiseV0, advertiseV2, uploadPackV0, uploadPackV2 } from "../../git/upload-pack";
import { GitError } from "../../git/errors";

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

const plain = (c: Context<AppEnv>, status: 400 | 403 | 404 | 413 | 415, message: string) =>
  c.text(message + "\n", status, { "cache-control": "no-cache" });

async function repoFor(c: Context<AppEnv>) {
  const name = c.req.param("project")!.slice(0, -4);
  const project = await findProject(c.get("db"), name);
  // Private projects come with accounts; until then they are hidden like missing ones.
  if (!project || project.private) return null;
  return { tenantId: c.get("tenant").id, repoId: project.repoId };
}

gitRoutes.get(`${PROJECT}/info/refs`, async (c) => {
  c.get("meter").component = "git.info-refs";
  const service = c.req.query("service");
  if (service !== "git-upload-pack" && service !== "git-receive-pack") {
    return plain(c, 403, "only the smart HTTP protocol is served: use git 1.6.6 or later");
  }
  const repo = await repoFor(c);
  if (!repo) return plain(c, 404, "repository not found");
  if (service === "git-receive-pack") return forwardToPush(c, repo);
  const version = protocolVersion(c);
  const body = version === 2 ? advertiseV2() : advertiseV0(await openRepoView(c.env, repo), version);
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
  const repo = await repoFor(c);
  if (!repo) return plain(c, 404, "repository not found");
  const body = await readBody(c);
  if (!body) return plain(c, 413, `request body over ${MAX_REQUEST_BYTES} bytes`);
  const view = await openRepoView(c.env, repo);
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
  const repo = await repoFor(c);
  if (!repo) return plain(c, 404, "repository not found");
  return forwardToPush(c, repo);
});

/** Reads the (possibly gzip-encoded) request body, up to the limit; null when over it. */
async function readBody(c: Context<AppEnv>): Promise<Uint8Array | null> {
  let stream = c.req.raw.body;
  if (!stream) return new Uint8Array(0);
  if ((c.req.header("content-encoding") ?? "").toLowerCase() === "gzip") {
    stream = stream.pipeThrough(new DecompressionStream("gzip"));
  }
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

function forwardToPush(c: Context<AppEnv>, repo: { tenantId: string; repoId: string }): Promise<Response> | Response {
  if (!c.env.PUSH) return plain(c, 403, "pushing is not available on this forge");
  const url = new URL(c.req.url);
  const headers = new Headers(c.req.raw.headers);
  headers.set("x-forge-tenant", repo.tenantId);
  headers.set("x-forge-repo", repo.repoId);
  return c.env.PUSH.fetch(new Request(url, { method: c.req.method, headers, body: c.req.raw.body }));
}
