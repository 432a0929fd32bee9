// Tenant isolation of credentials and content: a session cookie, an API token and a git
// credential of forge A are worth nothing on forge B, and nothing of A is served on B's host.
import { beforeAll, describe, expect, it } from "vitest";
import { authenticateGitBasic } from "../../src/services/credentials";
import { openTenantDb } from "../../src/db/tenant-db";
import { Browser, apiCall, newForge, registerUser, tenantD1, type Forge } from "./browser";
import { edge } from "./helpers";

let a: Forge;
let b: Forge;
let aOwner: Browser;
let aToken: string;

const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

beforeAll(async () => {
  a = await newForge("iso-a");
  b = await newForge("iso-b");
  // Both forges have a user "owner" with id 1, and a user "sam": ids and names collide on purpose.
  aOwner = new Browser(a.host);
  await aOwner.signIn("owner", a.ownerPassword);
  await registerUser(b, "sam");
  await registerUser(a, "sam");
  aToken = a.ownerToken;
  const created = await apiCall(a.host, "POST", "/api/v1/projects", aToken, {
    name: "alpha-secret",
    description: "only-in-forge-a",
    private: true,
  });
  expect(created.status).toBe(201);
  expect(
    (await apiCall(a.host, "POST", "/api/v1/projects", aToken, { name: "alpha-public", description: "public-in-forge-a" }))
      .status,
  ).toBe(201);
});

describe("credentials of forge A on forge B", () => {
  it("A's session cookie does not sign anyone in on B (same user id and name there)", async () => {
    expect((await aOwner.get("/account")).status).toBe(200);
    const onB = new Browser(b.host);
    for (const [k, v] of aOwner.cookies) onB.cookies.set(k, v);
    const res = await onB.get("/account");
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/account/login?next=%2Faccount");
    // B clears the foreign cookie.
    expect(onB.cookies.size).toBe(0);
    for (const [k, v] of aOwner.cookies) onB.cookies.set(k, v);
    expect((await onB.get("/admin")).status).toBe(303);
    expect(await (await onB.get("/")).text()).not.toContain('href="/account"');
    const api = await edge(`http://${b.host}/api/v1/user`, { headers: { cookie: aOwner.cookieHeader() } });
    expect(api.status).toBe(401);
  });

  it("A's API token is rejected by B's API and works on A", async () => {
    expect((await apiCall(a.host, "GET", "/api/v1/user", aToken)).status).toBe(200);
    const res = await apiCall(b.host, "GET", "/api/v1/user", aToken);
    expect(res.status).toBe(401);
    // /api/v1/user is also Gitea's: Gitea's error shape.
    expect(((await res.json()) as { message: string }).message).toMatch(/Bad credentials/);
    expect((await apiCall(b.host, "GET", "/api/v1/projects", aToken)).status).toBe(401);
    expect((await apiCall(b.host, "POST", "/api/v1/user/tokens", aToken, { name: "x" })).status).toBe(401);
  });

  it("A's git credential (username:token over Basic) is rejected on B and accepted on A", async () => {
    const dbA = openTenantDb(await tenantD1(a));
    const dbB = openTenantDb(await tenantD1(b));
    const onA = await authenticateGitBasic(dbA, basic("owner", aToken));
    expect(onA?.user?.username).toBe("owner");
    expect(onA?.scope).toBe("write");
    expect(await authenticateGitBasic(dbB, basic("owner", aToken))).toBeNull();
    // Wrong username for the token, a password instead of a token, junk: all rejected.
    expect(await authenticateGitBasic(dbA, basic("sam", aToken))).toBeNull();
    expect(await authenticateGitBasic(dbA, basic("owner", a.ownerPassword))).toBeNull();
    for (const junk of [undefined, "", "Basic", "Basic !!!", `Bearer ${aToken}`, basic("owner", "")]) {
      expect(await authenticateGitBasic(dbA, junk)).toBeNull();
    }
    // The API accepts the same Basic credential (what git-credential helpers send).
    expect((await edge(`http://${a.host}/api/v1/user`, { headers: { authorization: basic("owner", aToken) } })).status).toBe(200);
    expect((await edge(`http://${b.host}/api/v1/user`, { headers: { authorization: basic("owner", aToken) } })).status).toBe(401);
  });
});

describe("content of forge A on forge B", () => {
  it("serves no page or API result of A on B's host", async () => {
    const bOwner = new Browser(b.host);
    await bOwner.signIn("owner", b.ownerPassword);
    for (const browser of [new Browser(b.host), bOwner]) {
      for (const path of ["/", "/admin/projects", "/u/sam", "/u/owner"]) {
        const res = await browser.get(path);
        const html = await res.text();
        expect(html, path).not.toContain("alpha-");
        expect(html, path).not.toContain("in-forge-a");
        expect(html, path).not.toContain(`Forge ${a.slug}`);
      }
      for (const path of ["/p/alpha-secret/", "/p/alpha-public/", "/p/alpha-public/admin"]) {
        expect((await browser.get(path)).status, path).toBe(404);
      }
    }
    const list = await apiCall(b.host, "GET", "/api/v1/projects", b.ownerToken);
    expect(JSON.stringify(await list.json())).not.toContain("alpha");
    expect((await apiCall(b.host, "GET", "/api/v1/projects/alpha-public", b.ownerToken)).status).toBe(404);
    // The same requests on A do find them (so the checks above can fail).
    expect(await (await aOwner.get("/")).text()).toContain("alpha-secret");
    expect((await apiCall(a.host, "GET", "/api/v1/projects/alpha-secret", aToken)).status).toBe(200);
  });
});
