// The page frame in workerd: one project tab bar on every project page (current tab marked, hidden
// areas left out), an <h1> and a skip link on every page, the favicon, error pages that keep the
// project's navigation, the unknown-host page and the suspended forge's neutral page.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { faviconPath, favicon } from "../../src/views/static-assets";
import { Browser, apiCall, newForge, type Forge } from "./browser";
import { admin, edge, drainPostPush } from "./helpers";
import { pushMessages } from "./issue-fixture";

// No post-push delivery of this file's pushes may still run when its runtime closes.
afterAll(drainPostPush);

let forge: Forge;
let owner: Browser;
let tip: string;

/** The project tab bar of a page: [label, href, current]. */
function tabs(page: string): [string, string, boolean][] {
  const bar = /<nav class="ptabs" aria-label="Project">([\s\S]*?)<\/nav>/.exec(page)?.[1];
  if (!bar) return [];
  return [...bar.matchAll(/<a href="([^"]*)"( aria-current="page")?>([^<]*)<\/a>/g)].map((m) => [m[3]!, m[1]!, !!m[2]]);
}
const current = (page: string) => tabs(page).find((t) => t[2])?.[0] ?? null;

beforeAll(async () => {
  forge = await newForge("nav");
  owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  expect((await owner.post("/projects/new", { name: "nav", description: "navigation" })).status).toBe(303);
  ({ tip } = await pushMessages(forge.host, "nav", { username: "owner", token: forge.ownerToken }, ["first", "second"]));
  expect((await apiCall(forge.host, "POST", "/api/v1/projects/nav/issues", forge.ownerToken, { title: "a bug" })).status).toBe(
    201,
  );
  // No "# heading" in the text: a page's own Markdown may add headings of any level; the frame's h1 is what is checked.
  const page = { name: "Install", content: "Run make.\n\n## Options\n\nNone yet." };
  expect((await apiCall(forge.host, "POST", "/api/v1/projects/nav/wiki/pages", forge.ownerToken, page)).status).toBe(201);
  const upload = await edge(`http://${forge.host}/api/v1/projects/nav/downloads?name=app.tar.gz&summary=App`, {
    method: "POST",
    headers: { authorization: `token ${forge.ownerToken}` },
    body: "bytes of a release",
  });
  expect(upload.status).toBe(201);
}, 120_000);

/** Every kind of page, and the tab each belongs to (null: not a project page). */
const PAGES: [string, string | null][] = [
  ["/", null],
  ["/p/nav/", "Home"],
  ["/p/nav/source/", "Source"],
  ["/p/nav/source/tree/main/", "Source"],
  ["/p/nav/source/blob/main/file.txt", "Source"],
  ["/p/nav/source/log/main", "Source"],
  ["/p/nav/source/branches", "Source"],
  ["/p/nav/source/tags", "Source"],
  ["/p/nav/source/compare", "Source"],
  ["/p/nav/issues/", "Issues"],
  ["/p/nav/issues/1", "Issues"],
  ["/p/nav/issues/new", "Issues"],
  ["/p/nav/issues/summary", "Issues"],
  ["/p/nav/reviews/", "Reviews"],
  ["/p/nav/reviews/new", "Reviews"],
  ["/p/nav/wiki", "Wiki"],
  ["/p/nav/wiki/Install", "Wiki"],
  ["/p/nav/wiki/Install/edit", "Wiki"],
  ["/p/nav/wiki/Install/history", "Wiki"],
  ["/p/nav/wiki-search?q=make", "Wiki"],
  ["/p/nav/downloads/", "Downloads"],
  ["/p/nav/downloads/new", "Downloads"],
  ["/p/nav/downloads/app.tar.gz/details", "Downloads"],
  ["/p/nav/timeline", "Timeline"],
  ["/p/nav/admin", "Admin"],
  ["/account", null],
  ["/account/tokens", null],
  ["/account/feed-token", null],
  ["/admin", null],
  ["/u/owner", null],
  ["/watchlist", null],
];

describe("every page", () => {
  it("has one <h1>, a skip link to <main id=main>, the favicon, and on project pages the tab bar with its tab marked", async () => {
    const pages = [...PAGES, [`/p/nav/source/commit/${tip}`, "Source"] as [string, string]];
    for (const [path, tab] of pages) {
      const res = await owner.get(path);
      expect(res.status, path).toBe(200);
      const page = await res.text();
      expect(page.match(/<h1[\s>]/g)?.length, `${path}: one h1`).toBe(1);
      expect(page, path).toContain('<a class="skip" href="#main">Skip to main content</a>');
      expect(page, path).toContain('<main id="main" tabindex="-1">');
      expect(page, path).toContain(`<link rel="icon" type="image/svg+xml" href="${faviconPath}"/>`);
      expect(current(page), path).toBe(tab);
    }
    const signedOut = await (await edge(`http://${forge.host}/account/login`)).text();
    expect(signedOut.match(/<h1[\s>]/g)?.length).toBe(1);
  });

  it("shows an owner every tab, and hides the tabs of areas a visitor cannot read", async () => {
    const all = tabs(await (await owner.get("/p/nav/")).text());
    expect(all.map((t) => t[0])).toEqual(["Home", "Source", "Issues", "Reviews", "Wiki", "Downloads", "Timeline", "Admin"]);
    expect(all.map((t) => t[1])).toEqual([
      "/p/nav/",
      "/p/nav/source/",
      "/p/nav/issues/",
      "/p/nav/reviews/",
      "/p/nav/wiki",
      "/p/nav/downloads",
      "/p/nav/timeline",
      "/p/nav/admin",
    ]);
    expect(
      (
        await owner.post("/p/nav/admin/settings", {
          description: "navigation",
          access_issues: "members",
          access_wiki: "off",
          access_source: "all",
          access_downloads: "all",
          access_review: "all",
        })
      ).status,
    ).toBe(303);
    const anon = new Browser(forge.host);
    for (const path of ["/p/nav/", "/p/nav/source/tree/main/", "/p/nav/timeline"]) {
      const names = tabs(await (await anon.get(path)).text()).map((t) => t[0]);
      expect(names, path).toEqual(["Home", "Source", "Reviews", "Downloads", "Timeline"]);
    }
  });
});

describe("feed discovery", () => {
  it("announces the feeds of the timeline, the project home and the issue list", async () => {
    const link = (href: string, title: string) =>
      `<link rel="alternate" type="application/atom+xml" title="${title}" href="${href}"/>`;
    expect(await (await owner.get("/p/nav/")).text()).toContain(link("/p/nav/timeline.atom", "nav timeline"));
    expect(await (await owner.get("/p/nav/timeline?kind=push")).text()).toContain(
      link("/p/nav/timeline.atom?kind=push", "nav timeline"),
    );
    expect(await (await owner.get("/p/nav/issues/")).text()).toContain(link("/p/nav/feed/issues.atom", "nav issues"));
  });
});

describe("static assets", () => {
  it("serves the favicon as SVG under its content hash for a year, and /favicon.ico points to it", async () => {
    const res = await edge(`http://${forge.host}${faviconPath}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/svg+xml");
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await res.text()).toBe(favicon);
    const ico = await edge(`http://${forge.host}/favicon.ico`, { redirect: "manual" });
    expect(ico.status).toBe(301);
    expect(new URL(ico.headers.get("location")!).pathname).toBe(faviconPath);
  });
});

describe("error pages", () => {
  it("keep the project's tab bar inside a visible project, and have none for a hidden or missing one", async () => {
    for (const path of ["/p/nav/issues/999", "/p/nav/source/tree/main/no-such-dir", "/p/nav/no-such-page", "/p/nav/wiki"]) {
      const res = await owner.get(path);
      expect(res.status, path).toBe(404);
      const page = await res.text();
      expect(tabs(page).length, path).toBeGreaterThan(0);
      expect(current(page), path).toBe(null);
      expect(page.match(/<h1[\s>]/g)?.length).toBe(1);
    }
    expect((await owner.post("/projects/new", { name: "secret", description: "", private: "1" })).status).toBe(303);
    const anon = new Browser(forge.host);
    for (const path of ["/p/secret/", "/p/secret/issues/", "/p/secret/nothing", "/p/missing/issues/"]) {
      const res = await anon.get(path);
      expect(res.status, path).toBe(404);
      const page = await res.text();
      expect(tabs(page), path).toEqual([]);
      expect(page, path).not.toContain('href="/p/secret/"');
    }
  });

  it("at an unknown host, say so without a link back to the same page", async () => {
    const res = await edge("http://nobody-lives-here.test/some/page");
    expect(res.status).toBe(404);
    const page = await res.text();
    expect(page).toContain("No forge at this address");
    expect(page).not.toMatch(/<a [^>]*href="\/"/);
    expect(page.match(/<h1[\s>]/g)?.length).toBe(1);
  });

  it("of a suspended forge show a neutral message, never the operator's reason", async () => {
    const other = await newForge("susp-nav");
    expect((await admin("POST", `/api/v1/tenants/${other.slug}/suspend`, { reason: "fraud investigation #4411" })).status).toBe(
      200,
    );
    const res = await edge(`http://${other.host}/p/anything/`);
    expect(res.status).toBe(503);
    const page = await res.text();
    expect(page).toContain("This forge is not available right now. Try again later.");
    expect(page).not.toContain("fraud");
    expect(page).not.toContain("4411");
    expect(page).not.toMatch(/<a [^>]*href="\/"/);
  });
});
