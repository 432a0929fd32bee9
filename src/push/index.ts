// Push worker entry: git receive-pack, repository imports (both reached only through the edge
// worker's service binding) and the Repo Durable Object class.
import { Hono } from "hono";
import type { Env } from "../env";
import { ForgeError } from "../utils/errors";
import { completeImport, getImport, startImport, uploadPart, type NewImport } from "./import";
import { receivePack } from "./receive";
import { faultOf, withFault } from "./faults";
import { advertiseReceivePack } from "../git/receive-pack";
import { isHiddenRef } from "../git/ref-names";
import { repoStub } from "../services/repositories";
import { runLastCommitsWalk, BACKGROUND_BUDGET } from "../services/last-commits";
import { type DeriveRequest, deriveAfterPush } from "../services/derive-after-push";
import { isCheckpointDrive } from "../services/checkpoint-drive";
import { callsSoFar, logJob, meteredJob } from "../services/background-log";
import { asUpload } from "../services/upload-activity";
import { OID_HEX } from "../git/oid";
import { withWan } from "../obs/wan";
import { inRequestScope } from "../utils/request-scope";
import { PUSH_CACHE_BOUNDS, useCacheBounds } from "../utils/edge-budget";

export { RepoObject } from "../repo/repo-object";

// This isolate's own cache bounds (utils/edge-budget.ts): its caches and its largest operation,
// a pack's indexing, within the isolate's 128 MB. Every module has made its caches by now.
useCacheBounds(PUSH_CACHE_BOUNDS);

const app = new Hono<{ Bindings: Env }>();

app.get("/healthz", (c) => c.text("ok\n"));

const repoOf = (c: { req: { param: (k: string) => string } }) => ({
  tenantId: c.req.param("tenant"),
  repoId: c.req.param("repo"),
});

app.post("/internal/repos/:tenant/:repo/imports", async (c) =>
  c.json(await startImport(c.env, repoOf(c), (await c.req.json()) as NewImport), 201),
);
app.get("/internal/repos/:tenant/:repo/imports/:id", async (c) => c.json(await getImport(c.env, repoOf(c), c.req.param("id"))));
app.put("/internal/repos/:tenant/:repo/imports/:id/parts/:part", async (c) => {
  const length = Number(c.req.header("content-length"));
  if (!c.req.raw.body || !Number.isSafeInteger(length))
    throw new ForgeError("bad_request", "a part needs a body with Content-Length");
  const body = c.req.raw.body;
  return c.json(await asUpload(() => uploadPart(c.env, repoOf(c), c.req.param("id"), Number(c.req.param("part")), body, length)));
});
app.post("/internal/repos/:tenant/:repo/imports/:id/complete", async (c) =>
  c.json(await asUpload(() => completeImport(c.env, repoOf(c), c.req.param("id")))),
);

/** The edge has authenticated and authorized the pusher; it names the repository in headers. */
function pushContext(req: Request) {
  const h = (name: string) => req.headers.get(name);
  const tenantId = h("x-forge-tenant");
  const repoId = h("x-forge-repo");
  if (!tenantId || !repoId) throw new ForgeError("bad_request", "no repository named");
  let protectedRefs: string[] = [];
  try {
    protectedRefs = JSON.parse(h("x-forge-protected") ?? "[]") as string[];
  } catch {
    protectedRefs = [];
  }
  return {
    repo: { tenantId, repoId },
    pusher: h("x-forge-pusher") ?? "unknown",
    maxRepoBytes: Number(h("x-forge-max-repo-bytes") ?? 0) || 2 * 1024 ** 3,
    protectedRefs: new Set(protectedRefs),
    // Set by the edge's own pushes only (services/reviews/push-merge.ts); dropped from clients'.
    hiddenRefs: h("x-forge-hidden-refs") === "write",
  };
}

app.get("/:project{[^/]+\\.git}/info/refs", async (c) => {
  const ctx = pushContext(c.req.raw);
  const snapshot = await repoStub(c.env, ctx.repo).snapshot();
  const version = /version=1/.test(c.req.header("git-protocol") ?? "") ? 1 : 0;
  const body = advertiseReceivePack(
    snapshot.refs.filter((r) => !isHiddenRef(r.name)),
    version,
  );
  return c.body(body as Uint8Array<ArrayBuffer>, 200, {
    "content-type": "application/x-git-receive-pack-advertisement",
    "cache-control": "no-cache",
  });
});

app.post("/:project{[^/]+\\.git}/git-receive-pack", async (c) =>
  receivePack(withFault(c.env, faultOf(c.env, c.req.raw)), pushContext(c.req.raw), c.req.raw),
);

// Derived data, computed here rather than in the edge so that a long walk never holds up pages:
// after a push (the edge's queue consumer asks), and for a page that found no stored answer.
app.post("/internal/repos/:tenant/:repo/derive", async (c) => {
  const body = (await c.req.json()) as Omit<DeriveRequest, "tenantId" | "repoId">;
  if (!Array.isArray(body.updates)) throw new ForgeError("bad_request", "derive needs the ref updates of the push");
  if (body.drive !== undefined && !isCheckpointDrive(body.drive))
    throw new ForgeError("bad_request", "derive's drive must be a checkpoint drive message");
  const at = Date.now();
  const job = body.drive ? "drive" : "derive";
  const env = meteredJob(c.env, job);
  const done = await deriveAfterPush(env, { ...repoOf(c), updates: body.updates, drive: body.drive }, (p) =>
    c.executionCtx.waitUntil(p),
  );
  logJob(job, at, {
    repo: c.req.param("repo"),
    updates: body.updates.length,
    drive: body.drive?.id,
    ...done,
    ...callsSoFar(env),
  });
  return c.json({ ok: true });
});
app.post("/internal/repos/:tenant/:repo/last-commits/:commit", async (c) => {
  const commit = c.req.param("commit");
  if (!OID_HEX.test(commit)) throw new ForgeError("bad_request", "a last-commit walk needs a full commit id");
  const asked = Number(c.req.header("x-forge-walk-steps"));
  const steps = Number.isFinite(asked) && asked > 0 ? Math.min(asked, BACKGROUND_BUDGET.steps) : BACKGROUND_BUDGET.steps;
  const env = meteredJob(c.env, "walk");
  return c.json(await runLastCommitsWalk(env, repoOf(c), commit, steps, (p) => c.executionCtx.waitUntil(p)));
});

app.post("/internal/repos/:tenant/:repo/upkeep", async (c) => c.json(await repoStub(c.env, repoOf(c)).upkeep({ force: true })));

app.notFound((c) => c.text("pushing is not available on this forge yet\n", 501));
app.onError((err, c) => {
  if (err instanceof ForgeError) return c.json({ error: { code: err.code, message: err.message } }, err.status as 400);
  console.error(JSON.stringify({ level: "error", message: String(err?.stack ?? err) }));
  return c.json({ error: { code: "internal", message: "internal error in the push service" } }, 500);
});

export default {
  // Injected distance (FORGE_WAN_MS, local runs only) for every storage call of this worker too.
  // Each request in its own scope: in-flight reads are not joined across requests (utils/request-scope.ts).
  fetch: (request, env, ctx) => inRequestScope(() => app.fetch(request, withWan(env), ctx)),
} satisfies ExportedHandler<Env>;
