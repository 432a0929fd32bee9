// Git smart HTTP on tenant hosts: /<project>.git/info/refs and /<project>.git/git-upload-pack
// (fetch and clone at the edge). Pushes go to the push worker.
import { Hono, type Context, type MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { component } from "../middleware/guards";
import { gitPlain, requireGitAccess } from "../middleware/git-access";
import { protectedRefs } from "../../services/projects";
import { forgetEdgeRefs, openRepoView } from "../../services/repositories";
import { advertiseV0, advertiseV2, uploadPackV0, uploadPackV2 } from "../../git/upload-pack";
import { decodedBody } from "../../git/content-encoding";
import { isHiddenRef } from "../../git/ref-names";

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

/** The repository of a request that passed requireGitAccess. */
const repoOf = (c: Context<AppEnv>) => ({ tenantId: c.get("tenant").id, repoId: c.get("project").repoId });

/** Only the smart protocol's two services are advertised. */
const smartService: MiddlewareHandler<AppEnv> = async (c, next) => {
  const service = c.req.query("service");
  if (service !== "git-upload-pack" && service !== "git-receive-pack") {
    return gitPlain(c, 403, "only the smart HTTP protocol is served: use git 1.6.6 or later");
  }
  await next();
};

/** Refuses an upload-pack request that is not one before asking who sends it. */
const uploadPackRequest: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.header("content-type") !== "application/x-git-upload-pack-request") {
    return gitPlain(c, 415, "expected application/x-git-upload-pack-request");
  }
  await next();
};

/** The repository as fetches see it: the forge's hidden refs (refs/reviews/) are neither advertised nor wanted by name. */
async function visibleRepoView(c: Context<AppEnv>) {
  const view = await openRepoView(c.env, repoOf(c));
  return { ...view, refs: view.refs.filter((r) => !isHiddenRef(r.name)) };
}

const pushing = (c: Context<AppEnv>) => c.req.query("service") === "git-receive-pack";

gitRoutes.get(
  `${PROJECT}/info/refs`,
  component("git.info-refs"),
  smartService,
  requireGitAccess((c) => (pushing(c) ? "write" : "read")),
  async (c) => {
    if (pushing(c)) return forwardToPush(c);
    const version = protocolVersion(c);
    const body = version === 2 ? advertiseV2() : advertiseV0(await visibleRepoView(c), version);
    return c.body(body as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/x-git-upload-pack-advertisement",
      "cache-control": "no-cache",
    });
  },
);

// A GitError (corrupt gzip body, malformed request) answers 400 through the app's error handler.
gitRoutes.post(
  `${PROJECT}/git-upload-pack`,
  component("git.upload-pack"),
  uploadPackRequest,
  requireGitAccess("read"),
  async (c) => {
    const body = await readBody(c);
    if (!body) return gitPlain(c, 413, `request body over ${MAX_REQUEST_BYTES} bytes`);
    const view = await visibleRepoView(c);
    const result = protocolVersion(c) === 2 ? uploadPackV2(view, body) : uploadPackV0(view, body);
    c.executionCtx.waitUntil(result.done);
    return c.body(result.stream, 200, {
      "content-type": "application/x-git-upload-pack-result",
      "cache-control": "no-cache",
    });
  },
);

gitRoutes.post(`${PROJECT}/git-receive-pack`, component("git.receive-pack"), requireGitAccess("write"), (c) => forwardToPush(c));

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
async function forwardToPush(c: Context<AppEnv>): Promise<Response> {
  if (!c.env.PUSH) return gitPlain(c, 403, "pushing is not available on this forge");
  const repo = repoOf(c);
  const headers = new Headers(c.req.raw.headers);
  headers.delete("authorization");
  // Only the forge's own pushes write hidden refs (services/reviews/push-merge.ts): never a client's.
  headers.delete("x-forge-hidden-refs");
  headers.set("x-forge-tenant", repo.tenantId);
  headers.set("x-forge-repo", repo.repoId);
  headers.set("x-forge-pusher", c.get("viewer").user?.username ?? "");
  headers.set("x-forge-max-repo-bytes", String(c.get("tenant").plan.maxRepoBytes));
  headers.set("x-forge-protected", JSON.stringify(protectedRefs(c.get("project"))));
  const res = await c.env.PUSH.fetch(new Request(c.req.url, { method: c.req.method, headers, body: c.req.raw.body }));
  // The refs have moved once git has read the push worker's whole report: pages here show the push
  // from then on (services/edge-refs.ts), the data centre's copy of the refs dropped before the end.
  const body = res.body?.pipeThrough(new TransformStream({ flush: () => forgetEdgeRefs(repo) }));
  // A fetched response's headers are immutable; middleware adds its own.
  return new Response(body ?? null, res);
}
