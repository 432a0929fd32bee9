// Accounts end to end in workerd: sign-up, confirmation, sign-in and out, rate limits, password
// reset, secondary addresses, avatars, API tokens.
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:workers";
import { Browser, apiCall, lastLink, newForge, registerUser, tenantD1 } from "./browser";
import { edge } from "./helpers";

describe("sign-up and sign-in", () => {
  it("registers, confirms the address by a link (GET shows, POST confirms), signs out and in", async () => {
    const forge = await newForge("acct");
    const b = await registerUser(forge, "alice");
    const cookie = [...b.cookies.keys()];
    expect(cookie).toEqual(["ef_session"]);

    const account = await b.get("/account");
    expect(account.status).toBe(200);
    const html = await account.text();
    expect(html).toContain("not confirmed yet");
    expect(html).toContain('href="/u/alice"');

    const link = await lastLink(forge, "alice@example.com", /http:\/\/[^\s]+\/account\/confirm\/[A-Za-z0-9_-]+/);
    const shown = await b.get(link);
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain("alice@example.com");
    expect(await (await b.get("/account")).text()).toContain("not confirmed yet");
    expect((await b.post(link, {})).status).toBe(200);
    expect(await (await b.get("/account")).text()).not.toContain("not confirmed yet");
    expect((await b.post(link, {})).status).toBe(410);

    expect((await b.post("/account/logout", {})).status).toBe(303);
    expect(b.cookies.size).toBe(0);
    expect((await b.get("/account")).status).toBe(303);

    const wrong = await b.post("/account/login", { login: "alice", password: "nope-nope-nope" });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("Wrong username or password.");
    const res = await b.signIn("alice", "user-password-1");
    expect(res.headers.get("location")).toBe("/");
    const setCookie = res.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^ef_session=v1\.[^;]+; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Lax$/);
    expect((await b.get("/account")).status).toBe(200);
    // Signing in by address works too.
    await new Browser(forge.host).signIn("alice@example.com", "user-password-1");
  });

  it("refuses bad input with a clear 4xx and keeps what was typed", async () => {
    const forge = await newForge("bad");
    const b = new Browser(forge.host);
    const bad = await b.post("/account/register", {
      username: "<script>x</script>",
      email: "x@example.com",
      password: "long-enough",
    });
    expect(bad.status).toBe(400);
    const html = await bad.text();
    expect(html).toContain("A username has 1 to 40");
    expect(html).toContain('value="&lt;script&gt;x&lt;/script&gt;"');
    expect(
      (await b.post("/account/register", { username: "bob", email: "not-an-address", password: "long-enough" })).status,
    ).toBe(400);
    expect((await b.post("/account/register", { username: "bob", email: "bob@example.com", password: "short" })).status).toBe(
      400,
    );
    await registerUser(forge, "bob");
    expect(
      (await b.post("/account/register", { username: "BOB", email: "b2@example.com", password: "long-enough" })).status,
    ).toBe(409);
    expect(
      (await b.post("/account/register", { username: "bob2", email: "bob@example.com", password: "long-enough" })).status,
    ).toBe(409);
  });

  it("closed registration answers 403 and an admin adds people, who set a password by link", async () => {
    const forge = await newForge("closed");
    const adminB = new Browser(forge.host);
    await adminB.signIn("owner", forge.ownerPassword);
    const saved = await adminB.post("/admin/settings", {
      name: "Closed forge",
      registration: "closed",
      project_creation: "admins",
      front_page: "",
    });
    expect(saved.status).toBe(303);
    const anon = new Browser(forge.host);
    expect((await anon.get("/account/register")).status).toBe(403);
    expect(
      (await anon.post("/account/register", { username: "eve", email: "eve@example.com", password: "long-enough" })).status,
    ).toBe(403);
    expect(await (await anon.get("/")).text()).toContain("Closed forge");

    expect((await adminB.post("/admin/users", { username: "carol", email: "carol@example.com" })).status).toBe(303);
    const link = await lastLink(forge, "carol@example.com", /http:\/\/[^\s]+\/account\/reset\/[A-Za-z0-9_-]+/);
    const carol = new Browser(forge.host);
    expect((await carol.get(link)).status).toBe(200);
    expect((await carol.post(link, { password: "carols-password" })).status).toBe(303);
    expect(await (await carol.get("/account")).text()).toContain("carol");
  });

  it("resets a password by mail and signs out the sessions that were open", async () => {
    const forge = await newForge("reset");
    const old = await registerUser(forge, "dave");
    const other = new Browser(forge.host);
    const asked = await other.post("/account/reset", { login: "dave" });
    expect(asked.status).toBe(200);
    expect(await asked.text()).toContain("If an account matches");
    // Unknown accounts get the same answer.
    expect(await (await other.post("/account/reset", { login: "nobody" })).text()).toContain("If an account matches");
    const link = await lastLink(forge, "dave@example.com", /http:\/\/[^\s]+\/account\/reset\/[A-Za-z0-9_-]+/);
    expect((await other.post(link, { password: "short" })).status).toBe(400);
    expect((await other.post(link, { password: "daves-new-password" })).status).toBe(303);
    expect((await other.post(link, { password: "again-and-again" })).status).toBe(410);
    expect((await old.get("/account")).status).toBe(303);
    await new Browser(forge.host).signIn("dave", "daves-new-password");
    expect((await new Browser(forge.host).post("/account/login", { login: "dave", password: "user-password-1" })).status).toBe(
      401,
    );
  });
});

describe("login rate limits", () => {
  it("locks an account after 10 failures, even for the right password, and not its neighbours", async () => {
    const forge = await newForge("rl");
    await registerUser(forge, "frank");
    await registerUser(forge, "grace");
    const b = new Browser(forge.host);
    for (let i = 0; i < 10; i++) {
      // Different addresses: only the per-account limit applies.
      const res = await b.post(
        "/account/login",
        { login: "frank", password: `guess-${i}` },
        { headers: { "cf-connecting-ip": `203.0.113.${i}` } },
      );
      expect(res.status).toBe(401);
    }
    const locked = await b.post(
      "/account/login",
      { login: "frank", password: "user-password-1" },
      { headers: { "cf-connecting-ip": "203.0.113.99" } },
    );
    expect(locked.status).toBe(429);
    expect(locked.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await locked.text()).toContain("Too many attempts");
    await b.signIn("grace", "user-password-1", "203.0.113.98");
  });

  it("limits attempts per client address across accounts", async () => {
    const forge = await newForge("rla");
    await registerUser(forge, "heidi");
    const b = new Browser(forge.host);
    const address = { "cf-connecting-ip": "203.0.113.200" };
    for (let i = 0; i < 30; i++) {
      const res = await b.post("/account/login", { login: `user${i}`, password: "whatever-it-is" }, { headers: address });
      expect(res.status).toBe(401);
    }
    expect((await b.post("/account/login", { login: "heidi", password: "user-password-1" }, { headers: address })).status).toBe(
      429,
    );
    await b.signIn("heidi", "user-password-1", "203.0.113.201");
  });
});

describe("profile, addresses, avatar", () => {
  it("adds a secondary address, confirms it, and finds the user by it", async () => {
    const forge = await newForge("mail");
    const b = await registerUser(forge, "ivan");
    expect((await b.post("/account/profile", { display_name: "Ivan the Tester", email: "ivan@example.com" })).status).toBe(303);
    expect((await b.post("/account/emails", { email: "ivan@work.example" })).status).toBe(303);
    expect(await (await b.get("/account/emails")).text()).toContain("waiting for confirmation");
    const link = await lastLink(forge, "ivan@work.example", /http:\/\/[^\s]+\/account\/confirm\/[A-Za-z0-9_-]+/);
    expect((await b.post(link, {})).status).toBe(200);
    expect(await (await b.get("/account/emails")).text()).not.toContain("waiting for confirmation");
    // Another account cannot claim it.
    const other = await registerUser(forge, "judy");
    expect((await other.post("/account/emails", { email: "IVAN@work.example" })).status).toBe(409);
    const { findUserByEmail } = await import("../../src/services/users");
    const { openTenantDb } = await import("../../src/db/tenant-db");
    const found = await findUserByEmail(openTenantDb(await tenantD1(forge)), "Ivan@Work.Example");
    expect(found?.username).toBe("ivan");
    expect(await (await b.get("/u/ivan")).text()).toContain("Ivan the Tester");
  });

  it("uploads an avatar to R2 under the tenant's prefix, serves it, refuses SVG", async () => {
    const forge = await newForge("avatar");
    const b = await registerUser(forge, "kim");
    const before = await b.get("/u/kim/avatar");
    expect(before.status).toBe(302);
    expect(before.headers.get("location")).toMatch(/^https:\/\/www\.gravatar\.com\/avatar\/[0-9a-f]{64}\?/);

    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
    const upload = async (bytes: Uint8Array, name: string, type: string) => {
      const form = new FormData();
      form.set("avatar", new File([bytes], name, { type }));
      return b.fetch("/account/avatar", {
        method: "POST",
        body: form,
        headers: { origin: b.origin, "sec-fetch-site": "same-origin" },
      });
    };
    expect((await upload(png, "me.png", "image/png")).status).toBe(303);
    const served = await b.get("/u/kim/avatar");
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(png);
    const listed = await (env as unknown as { OBJECTS: R2Bucket }).OBJECTS.list({ prefix: `t/${forge.id}/avatars/` });
    expect(listed.objects.map((o) => o.key)).toEqual([
      expect.stringMatching(new RegExp(`^t/${forge.id}/avatars/\\d+/[0-9a-f]{64}\\.png$`)),
    ]);

    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>');
    expect((await upload(svg, "x.png", "image/png")).status).toBe(415);
    expect((await upload(new Uint8Array(300 * 1024), "big.png", "image/png")).status).toBe(413);
    expect((await b.post("/account/avatar/delete", {})).status).toBe(303);
    expect((await b.get("/u/kim/avatar")).status).toBe(302);
  });
});

describe("API tokens", () => {
  it("creates, lists, uses and revokes tokens on the web and through the API, with scopes", async () => {
    const forge = await newForge("tok");
    const b = await registerUser(forge, "leo");
    const made = await b.post("/account/tokens", { name: "laptop", scope: "read" });
    expect(made.status).toBe(201);
    expect(made.headers.get("cache-control")).toBe("no-store");
    const readToken = /<p class="token">(efp_[A-Za-z0-9_-]+)<\/p>/.exec(await made.text())![1]!;

    const me = await apiCall(forge.host, "GET", "/api/v1/user", readToken);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: "leo", email: "leo@example.com", is_admin: false });
    // A read token cannot write.
    const denied = await apiCall(forge.host, "POST", "/api/v1/user/tokens", readToken, { name: "x", scope: "write" });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ error: { code: "forbidden", message: "This token is read-only." } });

    const web = await b.post("/account/tokens", { name: "ci", scope: "write" });
    const writeToken = /<p class="token">(efp_[A-Za-z0-9_-]+)<\/p>/.exec(await web.text())![1]!;
    const created = await apiCall(forge.host, "POST", "/api/v1/user/tokens", writeToken, { name: "script", scope: "read" });
    expect(created.status).toBe(201);
    const { id, token } = (await created.json()) as { id: number; token: string };
    expect(token).toMatch(/^efp_/);
    const list = (await (await apiCall(forge.host, "GET", "/api/v1/user/tokens", readToken)).json()) as { name: string }[];
    expect(list.map((t) => t.name)).toEqual(["script", "ci", "laptop"]);
    expect(JSON.stringify(list)).not.toContain("efp_");

    expect((await apiCall(forge.host, "DELETE", `/api/v1/user/tokens/${id}`, writeToken)).status).toBe(204);
    expect((await apiCall(forge.host, "GET", "/api/v1/user", token)).status).toBe(401);
    expect((await apiCall(forge.host, "DELETE", `/api/v1/user/tokens/${id}`, writeToken)).status).toBe(404);
    // Revoking on the web.
    const tokenList = await (await b.get("/account/tokens")).text();
    const readId = /action="\/account\/tokens\/(\d+)\/revoke"/.exec(tokenList.slice(tokenList.indexOf("laptop")))![1];
    expect((await b.post(`/account/tokens/${readId}/revoke`, {})).status).toBe(303);
    expect((await apiCall(forge.host, "GET", "/api/v1/user", readToken)).status).toBe(401);
    expect((await apiCall(forge.host, "GET", "/api/v1/user")).status).toBe(401);
  });

  it("deactivating an account stops its sessions and tokens; admins manage people", async () => {
    const forge = await newForge("deact");
    const mallory = await registerUser(forge, "mallory");
    const t = /<p class="token">(efp_[A-Za-z0-9_-]+)<\/p>/.exec(
      await (await mallory.post("/account/tokens", { name: "t", scope: "write" })).text(),
    )![1]!;
    const adminB = new Browser(forge.host);
    await adminB.signIn("owner", forge.ownerPassword);
    const people = await (await adminB.get("/admin/users")).text();
    const id = /action="\/admin\/users\/(\d+)"[\s\S]*?mallory|mallory[\s\S]*?action="\/admin\/users\/(\d+)"/.exec(people)!;
    const userId = id[1] ?? id[2];
    expect((await adminB.post(`/admin/users/${userId}`, { action: "deactivate" })).status).toBe(303);
    expect((await mallory.get("/account")).status).toBe(303);
    expect((await apiCall(forge.host, "GET", "/api/v1/user", t)).status).toBe(401);
    expect((await new Browser(forge.host).post("/account/login", { login: "mallory", password: "user-password-1" })).status).toBe(
      403,
    );
    expect((await adminB.post(`/admin/users/${userId}`, { action: "activate" })).status).toBe(303);
    expect((await adminB.post(`/admin/users/${userId}`, { action: "admin" })).status).toBe(303);
    await mallory.signIn("mallory", "user-password-1");
    expect((await mallory.get("/admin")).status).toBe(200);
    // Non-admins do not see admin pages at all.
    const plain = await registerUser(forge, "niaj");
    expect((await plain.get("/admin")).status).toBe(404);
    expect((await plain.post("/admin/settings", { name: "pwned" })).status).toBe(404);
  });
});

describe("projects and the forge API document", () => {
  it("lets admins create projects, and users only when the forge allows it", async () => {
    const forge = await newForge("newproj");
    const user = await registerUser(forge, "olga");
    const token = /<p class="token">(efp_[A-Za-z0-9_-]+)<\/p>/.exec(
      await (await user.post("/account/tokens", { name: "t", scope: "write" })).text(),
    )![1]!;
    expect((await user.get("/projects/new")).status).toBe(403);
    expect((await user.post("/projects/new", { name: "mine" })).status).toBe(403);
    const viaApi = await apiCall(forge.host, "POST", "/api/v1/projects", token, { name: "mine" });
    expect(viaApi.status).toBe(403);

    const admin = new Browser(forge.host);
    await admin.signIn("owner", forge.ownerPassword);
    expect(
      (
        await admin.post("/admin/settings", {
          name: `Forge ${forge.slug}`,
          registration: "open",
          project_creation: "users",
          front_page: "# Welcome\n\nHello *all*.",
        })
      ).status,
    ).toBe(303);
    const home = await (await new Browser(forge.host).get("/")).text();
    expect(home).toMatch(/<h1 id="user-content-welcome">.*Welcome<\/h1>/);
    expect(home).toContain("<em>all</em>");

    expect((await user.post("/projects/new", { name: "Bad Name!" })).status).toBe(400);
    const made = await user.post("/projects/new", { name: "mine", description: "**bold** idea" });
    expect(made.status).toBe(303);
    expect(made.headers.get("location")).toBe("/p/mine/");
    const page = await (await user.get("/p/mine/")).text();
    expect(page).toContain("<strong>bold</strong> idea");
    expect(page).toContain('href="/p/mine/admin"');
    expect((await user.post("/projects/new", { name: "mine" })).status).toBe(409);
    const api = await apiCall(forge.host, "POST", "/api/v1/projects", token, { name: "theirs", private: true });
    expect(api.status).toBe(201);
    expect(await api.json()).toMatchObject({ name: "theirs", private: true, role: "owner" });
    expect((await apiCall(forge.host, "POST", "/api/v1/projects", token, { name: "no spaces" })).status).toBe(400);
  });

  it("publishes the forge API's OpenAPI document on tenant hosts", async () => {
    const forge = await newForge("oas");
    const res = await edge(`http://${forge.host}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { info: { title: string }; paths: Record<string, unknown> };
    expect(doc.info.title).toBe("Edgeforge forge API");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/user",
        "/api/v1/user/tokens",
        "/api/v1/user/tokens/{id}",
        "/api/v1/projects",
        "/api/v1/projects/{name}",
      ]),
    );
    const missing = await edge(`http://${forge.host}/api/v1/nothing-here`);
    expect(missing.status).toBe(404);
    // An unknown route may be a Gitea client's: Gitea's error shape.
    expect(((await missing.json()) as { message: string }).message).toContain("no API route");
  });
});
