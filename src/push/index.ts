// Push worker entry: git receive-pack, repository imports (both reached only through the edge
// worker's service binding) and the Repo Durable Object class.
import { Hono } from "hono";
import type { Env } from "../env";
import { ForgeError } from "../utils/errors";
import { completeImport, getImport, startImport, uploadPart, type NewImport } from "./import";

export { RepoObject } from "../repo/repo-object";

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
  if (!c.req.raw.body || !Number.isSafeInteger(length)) throw new ForgeError("bad_request", "a part needs a body with Content-Length");
  return c.json(await uploadPart(c.env, repoOf(c), c.req.param("id"), Number(c.req.param("part")), c.req.raw.body, length));
});
app.post("/internal/repos/:tenant/:repo/imports/:id/complete", async (c) =>
  c.json(await completeImport(c.env, repoOf(c), c.req.param("id"))),
);

app.notFound((c) => c.text("pushing is not available on this forge yet\n", 501));
app.onError((err, c) => {
  if (err instanceof ForgeError) return c.json({ error: { code: err.code, message: err.message } }, err.status as 400);
  console.error(JSON.stringify({ level: "error", message: String(err?.stack ?? err) }));
  return c.json({ error: { code: "internal", message: "internal error in the push service" } }, 500);
});

export default app satisfies ExportedHandler<Env>;
