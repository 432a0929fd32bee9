// The wiki's REST API in workerd: pages (current and old revisions, Markdown and HTML), saves
// that name their base revision (409 when stale), revisions, deletion, files, access, OpenAPI.
import { beforeAll, describe, expect, it } from "vitest";
import { Browser, apiCall, newForge, registerUser, type Forge, ok, webToken } from "./browser";
import { edge } from "./helpers";

let forge: Forge;
let mia: string; // member, write token
let stan: string; // signed in, not a member
let miaRead: string;
const base = "/api/v1/projects/docs/wiki/pages";
const call = (method: string, path: string, token?: string, body?: unknown) => apiCall(forge.host, method, path, token, body);

interface PageJson {
  name: string;
  title: string;
  labels: string[];
  revision: number;
  current_revision: number;
  content: string;
  html: string;
  author: string | null;
}

beforeAll(async () => {
  forge = await newForge("wikiapi");
  const miaB = await registerUser(forge, "mia");
  const stanB = await registerUser(forge, "stan");
  mia = await webToken(miaB, "write");
  miaRead = await webToken(miaB, "read");
  stan = await webToken(stanB, "write");
  await ok(await call("POST", "/api/v1/projects", forge.ownerToken, { name: "docs" }), 201);
  await ok(await call("POST", "/api/v1/projects", forge.ownerToken, { name: "hidden", private: true }), 201);
  const owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  expect((await owner.post("/p/docs/admin/members", { username: "mia", role: "member" })).status).toBe(303);
}, 120_000);

describe("pages", () => {
  it("creates, reads (Markdown and HTML), updates from a base revision and answers 409 when stale", async () => {
    const created = await ok<PageJson>(
      await call("POST", base, mia, {
        name: "Getting Started",
        content: "# Hi\n\nSee [[Nowhere]]. <script>x</script>",
        labels: ["featured"],
      }),
      201,
    );
    expect(created).toMatchObject({
      name: "Getting-Started",
      title: "Getting Started",
      revision: 1,
      labels: ["Featured"],
      author: "mia",
    });
    expect(created.html).toContain('class="wiki-link wiki-missing"');
    expect(created.html).not.toContain("<script>");
    await ok(await call("POST", base, mia, { name: "getting-started", content: "again" }), 409);
    const updated = await ok<PageJson>(
      await call("PUT", `${base}/Getting-Started`, mia, { content: "second", base_revision: 1, message: "shorter" }),
    );
    expect(updated).toMatchObject({ revision: 2, content: "second", labels: ["Featured"] });
    const stale = await ok<{ error: { code: string; message: string } }>(
      await call("PUT", `${base}/Getting-Started`, mia, { content: "lost?", base_revision: 1 }),
      409,
    );
    expect(stale.error.code).toBe("conflict");
    expect((await ok<PageJson>(await call("GET", `${base}/Getting-Started`))).content).toBe("second");
    const old = await ok<PageJson>(await call("GET", `${base}/Getting-Started?revision=1`));
    expect(old).toMatchObject({ revision: 1, current_revision: 2 });
    expect(old.content).toContain("# Hi");
    const revisions = await ok<{ number: number; comment: string }[]>(await call("GET", `${base}/Getting-Started/revisions`));
    expect(revisions.map((r) => [r.number, r.comment])).toEqual([
      [2, "shorter"],
      [1, ""],
    ]);
    expect((await ok<PageJson>(await call("GET", `${base}/Getting-Started/revisions/1`))).revision).toBe(1);
    await ok(await call("GET", `${base}/Getting-Started/revisions/7`), 404);
    const list = await ok<{ name: string }[]>(await call("GET", `${base}?label=Featured`));
    expect(list.map((p) => p.name)).toEqual(["Getting-Started"]);
  });

  it("lets exactly one of two saves from the same base revision win, and records one revision", async () => {
    await ok(await call("POST", base, mia, { name: "Race", content: "start" }), 201);
    const results = await Promise.all(
      ["left", "right"].map((content) => call("PUT", `${base}/Race`, mia, { content, base_revision: 1 })),
    );
    const statuses = await Promise.all(
      results.map(async (r) => {
        await r.arrayBuffer();
        return r.status;
      }),
    );
    expect(statuses.sort()).toEqual([200, 409]);
    const revisions = await ok<{ number: number }[]>(await call("GET", `${base}/Race/revisions`));
    expect(revisions.map((r) => r.number)).toEqual([2, 1]);
    const page = await ok<PageJson>(await call("GET", `${base}/Race`));
    expect(page.revision).toBe(2);
    expect(["left", "right"]).toContain(page.content);
  });

  it("refuses bad input precisely and leaves nothing behind", async () => {
    await ok(await call("POST", base, mia, { name: "a/b", content: "x" }), 400);
    await ok(await call("POST", base, mia, { name: "Labelled", content: "x", labels: ["Phase:Draft", "Phase:Stable"] }), 400);
    await ok(await call("PUT", `${base}/Getting-Started`, mia, { content: "x" }), 400);
    await ok(await call("GET", `${base}/Labelled`), 404);
  });

  it("deletes revisions (never the last) and pages", async () => {
    await ok(await call("POST", base, mia, { name: "Temp", content: "one" }), 201);
    await ok(await call("PUT", `${base}/Temp`, mia, { content: "two", base_revision: 1 }));
    await ok(await call("DELETE", `${base}/Temp/revisions/2`, mia), 204);
    expect((await ok<PageJson>(await call("GET", `${base}/Temp`))).content).toBe("one");
    await ok(await call("DELETE", `${base}/Temp/revisions/1`, mia), 409);
    await ok(await call("DELETE", `${base}/Temp`, stan), 403);
    await ok(await call("DELETE", `${base}/Temp`, mia), 204);
    await ok(await call("GET", `${base}/Temp`), 404);
  });
});

describe("resources", () => {
  it("uploads a file as revisions and serves it", async () => {
    const put = (body: string) =>
      edge(`http://${forge.host}${base}/Getting-Started/resources?name=notes.txt`, {
        method: "POST",
        headers: { authorization: `token ${mia}`, "content-type": "application/octet-stream" },
        body,
      });
    const first = await ok<{ revision: number; content_type: string; browser_download_url: string }>(await put("first"), 201);
    expect(first).toMatchObject({ revision: 1, content_type: "text/plain; charset=utf-8" });
    expect((await ok<{ revision: number }>(await put("second"), 201)).revision).toBe(2);
    const list = await ok<{ name: string; revision: number; revisions: number }[]>(
      await call("GET", `${base}/Getting-Started/resources`),
    );
    expect(list).toMatchObject([{ name: "notes.txt", revision: 2, revisions: 2 }]);
    const file = await call("GET", `${base}/Getting-Started/resources/notes.txt?revision=1`);
    expect(file.headers.get("x-content-type-options")).toBe("nosniff");
    expect(file.headers.get("content-disposition")).toMatch(/^attachment/);
    expect(await file.text()).toBe("first");
    await ok(await call("GET", `${base}/Getting-Started/resources/none.txt`), 404);
  });
});

describe("access", () => {
  it("hides private wikis (404), refuses writes of non-members (403), read tokens and anonymous callers (401)", async () => {
    await ok(await call("GET", "/api/v1/projects/hidden/wiki/pages", stan), 404);
    await ok(await call("GET", "/api/v1/projects/hidden/wiki/pages"), 404);
    await ok(await call("GET", "/api/v1/projects/hidden/wiki/pages", forge.ownerToken));
    await ok(await call("POST", base, stan, { name: "Nope", content: "x" }), 403);
    await ok(await call("POST", base, miaRead, { name: "Nope", content: "x" }), 403);
    await ok(await call("POST", base, undefined, { name: "Nope", content: "x" }), 401);
    await ok(await call("GET", `${base}/Nope`), 404);
  });

  it("is in the OpenAPI document", async () => {
    const doc = await ok<{ paths: Record<string, unknown> }>(await call("GET", "/api/v1/openapi.json"));
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/projects/{project}/wiki/pages",
        "/api/v1/projects/{project}/wiki/pages/{page}",
        "/api/v1/projects/{project}/wiki/pages/{page}/revisions/{revision}",
        "/api/v1/projects/{project}/wiki/pages/{page}/resources/{name}",
      ]),
    );
  });
});
