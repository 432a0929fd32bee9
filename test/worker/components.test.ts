// Each route names its meter component (log lines, `forge stats`): the names operators rely on
// stay the same now that middleware sets them, and a refused request (sent to sign in, or 404)
// counts under the page it asked for (it counted as web.tenant for the settings pages before).
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { edge } from "./helpers";
import { newForge, type Forge } from "./browser";
import { importRepo, RepoBuilder } from "./git-fixture";

let forge: Forge;

beforeAll(async () => {
  forge = await newForge("cmp");
  const repo = new RepoBuilder();
  const tip = repo.commit({ files: { "README.md": "# demo\n", "src/a.txt": "a\n" }, message: "first" });
  await importRepo(forge.slug, "demo", repo, { "refs/heads/main": tip });
}, 60_000);

afterEach(() => {
  vi.restoreAllMocks();
});

/** The component of the request's log line (one JSON line a request, written once its body is read). */
async function componentOf(path: string, init: RequestInit = {}): Promise<{ status: number; component: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    if (typeof line === "string" && line.startsWith('{"t":')) lines.push(line);
  });
  const res = await edge(`http://${forge.host}${path}`, { redirect: "manual", ...init });
  await res.arrayBuffer();
  await vi.waitFor(() => expect(lines.length).toBeGreaterThan(0));
  spy.mockRestore();
  return { status: res.status, component: (JSON.parse(lines.at(-1)!) as { component: string }).component };
}

const token = () => ({ authorization: `token ${forge.ownerToken}` });

describe("meter components", () => {
  it.each([
    ["/", "web.home"],
    ["/p/demo/", "web.project"],
    ["/p/demo/source/", "web.source.home"],
    ["/p/demo/source/tree/main/src", "web.source.tree"],
    ["/p/demo/source/blob/main/README.md", "web.source.blob"],
    ["/p/demo/source/raw/main/README.md", "web.source.raw"],
    ["/p/demo/source/log/main", "web.source.log"],
    ["/p/demo/source/archive/main.zip", "web.source.archive.zip"],
    ["/p/demo/source/archive/main.tar.gz", "web.source.archive.tgz"],
    ["/p/demo/feed/commits/main.atom", "web.source.feed"],
    ["/p/demo/issues/", "web.issues.list"],
    ["/p/demo/issues/summary", "web.issues.summary"],
    ["/p/demo/issues/search?q=x", "web.issues.search"],
    ["/p/demo/issues/new", "web.issues.new"],
    ["/p/demo/reviews/", "web.reviews.list"],
    ["/p/demo/admin", "web.project.admin"],
    ["/account", "web.account.profile"],
    ["/account/tokens", "web.account.tokens"],
    ["/account/login", "web.account.login"],
    ["/admin", "web.admin.settings"],
    ["/projects/new", "web.project.new"],
    ["/watchlist", "web.issues.watchlist"],
    ["/u/owner", "web.user"],
    ["/demo.git/info/refs?service=git-upload-pack", "git.info-refs"],
  ])("GET %s is %s", async (path, component) => {
    expect((await componentOf(path)).component).toBe(component);
  });

  it.each([
    ["/api/v1/user", "api.user"],
    ["/api/v1/user/tokens", "api.tokens"],
    ["/api/v1/projects", "api.projects"],
    ["/api/v1/projects/demo", "api.projects"],
    ["/api/v1/projects/demo/issues", "api.issues"],
    ["/api/v1/projects/demo/labels", "api.issues"],
    ["/api/v1/projects/demo/hooks", "api.hooks"],
    ["/api/v1/projects/demo/reviews", "api.reviews"],
  ])("GET %s with a token is %s", async (path, component) => {
    const { status, component: got } = await componentOf(path, { headers: token() });
    expect(status).toBe(200);
    expect(got).toBe(component);
  });

  it.each([
    ["/api/v1/version", "api.gitea.meta"],
    ["/api/v1/users/owner", "api.gitea.users"],
    ["/api/v1/orgs/{org}/repos", "api.gitea.orgs"],
    ["/api/v1/repos/search", "api.gitea.repos"],
    ["/api/v1/repos/{org}/demo", "api.gitea.repos"],
    ["/api/v1/repos/{org}/demo/contents/src/a.txt", "api.gitea.source"],
    ["/api/v1/repos/{org}/demo/issues", "api.gitea.issues"],
    ["/api/v1/repos/{org}/demo/labels", "api.gitea.labels"],
    ["/api/v1/repos/{org}/demo/hooks", "api.gitea.hooks"],
  ])("GET %s (Gitea's) with a token is %s", async (path, component) => {
    const { status, component: got } = await componentOf(path.replace("{org}", forge.slug), { headers: token() });
    expect(status).toBe(200);
    expect(got).toBe(component);
  });

  it("names git's POSTs", async () => {
    const upload = await componentOf("/demo.git/git-upload-pack", {
      method: "POST",
      headers: { "content-type": "application/x-git-upload-pack-request" },
      body: "0000",
    });
    expect(upload.component).toBe("git.upload-pack");
  });
});
