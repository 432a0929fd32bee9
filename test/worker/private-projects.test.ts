// Private projects answer 404 to everyone who may not see them, on every route that touches a
// project, and 200 to members. Adding a route to the check is one line in ROUTES.
import { beforeAll, describe, expect, it } from "vitest";
import { Browser, apiCall, newForge, registerUser, type Forge } from "./browser";
import { edge } from "./helpers";

/** Every route that reads a project, and what a member gets. Add new ones here. */
const ROUTES: { path: (p: string) => string; api?: boolean }[] = [
  { path: (p) => `/p/${p}/` },
  { path: (p) => `/api/v1/projects/${p}`, api: true },
  { path: (p) => `/p/${p}/issues/` },
  { path: (p) => `/p/${p}/issues/1` },
  { path: (p) => `/p/${p}/issues/new` },
  { path: (p) => `/p/${p}/issues/summary` },
  { path: (p) => `/p/${p}/issues/overdue` },
  { path: (p) => `/p/${p}/issues/search?q=secret` },
  { path: (p) => `/p/${p}/feed/issues.atom` },
  { path: (p) => `/p/${p}/feed/issues/1.atom` },
  { path: (p) => `/p/${p}/timeline` },
  { path: (p) => `/p/${p}/timeline.atom` },
  { path: (p) => `/api/v1/projects/${p}/issues`, api: true },
  { path: (p) => `/api/v1/projects/${p}/issues/1`, api: true },
  { path: (p) => `/api/v1/projects/${p}/issues/1/comments`, api: true },
  { path: (p) => `/api/v1/projects/${p}/issues/1/labels`, api: true },
  { path: (p) => `/api/v1/projects/${p}/labels`, api: true },
  { path: (p) => `/p/${p}/downloads/` },
  { path: (p) => `/p/${p}/downloads/plans.txt` },
  { path: (p) => `/p/${p}/downloads/plans.txt/details` },
  { path: (p) => `/api/v1/projects/${p}/downloads`, api: true },
  { path: (p) => `/api/v1/projects/${p}/downloads/plans.txt`, api: true },
  { path: (p) => `/api/v1/projects/${p}/downloads/plans.txt/file`, api: true },
];

/** Routes only owners see (hidden from plain members too). */
const OWNER_ROUTES: { path: (p: string) => string }[] = [
  { path: (p) => `/p/${p}/admin` },
  { path: (p) => `/p/${p}/issues/admin` },
  { path: (p) => `/p/${p}/downloads/admin` },
];

let forge: Forge;
let member: Browser;
let authorized: Browser;
let stranger: Browser;
let memberToken: string;
let strangerToken: string;
let authorizedToken: string;

async function webToken(b: Browser): Promise<string> {
  const res = await b.post("/account/tokens", { name: "t", scope: "read" });
  return /<p class="token">(efp_[A-Za-z0-9_-]+)<\/p>/.exec(await res.text())![1]!;
}

beforeAll(async () => {
  forge = await newForge("priv");
  member = await registerUser(forge, "mia");
  authorized = await registerUser(forge, "abe");
  stranger = await registerUser(forge, "stan");
  const owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  expect((await owner.post("/projects/new", { name: "hush", description: "top *secret* plans", private: "1" })).status).toBe(303);
  expect((await owner.post("/p/hush/admin/members", { username: "mia", role: "member" })).status).toBe(303);
  expect((await owner.post("/p/hush/admin/members", { username: "abe", role: "authorized" })).status).toBe(303);
  expect(
    (await apiCall(forge.host, "POST", "/api/v1/projects/hush/issues", forge.ownerToken, { title: "secret bug" })).status,
  ).toBe(201);
  const upload = await edge(`http://${forge.host}/api/v1/projects/hush/downloads?name=plans.txt`, {
    method: "POST",
    headers: { authorization: `token ${forge.ownerToken}` },
    body: "secret plans",
  });
  expect(upload.status).toBe(201);
  memberToken = await webToken(member);
  strangerToken = await webToken(stranger);
  authorizedToken = await webToken(authorized);
}, 120_000);

async function statusOf(route: { path: (p: string) => string; api?: boolean }, who: Browser | null, token?: string) {
  const path = route.path("hush");
  const res = route.api ? await apiCall(forge.host, "GET", path, token) : await (who ?? new Browser(forge.host)).get(path);
  // Read to the end: a file streamed from R2 and left unread holds its request open.
  await res.arrayBuffer();
  return res.status;
}

describe("a private project", () => {
  for (const route of ROUTES) {
    const path = route.path("hush");
    it(`${path}: 404 for anonymous and non-members, 200 for members and authorized users`, async () => {
      expect(await statusOf(route, null)).toBe(404);
      expect(await statusOf(route, stranger, strangerToken)).toBe(404);
      expect(await statusOf(route, member, memberToken)).toBe(200);
      expect(await statusOf(route, authorized, authorizedToken)).toBe(200);
      // A missing project answers exactly like the hidden one.
      expect(await statusOf({ ...route, path: (p) => route.path(`${p}-missing`) }, member, memberToken)).toBe(404);
    });
  }

  for (const route of OWNER_ROUTES) {
    it(`${route.path("hush")}: 404 for everyone but owners and admins`, async () => {
      expect(await statusOf(route, null)).toBe(404);
      expect(await statusOf(route, stranger)).toBe(404);
      expect(await statusOf(route, member)).toBe(404);
      const owner = new Browser(forge.host);
      await owner.signIn("owner", forge.ownerPassword);
      expect(await statusOf(route, owner)).toBe(200);
    });
  }

  it("is in no list shown to those who may not see it, and in members' lists", async () => {
    const names = async (token?: string) =>
      ((await (await apiCall(forge.host, "GET", "/api/v1/projects", token)).json()) as { name: string }[]).map((p) => p.name);
    expect(await names()).not.toContain("hush");
    expect(await names(strangerToken)).not.toContain("hush");
    expect(await names(memberToken)).toContain("hush");
    expect(await (await new Browser(forge.host).get("/")).text()).not.toContain("hush");
    expect(await (await stranger.get("/")).text()).not.toContain("hush");
    expect(await (await member.get("/")).text()).toContain("hush");
    expect(await (await stranger.get("/u/mia")).text()).not.toContain("hush");
    expect(await (await member.get("/u/mia")).text()).toContain("hush");
  });

  it("per-area levels: members-only source hides the clone URL from signed-in non-members of a public project", async () => {
    const owner = new Browser(forge.host);
    await owner.signIn("owner", forge.ownerPassword);
    expect((await owner.post("/projects/new", { name: "open", description: "" })).status).toBe(303);
    expect((await owner.post("/p/open/admin/members", { username: "mia", role: "member" })).status).toBe(303);
    const levels = {
      access_source: "members",
      access_issues: "signed-in",
      access_wiki: "all",
      access_downloads: "owners",
      access_review: "off",
    };
    expect((await owner.post("/p/open/admin/settings", { description: "now open", ...levels })).status).toBe(303);
    expect(await (await stranger.get("/p/open/")).text()).not.toContain("git clone");
    expect(await (await member.get("/p/open/")).text()).toContain("git clone");
    const project = (await (await apiCall(forge.host, "GET", "/api/v1/projects/open", memberToken)).json()) as {
      access: object;
      role: string;
    };
    expect(project).toMatchObject({
      role: "member",
      access: { source: "members", issues: "signed-in", wiki: "all", downloads: "owners", review: "off" },
    });
    // Bad levels are refused, nothing changes.
    expect((await owner.post("/p/open/admin/settings", { description: "x", access_source: "everyone" })).status).toBe(400);
    expect((await (await apiCall(forge.host, "GET", "/api/v1/projects/open", memberToken)).json()) as object).toMatchObject({
      description: "now open",
    });
    // Members cannot change settings.
    expect((await member.post("/p/open/admin/settings", { description: "pwned" })).status).toBe(404);
  });
});
