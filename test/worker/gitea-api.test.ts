// The Gitea-compatible API in workerd: paging clamped as Gitea does, Gitea's error shape, every
// form of credential, private repositories answering 404, the source routes (branches, tags,
// commits, contents, raw, archive), issues with labels by id, comments and label CRUD.
import { beforeAll, describe, expect, it } from "vitest";
import { Browser, apiCall, newForge, registerUser, type Forge, ok, webToken } from "./browser";
import { RepoBuilder, importRepo } from "./git-fixture";
import { edge } from "./helpers";

let forge: Forge;
let org: string;
let mia: string; // member of "code", write token
let miaRead: string;
let stan: string; // signed-in, not a member

const get = (path: string, init: RequestInit = {}) => edge(`http://${forge.host}${path}`, init);
const call = (method: string, path: string, token?: string, body?: unknown) => apiCall(forge.host, method, path, token, body);

interface Label {
  id: number;
  name: string;
  color: string;
  url: string;
  exclusive: boolean;
}
interface Issue {
  number: number;
  state: string;
  labels: Label[];
  comments: number;
  due_date: string | null;
  assignees: { login: string }[] | null;
  user: { login: string; email: string; avatar_url: string };
  html_url: string;
  url: string;
}

beforeAll(async () => {
  forge = await newForge("gitea");
  org = forge.slug;
  const miaB = await registerUser(forge, "mia");
  const stanB = await registerUser(forge, "stan");
  mia = await webToken(miaB, "write");
  miaRead = await webToken(miaB, "read");
  stan = await webToken(stanB, "write");
  const r = new RepoBuilder();
  const c1 = r.commit({ files: { "README.md": "# Code\n", "src/a.txt": "one\n" }, message: "First\n" });
  const c2 = r.commit({ files: { "README.md": "# Code\n", "src/a.txt": "two\n" }, parents: [c1], message: "Second\n" });
  const c3 = r.commit({ files: { "README.md": "# Code!\n", "src/a.txt": "two\n" }, parents: [c2], message: "Third\n" });
  await importRepo(forge.slug, "code", r, { "refs/heads/main": c3, "refs/heads/dev": c1, "refs/tags/v1": c2 });
  await ok(await call("POST", "/api/v1/projects", forge.ownerToken, { name: "secret", private: true }), 201);
  const owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  expect((await owner.post("/p/code/admin/members", { username: "mia", role: "member" })).status).toBe(303);
}, 120_000);

describe("meta, paging and errors", () => {
  it("answers version and settings/api, the user as Gitea's user object, the org", async () => {
    expect((await ok<{ version: string }>(await get("/api/v1/version"))).version).toMatch(/^1\.23\.0/);
    expect(await ok(await get("/api/v1/settings/api"))).toMatchObject({ max_response_items: 50, default_paging_num: 30 });
    const me = await ok<Record<string, unknown>>(await call("GET", "/api/v1/user", mia));
    expect(me).toMatchObject({ login: "mia", username: "mia", full_name: "", email: "mia@example.com" });
    expect(me.avatar_url).toBe(`http://${forge.host}/u/mia/avatar`);
    const other = await ok<Record<string, unknown>>(await call("GET", "/api/v1/users/mia", stan));
    expect(other.email).toBe(`mia@noreply.${forge.host}`);
    expect(await ok(await get(`/api/v1/orgs/${org}`))).toMatchObject({ name: org, username: org, full_name: `Forge ${org}` });
  });

  it("clamps page and limit as Gitea does, with Link and X-Total-Count", async () => {
    for (let i = 0; i < 3; i++)
      await ok(
        await call("POST", `/api/v1/repos/${org}/code/labels`, forge.ownerToken, { name: `L${i}`, color: "#00aabb" }),
        201,
      );
    const all = await ok<Label[]>(await get(`/api/v1/repos/${org}/code/labels?limit=1000`));
    expect(all.length).toBe(26); // 23 predefined + 3
    const big = await get(`/api/v1/repos/${org}/code/labels?limit=1000&page=0`);
    expect(big.status).toBe(200);
    expect(big.headers.get("x-total-count")).toBe("26");
    expect(big.headers.get("link")).toContain("limit=50");
    const zero = await get(`/api/v1/repos/${org}/code/labels?limit=0&page=-3`);
    expect((await ok<Label[]>(zero)).length).toBe(26); // 0 is the default, 30
    const two = await get(`/api/v1/repos/${org}/code/labels?limit=10&page=2`);
    const page2 = await ok<Label[]>(two);
    expect(page2.map((l) => l.name)).toEqual(all.slice(10, 20).map((l) => l.name));
    expect(two.headers.get("link")).toMatch(/limit=10&page=3>; rel="next"/);
    expect((await ok<Label[]>(await get(`/api/v1/repos/${org}/code/labels?limit=abc`))).length).toBe(26);
  });

  it("answers errors as {message, url} with Gitea's statuses", async () => {
    const missing = await get(`/api/v1/repos/${org}/nope`);
    expect(missing.status).toBe(404);
    const body = (await missing.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["message", "url"]);
    expect(body.url).toBe(`http://${forge.host}/api/v1/openapi.json`);
    const invalid = await call("POST", `/api/v1/repos/${org}/code/issues`, mia, { body: "no title" });
    expect(invalid.status).toBe(422);
    expect(((await invalid.json()) as { message: string }).message).toContain("title");
    // A write the subset does not have is a 404, whoever asks.
    expect((await call("DELETE", `/api/v1/repos/${org}/code`, forge.ownerToken)).status).toBe(404);
    expect((await call("PATCH", `/api/v1/repos/${org}/code/contents/README.md`, mia, {})).status).toBe(404);
    const noRoute = await get("/api/v1/repos/x/y/z/w/v");
    expect(Object.keys((await noRoute.json()) as object).sort()).toEqual(["message", "url"]);
    // The forge's own API keeps its envelope.
    expect(await (await get("/api/v1/projects/nope")).json()).toMatchObject({ error: { code: "not_found" } });
  });
});

describe("credentials", () => {
  const me = async (init: RequestInit, query = "") => get(`/api/v1/user${query}`, init);
  it("accepts token, Bearer, Basic (token or password), ?token= and ?access_token=", async () => {
    const forms: [string, RequestInit, string][] = [
      ["token", { headers: { authorization: `token ${mia}` } }, ""],
      ["bearer", { headers: { authorization: `Bearer ${mia}` } }, ""],
      ["basic token", { headers: { authorization: `Basic ${btoa(`mia:${mia}`)}` } }, ""],
      ["basic password", { headers: { authorization: `Basic ${btoa("mia:user-password-1")}` } }, ""],
      ["token query", {}, `?token=${mia}`],
      ["access_token query", {}, `?access_token=${mia}`],
    ];
    for (const [how, init, query] of forms) {
      const res = await me(init, query);
      expect(res.status, how).toBe(200);
      expect(((await res.json()) as { login: string }).login, how).toBe("mia");
    }
  });

  it("refuses wrong credentials in every form with 401, and a read token in the query cannot write", async () => {
    const wrong: [RequestInit, string][] = [
      [{ headers: { authorization: "token efp_wrong" } }, ""],
      [{ headers: { authorization: `Basic ${btoa("mia:wrong-password")}` } }, ""],
      [{ headers: { authorization: `Basic ${btoa(`stan:${mia}`)}` } }, ""],
      [{}, "?token=efp_wrong"],
      [{}, "?access_token=efp_wrong"],
    ];
    for (const [init, query] of wrong) {
      const res = await me(init, query);
      expect(res.status, JSON.stringify(init) + query).toBe(401);
      expect(Object.keys((await res.json()) as object)).toContain("message");
    }
    const write = await get(`/api/v1/repos/${org}/code/issues?token=${miaRead}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ title: "by query" }),
    });
    expect(write.status).toBe(403);
  });
});

describe("cross-site requests", () => {
  it("exempt a token from the cross-site check, never a Basic password (browsers send those by themselves)", async () => {
    const crossSite = (authorization: string) =>
      get(`/api/v1/repos/${org}/code/issues`, {
        method: "POST",
        headers: {
          authorization,
          "content-type": "application/json",
          origin: "https://evil.example",
          "sec-fetch-site": "cross-site",
        },
        body: JSON.stringify({ title: "from elsewhere" }),
      });
    expect((await crossSite(`Basic ${btoa("mia:user-password-1")}`)).status).toBe(403);
    expect((await crossSite(`token ${mia}`)).status).toBe(201);
  });
});

describe("private repositories", () => {
  it("answer 404 to those who cannot see them, on every route", async () => {
    for (const path of ["", "/issues", "/labels", "/branches", "/contents", "/raw/README.md", "/archive/main.zip"]) {
      expect((await get(`/api/v1/repos/${org}/secret${path}`)).status, path).toBe(404);
      expect((await call("GET", `/api/v1/repos/${org}/secret${path}`, stan)).status, path).toBe(404);
    }
    expect((await call("GET", `/api/v1/repos/${org}/secret`, forge.ownerToken)).status).toBe(200);
    const listed = await ok<{ name: string }[]>(await call("GET", `/api/v1/orgs/${org}/repos`, stan));
    expect(listed.map((r) => r.name)).toEqual(["code"]);
    const search = await ok<{ ok: boolean; data: { name: string }[] }>(await get("/api/v1/repos/search?q=sec"));
    expect(search).toEqual({ ok: true, data: [] });
    // Another org's name is no way in.
    expect((await call("GET", "/api/v1/repos/someone-else/code", forge.ownerToken)).status).toBe(404);
  });
});

describe("source", () => {
  it("gets the repository, branches, tags and commits", async () => {
    const repo = await ok<Record<string, unknown>>(await get(`/api/v1/repos/${org}/code`));
    expect(repo).toMatchObject({ name: "code", full_name: `${org}/code`, default_branch: "main", empty: false, private: false });
    const branches = await ok<{ name: string; commit: { message: string } }[]>(await get(`/api/v1/repos/${org}/code/branches`));
    expect(branches.map((b) => b.name)).toEqual(["dev", "main"]);
    expect(branches[1]!.commit.message).toMatch(/^Third\n/);
    expect((await get(`/api/v1/repos/${org}/code/branches/nope`)).status).toBe(404);
    const tags = await ok<{ name: string; zipball_url: string }[]>(await get(`/api/v1/repos/${org}/code/tags`));
    expect(tags.map((t) => t.name)).toEqual(["v1"]);
    const commits = await get(`/api/v1/repos/${org}/code/commits?limit=2`);
    const list = await ok<{ commit: { message: string } }[]>(commits);
    expect(list.map((c) => c.commit.message.trim())).toEqual(["Third", "Second"]);
    expect(commits.headers.get("x-hasmore")).toBe("true");
    const byPath = await ok<{ commit: { message: string } }[]>(await get(`/api/v1/repos/${org}/code/commits?path=src/a.txt`));
    expect(byPath.map((c) => c.commit.message.trim())).toEqual(["Second", "First"]);
    const fromTag = await ok<unknown[]>(await get(`/api/v1/repos/${org}/code/commits?sha=v1&page=2&limit=1`));
    expect(fromTag.length).toBe(1);
  });

  it("reads contents (file in base64, directories), raw files and archives", async () => {
    const file = await ok<{ type: string; encoding: string; content: string; name: string; path: string }>(
      await get(`/api/v1/repos/${org}/code/contents/src/a.txt?ref=dev`),
    );
    expect(file).toMatchObject({ type: "file", encoding: "base64", name: "a.txt", path: "src/a.txt" });
    expect(atob(file.content)).toBe("one\n");
    const root = await ok<{ name: string; type: string; content: null }[]>(await get(`/api/v1/repos/${org}/code/contents`));
    expect(root.map((e) => [e.name, e.type])).toEqual([
      ["src", "dir"],
      ["README.md", "file"],
    ]);
    expect((await get(`/api/v1/repos/${org}/code/contents/nope.txt`)).status).toBe(404);
    expect((await get(`/api/v1/repos/${org}/code/contents/README.md?ref=nope`)).status).toBe(404);
    const raw = await get(`/api/v1/repos/${org}/code/raw/README.md`);
    expect(await raw.text()).toBe("# Code!\n");
    expect(raw.headers.get("x-content-type-options")).toBe("nosniff");
    const zip = new Uint8Array(await (await get(`/api/v1/repos/${org}/code/archive/v1.zip`)).arrayBuffer());
    expect([...zip.subarray(0, 2)]).toEqual([0x50, 0x4b]);
    const tgz = new Uint8Array(await (await get(`/api/v1/repos/${org}/code/archive/main.tar.gz`)).arrayBuffer());
    expect([...tgz.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
  });
});

describe("issues", () => {
  it("creates with label ids, edits state, assignees and due dates, counts comments as /comments lists them", async () => {
    const labels = await ok<Label[]>(await get(`/api/v1/repos/${org}/code/labels`));
    const defect = labels.find((l) => l.name === "Type:Defect")!;
    const high = labels.find((l) => l.name === "Priority:High")!;
    expect(defect.color).toMatch(/^[0-9a-f]{6}$/);
    const created = await ok<Issue>(
      await call("POST", `/api/v1/repos/${org}/code/issues`, mia, {
        title: "Broken",
        body: "It breaks",
        labels: [defect.id],
        assignees: ["mia"],
        due_date: "2027-01-31T00:00:00Z",
      }),
      201,
    );
    expect(created.labels.map((l) => l.name)).toEqual(["Type:Defect"]);
    expect(created.assignees!.map((a) => a.login)).toEqual(["mia"]);
    expect(created.due_date).toBe("2027-01-31T00:00:00Z");
    const path = `/api/v1/repos/${org}/code/issues/${created.number}`;

    const added = await ok<Label[]>(await call("POST", `${path}/labels`, mia, { labels: [high.id] }));
    expect(added.map((l) => l.name).sort()).toEqual(["Priority:High", "Type:Defect"]);
    expect((await call("DELETE", `${path}/labels/${defect.id}`, mia)).status).toBe(204);
    expect((await call("DELETE", `${path}/labels/${defect.id}`, mia)).status).toBe(404);
    expect((await call("DELETE", `${path}/labels/999`, mia)).status).toBe(404);
    expect((await call("POST", `${path}/labels`, mia, { labels: [12345] })).status).toBe(422);
    expect((await ok<Label[]>(await call("PUT", `${path}/labels`, mia, { labels: ["Type:Task"] }))).map((l) => l.name)).toEqual([
      "Type:Task",
    ]);
    expect((await call("DELETE", `${path}/labels`, mia)).status).toBe(204);

    const c1 = await ok<{ id: number }>(await call("POST", `${path}/comments`, mia, { body: "first" }), 201);
    const second = await call("POST", `${path}/comments`, stan, { body: "second" });
    const c2 = await ok<{ id: number }>(second, 201);
    expect(second.headers.get("location")).toBe(`http://${forge.host}/api/v1/repos/${org}/code/issues/comments/${c2.id}`);
    const edited = await ok<Issue>(
      await call("PATCH", path, mia, { state: "closed", assignees: [], unset_due_date: true, title: "Broken badly" }),
      201,
    );
    expect(edited).toMatchObject({ state: "closed", assignees: null, due_date: null, comments: 2 });
    const comments = await ok<{ body: string }[]>(await call("GET", `${path}/comments`, mia));
    expect(comments.map((c) => c.body)).toEqual(["first", "second"]);

    expect((await call("PATCH", `/api/v1/repos/${org}/code/issues/comments/${c1.id}`, stan, { body: "mine now" })).status).toBe(
      403,
    );
    const changed = await ok<{ body: string }>(
      await call("PATCH", `/api/v1/repos/${org}/code/issues/comments/${c1.id}`, mia, { body: "first, edited" }),
    );
    expect(changed.body).toBe("first, edited");
    expect((await call("DELETE", `/api/v1/repos/${org}/code/issues/comments/${c1.id}`, mia)).status).toBe(204);
    const after = await ok<Issue>(await call("GET", path, mia));
    expect(after.comments).toBe(1);
    expect((await ok<unknown[]>(await call("GET", `${path}/comments`, mia))).length).toBe(1);
  });

  it("filters lists by state, labels, q, created_by, assigned_by, since and type", async () => {
    const base = `/api/v1/repos/${org}/code/issues`;
    await ok(
      await call("POST", base, forge.ownerToken, { title: "Alpha wording", labels: ["Type:Enhancement"], assignees: ["mia"] }),
      201,
    );
    await ok(await call("POST", base, stan, { title: "Beta crash" }), 201);
    const titles = async (q: string) => (await ok<{ title: string }[]>(await get(`${base}?${q}`))).map((i) => i.title);
    expect(await titles("state=closed")).toEqual(["Broken badly"]);
    expect(await titles("labels=Type:Enhancement")).toEqual(["Alpha wording"]);
    expect(await titles("q=crash")).toEqual(["Beta crash"]);
    expect(await titles("created_by=stan")).toEqual(["Beta crash"]);
    expect(await titles("assigned_by=mia")).toEqual(["Alpha wording"]);
    expect(await titles("state=all&since=2000-01-01T00:00:00Z")).toEqual(await titles("state=all"));
    expect((await titles("state=all")).length).toBeGreaterThanOrEqual(3);
    expect(await titles("state=all&before=2000-01-01T00:00:00Z")).toEqual([]);
    expect(await titles("type=pulls")).toEqual([]);
    expect((await get(`${base}?mentioned_by=mia`)).status).toBe(422);
  });
});

describe("labels", () => {
  it("creates, reads, edits (rename keeps issues labelled) and deletes; only owners", async () => {
    const base = `/api/v1/repos/${org}/code/labels`;
    expect((await call("POST", base, mia, { name: "Area:Docs", color: "#112233" })).status).toBe(403);
    expect((await call("POST", base, forge.ownerToken, { name: "bad name!", color: "#112233" })).status).toBe(422);
    expect((await call("POST", base, forge.ownerToken, { name: "Ok", color: "blue" })).status).toBe(422);
    const made = await ok<Label>(
      await call("POST", base, forge.ownerToken, { name: "Area:Docs", color: "#112233", description: "docs", exclusive: true }),
      201,
    );
    expect(made).toMatchObject({ name: "Area:Docs", color: "112233", exclusive: true });
    expect((await call("POST", base, forge.ownerToken, { name: "area:docs", color: "#112233" })).status).toBe(409);
    expect(await ok(await get(`${base}/${made.id}`))).toMatchObject({ name: "Area:Docs", description: "docs" });
    const issue = await ok<Issue>(
      await call("POST", `/api/v1/repos/${org}/code/issues`, mia, { title: "Docs", labels: [made.id] }),
      201,
    );
    const renamed = await ok<Label>(
      await call("PATCH", `${base}/${made.id}`, forge.ownerToken, { name: "Area:Manual", color: "#445566" }),
    );
    expect(renamed).toMatchObject({ name: "Area:Manual", color: "445566" });
    const again = await ok<Issue>(await call("GET", `/api/v1/repos/${org}/code/issues/${issue.number}`, mia));
    expect(again.labels.map((l) => [l.name, l.color])).toEqual([["Area:Manual", "445566"]]);
    expect((await get(`${base}/${made.id}`)).status).toBe(404);
    expect((await call("DELETE", `${base}/${renamed.id}`, forge.ownerToken)).status).toBe(204);
    const gone = await ok<Issue>(await call("GET", `/api/v1/repos/${org}/code/issues/${issue.number}`, mia));
    expect(gone.labels).toEqual([]);
  });
});

interface GiteaHook {
  id: number;
  type: string;
  config: Record<string, string>;
  events: string[];
  active: boolean;
  created_at: string;
  updated_at: string;
}

describe("hooks", () => {
  const base = () => `/api/v1/repos/${org}/code/hooks`;

  it("creates, lists, edits and deletes with Gitea's options; the secret is never returned", async () => {
    const res = await call("POST", base(), forge.ownerToken, {
      type: "gitea",
      config: { url: "https://receiver.test/gitea", content_type: "json", secret: "gitea-hook-secret" },
      events: ["push", "create", "issues", "issue_comment"],
      active: true,
    });
    const made = await ok<GiteaHook>(res, 201);
    expect(made).toMatchObject({
      type: "gitea",
      config: { url: "https://receiver.test/gitea", content_type: "json" },
      events: ["push", "issues", "issue_comment"],
      active: true,
    });
    expect(made.created_at).toMatch(/Z$/);
    expect(res.headers.get("location")).toBe(`http://${forge.host}${base()}/${made.id}`);
    // Gitea's defaults: no events is push, active is false.
    const plain = await ok<GiteaHook>(
      await call("POST", base(), forge.ownerToken, { type: "gitea", config: { url: "https://receiver.test/plain" } }),
      201,
    );
    expect(plain).toMatchObject({ events: ["push"], active: false, config: { content_type: "json" } });

    const page1 = await call("GET", `${base()}?limit=1`, forge.ownerToken);
    expect((await ok<GiteaHook[]>(page1)).map((h) => h.id)).toEqual([made.id]);
    expect(page1.headers.get("x-total-count")).toBe("2");
    expect(page1.headers.get("link")).toMatch(/limit=1&page=2>; rel="next"/);
    expect((await ok<GiteaHook[]>(await call("GET", `${base()}?page=2&limit=1`, forge.ownerToken))).map((h) => h.id)).toEqual([
      plain.id,
    ]);

    const edited = await ok<GiteaHook>(
      await call("PATCH", `${base()}/${made.id}`, forge.ownerToken, {
        config: { content_type: "form" },
        events: ["release", "wiki"],
        active: false,
      }),
    );
    expect(edited).toMatchObject({
      config: { url: "https://receiver.test/gitea", content_type: "form" },
      events: ["wiki", "release"],
      active: false,
    });
    // The forge's own API sees the same hook (one implementation): the secret kept, not shown.
    const own = await ok<{ has_secret: boolean; events: string[] }>(
      await call("GET", `/api/v1/projects/code/hooks/${made.id}`, forge.ownerToken),
    );
    expect(own).toMatchObject({ has_secret: true, events: ["wiki", "download"] });
    expect(await ok(await call("GET", `${base()}/${made.id}`, forge.ownerToken))).toEqual(
      expect.objectContaining({ id: made.id, active: false }),
    );
    const removed = await ok<GiteaHook>(
      await call("PATCH", `${base()}/${made.id}`, forge.ownerToken, { config: { secret: "" } }),
    );
    expect(removed.events).toEqual(["wiki", "release"]);
    expect(
      (await ok<{ has_secret: boolean }>(await call("GET", `/api/v1/projects/code/hooks/${made.id}`, forge.ownerToken)))
        .has_secret,
    ).toBe(false);
    for (const body of [made, plain, edited, removed]) expect(JSON.stringify(body)).not.toContain("secret");
    const listed = await call("GET", base(), forge.ownerToken);
    expect(await listed.text()).not.toContain("gitea-hook-secret");

    expect((await call("POST", `${base()}/${made.id}/tests`, forge.ownerToken)).status).toBe(204);
    const deliveries = await ok<{ event: string }[]>(
      await call("GET", `/api/v1/projects/code/hooks/${made.id}/deliveries`, forge.ownerToken),
    );
    expect(deliveries.map((d) => d.event)).toEqual(["ping"]);

    for (const id of [made.id, plain.id]) expect((await call("DELETE", `${base()}/${id}`, forge.ownerToken)).status).toBe(204);
    expect((await call("GET", `${base()}/${made.id}`, forge.ownerToken)).status).toBe(404);
    expect((await call("DELETE", `${base()}/${made.id}`, forge.ownerToken)).status).toBe(404);
  });

  it("answers 422 to the SSRF guard's refusal, unknown events and options it cannot honour, and keeps nothing", async () => {
    const blocked = await call("POST", base(), forge.ownerToken, {
      type: "gitea",
      config: { url: "http://169.254.169.254/latest", content_type: "json" },
      events: ["push"],
    });
    expect(blocked.status).toBe(422);
    const err = (await blocked.json()) as { message: string; url: string };
    expect(Object.keys(err).sort()).toEqual(["message", "url"]);
    expect(err.message).toMatch(/public addresses only/);
    const refused = [
      { type: "gitea", config: { url: "https://receiver.test/" }, events: ["fork"] },
      { type: "slack", config: { url: "https://receiver.test/" } },
      { type: "gitea", config: { url: "https://receiver.test/", content_type: "xml" } },
      { type: "gitea", config: { url: "https://receiver.test/" }, branch_filter: "main" },
      { type: "gitea", config: {} },
    ];
    for (const body of refused) {
      expect((await call("POST", base(), forge.ownerToken, body)).status, JSON.stringify(body)).toBe(422);
    }
    const fork = await call("POST", base(), forge.ownerToken, refused[0]);
    expect(((await fork.json()) as { message: string }).message).toContain('"fork"');
    const hook = await ok<GiteaHook>(
      await call("POST", base(), forge.ownerToken, { type: "gitea", config: { url: "https://receiver.test/keep" } }),
      201,
    );
    const badEdit = await call("PATCH", `${base()}/${hook.id}`, forge.ownerToken, { config: { url: "http://127.0.0.1/" } });
    expect(badEdit.status).toBe(422);
    expect(((await badEdit.json()) as { message: string }).message).toMatch(/public addresses only/);
    expect((await ok<GiteaHook>(await call("GET", `${base()}/${hook.id}`, forge.ownerToken))).config.url).toBe(
      "https://receiver.test/keep",
    );
    expect((await ok<GiteaHook[]>(await call("GET", base(), forge.ownerToken))).map((h) => h.id)).toEqual([hook.id]);
    expect((await call("DELETE", `${base()}/${hook.id}`, forge.ownerToken)).status).toBe(204);
  });

  it("answers only the project's owners: members 403, anonymous 401, private repositories 404", async () => {
    const hook = await ok<GiteaHook>(
      await call("POST", base(), forge.ownerToken, { type: "gitea", config: { url: "https://receiver.test/own" } }),
      201,
    );
    const body = { type: "gitea", config: { url: "https://receiver.test/mine" } };
    for (const t of [mia, stan]) {
      expect((await call("GET", base(), t)).status).toBe(403);
      expect((await call("GET", `${base()}/${hook.id}`, t)).status).toBe(403);
      expect((await call("POST", base(), t, body)).status).toBe(403);
      expect((await call("PATCH", `${base()}/${hook.id}`, t, { active: true })).status).toBe(403);
      expect((await call("DELETE", `${base()}/${hook.id}`, t)).status).toBe(403);
      expect((await call("POST", `${base()}/${hook.id}/tests`, t)).status).toBe(403);
    }
    expect((await get(base())).status).toBe(401);
    expect((await call("GET", `/api/v1/repos/${org}/secret/hooks`, stan)).status).toBe(404);
    expect((await ok<GiteaHook[]>(await call("GET", base(), forge.ownerToken))).map((h) => h.id)).toEqual([hook.id]);
    expect((await call("DELETE", `${base()}/${hook.id}`, forge.ownerToken)).status).toBe(204);
  });
});

describe("the OpenAPI document", () => {
  it("names every operation, documents paging and Location headers, and its server", async () => {
    const doc = await ok<{
      servers: { url: string }[];
      paths: Record<string, Record<string, { operationId?: string; responses: Record<string, { headers?: object }> }>>;
    }>(await get("/api/v1/openapi.json"));
    expect(doc.servers.map((s) => s.url)).toEqual(["/"]);
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([m, op]) => ({ path, m, op })),
    );
    expect(ops.length).toBeGreaterThan(60);
    expect(ops.filter((o) => !o.op.operationId).map((o) => `${o.m} ${o.path}`)).toEqual([]);
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const list = doc.paths["/api/v1/repos/{owner}/{repo}/issues"]!;
    expect(Object.keys(list.get!.responses["200"]!.headers!)).toEqual(["Link", "X-Total-Count"]);
    expect(Object.keys(list.post!.responses["201"]!.headers!)).toEqual(["Location"]);
    expect(Object.keys(doc.paths["/api/v1/projects"]!.get!.responses["200"]!.headers!)).toEqual(["Link", "X-Total-Count"]);
    const hooks = doc.paths["/api/v1/repos/{owner}/{repo}/hooks"]!;
    const hook = doc.paths["/api/v1/repos/{owner}/{repo}/hooks/{id}"]!;
    expect([
      hooks.get?.operationId,
      hooks.post?.operationId,
      hook.get?.operationId,
      hook.patch?.operationId,
      hook.delete?.operationId,
      doc.paths["/api/v1/repos/{owner}/{repo}/hooks/{id}/tests"]?.post?.operationId,
    ]).toEqual(["repoListHooks", "repoCreateHook", "repoGetHook", "repoEditHook", "repoDeleteHook", "repoTestHook"]);
  });
});
