// The tracker's REST API in workerd: Gitea-style fields with InDefero's status, pagination with
// Link and X-Total-Count (120 issues paged 50 at a time), filters and search, updates recorded as
// comments, label rules, comments, attachments, permissions and the OpenAPI document.
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Browser, apiCall, newForge, registerUser, type Forge, ok, webToken } from "./browser";
import { edge } from "./helpers";

const env = workerEnv as unknown as { OBJECTS: R2Bucket };

let forge: Forge;
let mia: string; // member, write token
let stan: string; // not a member, write token
let stanRead: string; // read-only token

interface IssueJson {
  id: number;
  number: number;
  title: string;
  body: string;
  state: "open" | "closed";
  status: string;
  labels: { name: string; class: string | null; exclusive: boolean; description: string }[];
  user: { login: string } | null;
  assignee: { login: string; id: number } | null;
  assignees: { login: string }[];
  comments: number;
  due_date: string | null;
  relations?: { kind: string; number: number }[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  html_url: string;
  url: string;
}

const call = (method: string, path: string, token?: string, body?: unknown) => apiCall(forge.host, method, path, token, body);
const issues = (project = "api") => `/api/v1/projects/${project}/issues`;

beforeAll(async () => {
  forge = await newForge("isapi");
  const miaB = await registerUser(forge, "mia");
  const stanB = await registerUser(forge, "stan");
  mia = await webToken(miaB, "write");
  stan = await webToken(stanB, "write");
  stanRead = await webToken(stanB, "read");
  await ok(await call("POST", "/api/v1/projects", forge.ownerToken, { name: "api" }), 201);
  await ok(await call("POST", "/api/v1/projects", forge.ownerToken, { name: "many" }), 201);
  const owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  expect((await owner.post("/p/api/admin/members", { username: "mia", role: "member" })).status).toBe(303);
}, 120_000);

describe("pagination", () => {
  it("creates 120 issues and pages through them with limit=50 following Link headers: exactly 120, each once", async () => {
    for (let i = 1; i <= 120; i++) {
      const created = await ok<IssueJson>(
        await call("POST", issues("many"), forge.ownerToken, { title: `Issue number ${i}` }),
        201,
      );
      expect(created.number).toBe(i);
    }
    let url: string | null = `http://${forge.host}${issues("many")}?limit=50`;
    const seen: number[] = [];
    const pages: number[] = [];
    while (url) {
      const res = await edge(url, { headers: { authorization: `token ${mia}` } });
      const page = await ok<IssueJson[]>(res);
      expect(res.headers.get("x-total-count")).toBe("120");
      pages.push(page.length);
      seen.push(...page.map((i) => i.number));
      url = /<([^>]+)>; rel="next"/.exec(res.headers.get("link") ?? "")?.[1] ?? null;
    }
    expect(pages).toEqual([50, 50, 20]);
    expect(seen).toHaveLength(120);
    expect(new Set(seen).size).toBe(120);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    // Newest first by default, like Gitea.
    expect(seen[0]).toBe(120);
  }, 180_000);
});

describe("issues", () => {
  let first: IssueJson;

  it("files an issue with Gitea's fields and InDefero's status", async () => {
    const res = await call("POST", issues(), mia, {
      title: "Crash on save",
      body: "It *crashes*.",
      labels: ["type:defect", "Priority:High", "Security"],
      assignee: "mia",
      due_date: "2031-01-02T00:00:00Z",
    });
    first = await ok<IssueJson>(res, 201);
    expect(res.headers.get("location")).toBe(`http://${forge.host}${issues()}/1`);
    expect(first).toMatchObject({
      number: 1,
      title: "Crash on save",
      body: "It *crashes*.",
      state: "open",
      status: "New",
      user: { login: "mia" },
      assignee: { login: "mia" },
      assignees: [{ login: "mia" }],
      comments: 0,
      due_date: "2031-01-02",
      closed_at: null,
      html_url: `http://${forge.host}/p/api/issues/1`,
      url: `http://${forge.host}${issues()}/1`,
    });
    expect(first.labels).toEqual([
      {
        name: "Priority:High",
        class: "priority",
        description: "Strongly want to resolve in the specified milestone",
        exclusive: true,
      },
      { name: "Security", class: null, description: "Security risk to users", exclusive: false },
      { name: "Type:Defect", class: "type", description: "Report of a software defect", exclusive: true },
    ]);
    expect(await ok<IssueJson>(await call("GET", `${issues()}/1`))).toMatchObject({
      number: 1,
      title: "Crash on save",
      relations: [],
    });
  });

  it("answers 400 for bad input and 404 for missing issues, with JSON errors, and files nothing", async () => {
    const bad = async (body: unknown, pattern: RegExp) => {
      const res = await call("POST", issues(), mia, body);
      const json = await ok<{ error: { code: string; message: string } }>(res, 400);
      expect(json.error.message).toMatch(pattern);
    };
    await bad({ title: "  " }, /summary/);
    await bad({ title: "x", status: "Bogus" }, /Unknown status/);
    await bad({ title: "x", labels: ["Type:Defect", "Type:Task"] }, /one-value class Type/);
    await bad({ title: "x", labels: ["has space"] }, /not a valid label/);
    await bad({ title: "x", assignee: "ghost" }, /no user ghost/);
    await bad({ title: "x", due_date: "tomorrow" }, /due_date/);
    await bad({ title: "x", status: "Fixed", state: "open" }, /closed, not open/);
    await bad({ title: "x", relations: [{ kind: "blocks", number: 999 }] }, /no issue #999/);
    const notJson = await edge(`http://${forge.host}${issues()}`, {
      method: "POST",
      headers: { authorization: `token ${mia}`, "content-type": "application/json" },
      body: "{not json",
    });
    expect(notJson.status).toBe(400);
    expect((await ok<IssueJson[]>(await call("GET", `${issues()}?state=all`))).length).toBe(1);
    expect((await call("GET", `${issues()}/99`)).status).toBe(404);
    expect((await call("GET", `${issues()}/abc`)).status).toBe(400);
    expect((await call("GET", `/api/v1/projects/nope/issues`)).status).toBe(404);
  });

  it("updates fields, closes and reopens by state or status, and records each change as a comment", async () => {
    let issue = await ok<IssueJson>(
      await call("PATCH", `${issues()}/1`, mia, { state: "closed", comment: "Done in the last release." }),
    );
    expect(issue).toMatchObject({ state: "closed", status: "Fixed" });
    expect(issue.closed_at).not.toBeNull();
    issue = await ok<IssueJson>(await call("PATCH", `${issues()}/1`, mia, { status: "Verified" }));
    expect(issue).toMatchObject({ state: "closed", status: "Verified" });
    issue = await ok<IssueJson>(await call("PATCH", `${issues()}/1`, mia, { state: "open" }));
    expect(issue).toMatchObject({ state: "open", status: "New", closed_at: null });
    issue = await ok<IssueJson>(
      await call("PATCH", `${issues()}/1`, mia, {
        title: "Crash on save (Windows)",
        assignee: null,
        due_date: null,
        labels: ["Type:Enhancement"],
      }),
    );
    expect(issue).toMatchObject({ title: "Crash on save (Windows)", assignee: null, assignees: [], due_date: null });
    expect(issue.labels.map((l) => l.name)).toEqual(["Type:Enhancement"]);
    // Nothing to change: the issue as it is, no comment.
    const before = (await ok<unknown[]>(await call("GET", `${issues()}/1/comments`))).length;
    await ok<IssueJson>(await call("PATCH", `${issues()}/1`, mia, { title: "Crash on save (Windows)" }));
    const comments = await ok<{ body: string; changes: Record<string, unknown>; user: { login: string } }[]>(
      await call("GET", `${issues()}/1/comments`),
    );
    expect(comments).toHaveLength(before);
    expect(comments[0]).toMatchObject({
      body: "Done in the last release.",
      changes: { status: ["New", "Fixed"] },
      user: { login: "mia" },
    });
    expect(comments[1]!.changes).toEqual({ status: ["Fixed", "Verified"] });
    expect(comments[2]!.changes).toEqual({ status: ["Verified", "New"] });
    expect(comments[3]!.changes).toEqual({
      summary: ["Crash on save", "Crash on save (Windows)"],
      owner: ["mia", null],
      due: ["2031-01-02", null],
      labels: { added: ["Type:Enhancement"], removed: ["Priority:High", "Security", "Type:Defect"] },
    });
  });

  it("keeps one label per one-value class: adding swaps, replacing with two is refused", async () => {
    let labels = await ok<{ name: string }[]>(
      await call("POST", `${issues()}/1/labels`, mia, { labels: ["Priority:Low", "Performance"] }),
    );
    expect(labels.map((l) => l.name)).toEqual(["Performance", "Priority:Low", "Type:Enhancement"]);
    labels = await ok<{ name: string }[]>(await call("POST", `${issues()}/1/labels`, mia, { labels: ["priority:critical"] }));
    expect(labels.map((l) => l.name)).toEqual(["Performance", "Priority:Critical", "Type:Enhancement"]);
    const refused = await call("PUT", `${issues()}/1/labels`, mia, { labels: ["Priority:Low", "Priority:High"] });
    expect(refused.status).toBe(400);
    expect((await ok<{ name: string }[]>(await call("GET", `${issues()}/1/labels`))).map((l) => l.name)).toEqual([
      "Performance",
      "Priority:Critical",
      "Type:Enhancement",
    ]);
    labels = await ok<{ name: string }[]>(
      await call("PUT", `${issues()}/1/labels`, mia, { labels: ["Type:Defect", "Milestone:Release1.0"] }),
    );
    expect(labels.map((l) => l.name)).toEqual(["Milestone:Release1.0", "Type:Defect"]);
    expect((await call("DELETE", `${issues()}/1/labels/Type%3ADefect`, mia)).status).toBe(204);
    expect((await ok<{ name: string }[]>(await call("GET", `${issues()}/1/labels`))).map((l) => l.name)).toEqual([
      "Milestone:Release1.0",
    ]);
    const predefined = await ok<{ name: string; exclusive: boolean }[]>(await call("GET", "/api/v1/projects/api/labels"));
    expect(predefined.find((l) => l.name === "Type:Defect")).toMatchObject({ exclusive: true });
    expect(predefined.find((l) => l.name === "Component:UI")).toMatchObject({ exclusive: false });
  });

  it("adds comments and lists them page by page", async () => {
    for (let i = 1; i <= 3; i++) {
      const c = await ok<{ id: number; body: string; user: { login: string }; html_url: string }>(
        await call("POST", `${issues()}/1/comments`, stan, { body: `Comment ${i}` }),
        201,
      );
      expect(c).toMatchObject({ body: `Comment ${i}`, user: { login: "stan" } });
      expect(c.html_url).toBe(`http://${forge.host}/p/api/issues/1#c${c.id}`);
    }
    const res = await call("GET", `${issues()}/1/comments?limit=2&page=3`);
    const page = await ok<{ body: string }[]>(res);
    const total = Number(res.headers.get("x-total-count"));
    expect(total).toBeGreaterThanOrEqual(8);
    expect(res.headers.get("link")).toContain('rel="prev"');
    expect(page).toHaveLength(2);
    expect((await call("POST", `${issues()}/1/comments`, stan, { body: "   " })).status).toBe(400);
    expect((await ok<IssueJson>(await call("GET", `${issues()}/1`))).comments).toBe(4);
  });

  it("relates issues through the API, both sides answering", async () => {
    const two = await ok<IssueJson>(
      await call("POST", issues(), mia, { title: "Parser slow", relations: [{ kind: "blocked-by", number: 1 }] }),
      201,
    );
    expect((await ok<IssueJson>(await call("GET", `${issues()}/1`))).relations).toEqual([
      { kind: "blocks", number: two.number, title: "Parser slow", state: "open" },
    ]);
    const patched = await ok<IssueJson>(
      await call("PATCH", `${issues()}/${two.number}`, mia, {
        remove_relations: [{ kind: "blocked-by", number: 1 }],
        add_relations: [{ kind: "duplicates", number: 1 }],
      }),
    );
    expect(patched.relations).toEqual([{ kind: "duplicates", number: 1, title: "Crash on save (Windows)", state: "open" }]);
    expect((await ok<IssueJson>(await call("GET", `${issues()}/1`))).relations).toEqual([
      { kind: "duplicated-by", number: two.number, title: "Parser slow", state: "open" },
    ]);
  });
});

describe("filters and search", () => {
  beforeAll(async () => {
    await ok(
      await call("POST", issues(), mia, {
        title: "Café crashes",
        body: "The naïve parser breaks",
        labels: ["Type:Defect", "Priority:High"],
        assignee: "mia",
      }),
      201,
    );
    await ok(
      await call("POST", issues(), mia, {
        title: "Dark theme",
        labels: ["Type:Enhancement", "Priority:High"],
        status: "WontFix",
      }),
      201,
    );
    await ok(await call("POST", issues(), stan, { title: "Parser docs missing", body: "nothing about the café" }), 201);
  }, 60_000);

  const titles = async (query: string) =>
    (await ok<IssueJson[]>(await call("GET", `${issues()}?${query}`))).map((i) => i.title).sort();

  it("filters by state, labels (all of them), owner, submitter and status", async () => {
    expect(await titles("state=closed")).toEqual(["Dark theme"]);
    expect(await titles("state=all&labels=Priority:High")).toEqual(["Café crashes", "Dark theme"]);
    expect(await titles("state=all&labels=Priority:High,type:defect")).toEqual(["Café crashes"]);
    expect(await titles("owner=mia")).toEqual(["Café crashes"]);
    expect(await titles("submitter=stan")).toEqual(["Parser docs missing"]);
    expect(await titles("status=wontfix&state=all")).toEqual(["Dark theme"]);
    expect((await call("GET", `${issues()}?state=maybe`)).status).toBe(400);
    expect((await call("GET", `${issues()}?status=bogus`)).status).toBe(400);
    expect((await call("GET", `${issues()}?limit=101`)).status).toBe(400);
  });

  it("searches with q (FTS5), refined by status and labels, ranked", async () => {
    expect(await titles("q=cafe")).toEqual(["Café crashes", "Parser docs missing"]);
    const ranked = (await ok<IssueJson[]>(await call("GET", `${issues()}?q=cafe`))).map((i) => i.title);
    expect(ranked[0]).toBe("Café crashes"); // in the title weighs more than in the body
    expect(await titles("q=cafe&labels=Type:Defect")).toEqual(["Café crashes"]);
    expect(await titles("q=parser+is:all")).toEqual(["Café crashes", "Parser docs missing", "Parser slow"]);
    expect(await titles("q=parser+-docs")).toEqual(["Café crashes", "Parser slow"]);
    expect(await titles("q=theme&state=closed")).toEqual(["Dark theme"]);
    expect(await titles("q=theme")).toEqual([]);
    expect(await titles("q=status:WontFix")).toEqual(["Dark theme"]);
    const res = await call("GET", `${issues()}?q=-only`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("bad_request");
  });
});

describe("attachments", () => {
  it("takes a raw body with ?name= or a multipart attachment field, within the plan's limit", async () => {
    const res = await edge(`http://${forge.host}${issues()}/1/attachments?name=${encodeURIComponent("log file.txt")}`, {
      method: "POST",
      headers: { authorization: `token ${stan}`, "content-type": "application/octet-stream" },
      body: "line one\nline two\n",
    });
    const [a] = await ok<{ id: string; name: string; size: number; content_type: string; browser_download_url: string }[]>(
      res,
      201,
    );
    expect(a).toMatchObject({ name: "log file.txt", size: 18, content_type: "text/plain; charset=utf-8" });
    const download = await edge(a!.browser_download_url);
    expect(await download.text()).toBe("line one\nline two\n");
    const form = new FormData();
    form.append("attachment", new File(["<svg onload=alert(1)>"], "pic.svg", { type: "image/svg+xml" }));
    const multi = await ok<{ content_type: string }[]>(
      await edge(`http://${forge.host}${issues()}/1/attachments`, {
        method: "POST",
        headers: { authorization: `token ${stan}` },
        body: form,
      }),
      201,
    );
    expect(multi[0]!.content_type).toBe("text/plain; charset=utf-8");
    const comments = await ok<{ changes: { attachments?: string[] } }[]>(await call("GET", `${issues()}/1/comments?limit=100`));
    expect(comments.flatMap((c) => c.changes.attachments ?? [])).toEqual(["log file.txt", "pic.svg"]);
    expect(
      (
        await edge(`http://${forge.host}${issues()}/1/attachments`, {
          method: "POST",
          headers: { authorization: `token ${stan}` },
          body: "x",
        })
      ).status,
    ).toBe(400);
  });

  it("refuses a file over the limit with 413 and stores nothing", async () => {
    const { admin } = await import("./helpers");
    expect((await admin("PATCH", `/api/v1/tenants/${forge.slug}`, { plan: { max_upload_bytes: 64 } })).status).toBe(200);
    const before = (await env.OBJECTS.list({ prefix: `t/${forge.id}/issues/` })).objects.length;
    const res = await edge(`http://${forge.host}${issues()}/1/attachments?name=big.bin`, {
      method: "POST",
      headers: { authorization: `token ${stan}` },
      body: new ReadableStream({
        start(c) {
          c.enqueue(new Uint8Array(50));
          c.enqueue(new Uint8Array(50));
          c.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect((await env.OBJECTS.list({ prefix: `t/${forge.id}/issues/` })).objects.length).toBe(before);
    expect(
      (await admin("PATCH", `/api/v1/tenants/${forge.slug}`, { plan: { max_upload_bytes: 100 * 1024 * 1024 } })).status,
    ).toBe(200);
  });
});

describe("permissions", () => {
  it("reads anonymously on public trackers; writes need a write token; members-only fields need membership", async () => {
    expect((await call("GET", issues())).status).toBe(200);
    const anon = await call("POST", issues(), undefined, { title: "anonymous" });
    expect(anon.status).toBe(401);
    expect(anon.headers.get("www-authenticate")).toContain("token");
    expect((await call("POST", issues(), stanRead, { title: "read-only" })).status).toBe(403);
    expect((await call("POST", issues(), "efp_wrong", { title: "bad token" })).status).toBe(401);
    // Non-members file and comment, but do not triage.
    const filed = await ok<IssueJson>(await call("POST", issues(), stan, { title: "From a user" }), 201);
    expect((await call("PATCH", `${issues()}/${filed.number}`, stan, { status: "Fixed" })).status).toBe(403);
    expect((await call("POST", `${issues()}/${filed.number}/labels`, stan, { labels: ["Security"] })).status).toBe(403);
    // The submitter edits their own title; not someone else's.
    expect(
      (await ok<IssueJson>(await call("PATCH", `${issues()}/${filed.number}`, stan, { title: "From a user, clearer" }))).title,
    ).toBe("From a user, clearer");
    expect((await call("PATCH", `${issues()}/1`, stan, { title: "hijacked" })).status).toBe(403);
  });

  it("hides a members-only tracker (404) from everyone else, in lists, issues and writes", async () => {
    const owner = new Browser(forge.host);
    await owner.signIn("owner", forge.ownerPassword);
    expect((await owner.post("/p/api/admin/settings", { description: "", access_issues: "members" })).status).toBe(303);
    for (const [method, path, body] of [
      ["GET", issues(), undefined],
      ["GET", `${issues()}/1`, undefined],
      ["GET", `${issues()}/1/comments`, undefined],
      ["GET", "/api/v1/projects/api/labels", undefined],
      ["POST", issues(), { title: "x" }],
      ["POST", `${issues()}/1/comments`, { body: "x" }],
    ] as const) {
      expect((await call(method, path, stan, body)).status, `${method} ${path}`).toBe(404);
      expect((await call(method, path, undefined, body)).status, `${method} ${path} anonymous`).toBe(404);
    }
    expect((await call("GET", `${issues()}/1`, mia)).status).toBe(200);
    expect((await owner.post("/p/api/admin/settings", { description: "", access_issues: "all" })).status).toBe(303);
  });
});

describe("the OpenAPI document", () => {
  it("documents the issue routes and Gitea-style fields", async () => {
    const doc = (await (await call("GET", "/api/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    expect(Object.keys(doc.paths["/api/v1/projects/{project}/issues"]!).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/api/v1/projects/{project}/issues/{number}"]!).sort()).toEqual(["get", "patch"]);
    expect(Object.keys(doc.paths["/api/v1/projects/{project}/issues/{number}/comments"]!).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/api/v1/projects/{project}/issues/{number}/labels"]!).sort()).toEqual(["get", "post", "put"]);
    expect(doc.paths["/api/v1/projects/{project}/labels"]).toBeDefined();
    for (const field of ["number", "title", "body", "state", "status", "labels", "assignee", "created_at", "updated_at"]) {
      expect(doc.components.schemas.Issue!.properties).toHaveProperty(field);
    }
  });
});
