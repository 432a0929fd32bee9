// Navigation in Chromium on the local forge with the express fixture: the project tab bar, the
// skip link, the ref selector used with the keyboard (type to filter, ArrowDown and Enter), no
// horizontal overflow at 390 px on the README page, and the timeline as a reader sees it.
// NAV_SCREENSHOTS=<folder> also saves screenshots of the project home and the timeline at 1280
// and 390 px, light and dark.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { request, type HttpResponse } from "../../bin/cli/http";
import { launchChromium, screenshotPages } from "./browser";
import { EXPRESS_BUNDLE, expressMirror, gitOk } from "./git";
import { sharedForge, type RunningForge, type TestTenant } from "./runner";

let forge: RunningForge;
let tenant: TestTenant;
let browser: Browser;

async function api(method: string, path: string, body?: unknown): Promise<HttpResponse> {
  return request(forge.url(tenant.host, path), {
    method,
    headers: { authorization: `token ${tenant.owner.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("nav");
  const created = await forge.cli(
    "projects",
    "create",
    tenant.slug,
    "express",
    "--description",
    "Fast, **unopinionated** web framework",
  );
  expect(created.code, created.stderr).toBe(0);
  const imported = await forge.cli("repos", "import", tenant.slug, "express", EXPRESS_BUNDLE);
  expect(imported.code, imported.stderr).toBe(0);
  // Some history for the timeline: a pushed branch (through the post-push queue), an issue and a comment.
  const mirror = await expressMirror();
  const push = new URL(forge.url(tenant.host, "/express.git"));
  push.username = tenant.owner.username;
  push.password = tenant.owner.token;
  await gitOk(["push", "--quiet", push.toString(), "master:refs/heads/feature/nav-demo"], { cwd: mirror });
  // The push's event comes through the queue: wait until the timeline has it, so that the
  // issue's events come after it (the timeline is in the order events are recorded).
  for (;;) {
    const page = (await request(forge.url(tenant.host, "/p/express/timeline?kind=push"))).text();
    if (page.includes("feature/nav-demo")) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect((await api("POST", "/api/v1/projects/express/issues", { title: "Router <ignores> trailing slash" })).status).toBe(201);
  expect((await api("POST", "/api/v1/projects/express/issues/1/comments", { body: "Seen on 5.x too." })).status).toBe(201);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await forge?.stop();
});

describe("navigation in Chromium", () => {
  it("chooses a branch in the ref selector with the keyboard: type to filter, ArrowDown, Enter", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(forge.url(tenant.host, "/p/express/source/tree/master/lib"));
    await page.focus("details.refsel summary");
    await page.keyboard.press("Enter");
    // Opening it puts the focus in the filter box.
    await page.waitForFunction(() => document.activeElement?.classList.contains("reffilter"));
    await page.keyboard.type("4.");
    const shown = await page.$$eval("details.refsel .reflist li:not([hidden]) a", (as) => as.map((a) => a.textContent));
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.every((name) => name!.includes("4."))).toBe(true);
    expect(shown[0]).toBe("4.x");
    await page.keyboard.press("ArrowDown");
    expect(await page.getAttribute("details.refsel input", "aria-activedescendant")).toBe(
      await page.$eval("details.refsel a.active", (a) => a.id),
    );
    await Promise.all([page.waitForURL(/\/source\/tree\/4\.x\/lib$/), page.keyboard.press("Enter")]);
    expect(await page.textContent("details.refsel summary")).toContain("4.x");
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it("without JavaScript the ref selector is a list of links", async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto(forge.url(tenant.host, "/p/express/source/tree/master/lib"));
    expect(await page.isHidden("details.refsel input")).toBe(true);
    await page.click("details.refsel summary");
    await Promise.all([page.waitForURL(/\/source\/tree\/4\.x\/lib$/), page.click("details.refsel a:text-is('4.x')")]);
    await ctx.close();
  });

  it("has the tab bar on every project page, the current tab marked, and a skip link first", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    for (const [path, tab] of [
      ["/p/express/", "Home"],
      ["/p/express/source/tree/master/lib", "Source"],
      ["/p/express/issues/", "Issues"],
      ["/p/express/issues/1", "Issues"],
      ["/p/express/timeline", "Timeline"],
    ] as const) {
      await page.goto(forge.url(tenant.host, path));
      expect(await page.$$eval("nav.ptabs a", (as) => as.map((a) => a.textContent))).toEqual([
        "Home",
        "Source",
        "Issues",
        "Reviews",
        "Wiki",
        "Downloads",
        "Timeline",
      ]);
      expect(await page.textContent('nav.ptabs a[aria-current="page"]'), path).toBe(tab);
      expect(await page.$$eval("h1", (h) => h.length), path).toBe(1);
    }
    // Links in text are underlined (colour alone does not set them apart); the tabs are not.
    await page.goto(forge.url(tenant.host, "/p/express/"));
    const decoration = (selector: string) => page.$eval(selector, (a) => getComputedStyle(a).textDecorationLine);
    expect(await decoration("section.readme p a")).toBe("underline");
    expect(await decoration("ol.timeline li a")).toBe("underline");
    expect(await decoration("nav.ptabs a")).toBe("none");
    // The first Tab reaches the skip link; following it moves the focus to the main content.
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to main content");
    expect(await page.isVisible("a.skip")).toBe(true);
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    await ctx.close();
  });

  it("fits the express README page in 390 px: long code, tables and images stay in their box", async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    for (const path of ["/p/express/", "/p/express/source/", "/p/express/source/blob/master/Readme.md", "/p/express/timeline"]) {
      await page.goto(forge.url(tenant.host, path));
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, path).toBe(0);
    }
    await ctx.close();
  });

  it("leads from the timeline to the pushed branch and the comment", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(forge.url(tenant.host, "/p/express/timeline"));
    const titles = await page.$$eval("ol.timeline li a", (as) => as.map((a) => a.textContent));
    expect(titles.slice(0, 3)).toEqual([
      "owner commented on issue 1: Router <ignores> trailing slash",
      "owner opened issue 1: Router <ignores> trailing slash",
      "owner created branch feature/nav-demo",
    ]);
    await Promise.all([page.waitForURL(/\/issues\/1#c\d+$/), page.click("ol.timeline li a >> nth=0")]);
    await page.goBack();
    await Promise.all([page.waitForURL(/\/source\/log\/feature\/nav-demo$/), page.click("ol.timeline li a >> nth=2")]);
    // The home's recent activity uses the same entries.
    await page.goto(forge.url(tenant.host, "/p/express/"));
    expect(await page.$$eval("ol.timeline li a", (as) => as.length)).toBeGreaterThanOrEqual(3);
    expect(await page.getAttribute('link[rel="alternate"][type="application/atom+xml"]', "href")).toBe(
      "/p/express/timeline.atom",
    );
    await ctx.close();
  });

  it.runIf(process.env.NAV_SCREENSHOTS)(
    "saves screenshots of the project home and the timeline",
    async () => {
      const pages = [
        ["home", "/p/express/"],
        ["timeline", "/p/express/timeline"],
        ["tree", "/p/express/source/tree/master/lib"],
      ] as const;
      await screenshotPages(
        browser,
        process.env.NAV_SCREENSHOTS!,
        pages.map(([name, path]) => [name, forge.url(tenant.host, path)] as const),
        { prepare: async (name, page) => void (name === "tree" && (await page.click("details.refsel summary"))) },
      );
    },
    300_000,
  );
});
