// The tracker end to end on the real local forge: in Chromium, sign in, file an issue with a label
// and an attachment, comment and change its status, find it by search and in the Atom feed; with
// the real git client, a pushed commit saying "Fixes #1" closes issue 1 with a link to the commit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium } from "./browser";
import { request } from "../../bin/cli/http";
import { sharedForge, until, type RunningForge, type TestTenant } from "./runner";
import { git, gitOk, tempDir } from "./git";

let forge: RunningForge;
let tenant: TestTenant;
let browser: Browser;

beforeAll(async () => {
  forge = await sharedForge();
  // A forge of this file's own, whose owner is called "demo" like the local forge's demo owner.
  tenant = await forge.createTenant("issues", { username: "demo", password: "demo-password", email: "demo@example.com" });
  for (const name of ["tracker", "linked"]) {
    const r = await forge.cli("projects", "create", tenant.slug, name);
    expect(r.code, r.stderr).toBe(0);
  }
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await forge?.stop();
});

const url = (path: string) => forge.url(tenant.host, path);

function api(method: string, path: string, body?: unknown) {
  return request(url(path), {
    method,
    headers: { authorization: `token ${tenant.owner.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe("the tracker in Chromium", () => {
  it("signs in, files an issue with a label and an attachment, comments and changes its status, finds it by search and in the feed", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(url("/account/login?next=%2Fp%2Ftracker%2Fissues%2F"));
    await page.fill("#f-login", "demo");
    await page.fill("#f-password", "demo-password");
    await Promise.all([page.waitForURL(url("/p/tracker/issues/")), page.click("button[type=submit].primary")]);
    // The empty tracker teaches; its link leads to the form.
    expect(await page.textContent("main")).toContain("No issues yet");
    await Promise.all([page.waitForURL(url("/p/tracker/issues/new")), page.click("text=File the first issue")]);

    const file = join(tempDir("attach"), "crash-report.txt");
    writeFileSync(file, "Traceback: kaboom in save()\n");
    await page.fill("#f-summary", "Saving a quokka document crashes");
    await page.fill("#f-description", "Open a document, press **save**: the editor crashes.\n\n<script>alert(1)</script>");
    await page.selectOption("#f-label-type", "Type:Defect");
    await page.setInputFiles("#f-attachment", file);
    await Promise.all([page.waitForURL(/\/p\/tracker\/issues\/1\?ok=filed$/), page.click("text=File issue")]);
    const aside = (await page.textContent("aside.iss-side")) ?? "";
    expect(aside).toContain("Type:Defect");
    expect(aside).toContain("New");
    expect(await page.textContent("main")).toContain("Issue filed.");
    // The attachment downloads with its bytes.
    const href = await page.getAttribute("a[href*='/issues/attachments/']", "href");
    expect(href).toMatch(/crash-report\.txt$/);
    const downloaded = await page.evaluate(async (h) => (await fetch(h!)).text(), href);
    expect(downloaded).toBe("Traceback: kaboom in save()\n");

    // Comment and change the status in one go.
    await page.fill("#f-comment", "Reproduced with **every** document.");
    await page.selectOption("#f-status", "Started");
    await Promise.all([page.waitForURL(/\/p\/tracker\/issues\/1#end$/), page.click("button:has-text('Save')")]);
    const history = (await page.textContent(".iss-main")) ?? "";
    expect(history).toContain("Reproduced with every document.");
    expect(history).toContain("Status: New → Started");
    expect(await page.textContent("aside.iss-side")).toContain("Started");

    // Search from the tracker's search box.
    await page.fill("#issue-q", "quokka");
    await Promise.all([page.waitForURL(/\/p\/tracker\/issues\/search\?q=quokka$/), page.press("#issue-q", "Enter")]);
    expect(await page.textContent("table.issues")).toContain("Saving a quokka document crashes");
    expect(await page.innerHTML("table.issues")).toContain("<mark>quokka</mark>");
    await page.goto(url("/p/tracker/issues/search?q=every&status=Started&label=Type:Defect"));
    expect(await page.textContent("table.issues")).toContain("Saving a quokka document crashes");

    // The project's Atom feed has the filing and the comment.
    const feed = await page.evaluate(async () => {
      const res = await fetch("/p/tracker/feed/issues.atom");
      return { type: res.headers.get("content-type"), text: await res.text() };
    });
    expect(feed.type).toBe("application/atom+xml; charset=utf-8");
    const xml = new DOMParserLike(feed.text);
    expect(xml.titles()).toContain("Issue 1 filed: Saving a quokka document crashes");
    expect(feed.text).toContain("Reproduced with");
    expect(dialogs).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss ?? null)).toBeNull();
    await ctx.close();
  }, 120_000);
});

/** Just enough of Atom for the assertions: entry titles, unescaped. */
class DOMParserLike {
  constructor(readonly text: string) {}
  titles(): string[] {
    return [...this.text.matchAll(/<entry><title>([^<]*)<\/title>/g)].map((m) =>
      m[1]!
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&quot;/g, '"')
        .replace(/&apos;/g, "'")
        .replace(/&amp;/g, "&"),
    );
  }
}

describe("commit links with the real git client", () => {
  it("a push of a commit saying Fixes #1 closes issue 1 with a link to the commit; a refused push touches nothing", async () => {
    for (const title of ["Crash on start", "Slow search", "Docs are thin"]) {
      expect((await api("POST", "/api/v1/projects/linked/issues", { title })).status).toBe(201);
    }
    const dir = join(tempDir("linked"), "w");
    await gitOk(["init", "--quiet", "-b", "main", dir]);
    const push = (ref: string) =>
      git(["push", `http://demo:${tenant.owner.token}@${tenant.host}:${forge.port}/linked.git`, ref], { cwd: dir });
    writeFileSync(join(dir, "app.txt"), "v1\n");
    await gitOk(["add", "app.txt"], { cwd: dir });
    await gitOk(["commit", "--quiet", "-m", "Start"], { cwd: dir });
    const first = await push("main");
    expect(first.code, first.stderr).toBe(0);

    // Refused: history rewritten without --force. Its "Fixes #2" must never count.
    await gitOk(["commit", "--quiet", "--amend", "-m", "Rewritten start\n\nFixes #2"], { cwd: dir });
    const refused = await push("main");
    expect(refused.code).not.toBe(0);
    await gitOk(["fetch", "--quiet", `http://${tenant.host}:${forge.port}/linked.git`, "main"], { cwd: dir });
    await gitOk(["reset", "--quiet", "--hard", "FETCH_HEAD"], { cwd: dir });

    writeFileSync(join(dir, "app.txt"), "v2\n");
    await gitOk(["commit", "--quiet", "-am", "Fix the crash on start\n\nFixes #1\nRefs #3"], { cwd: dir });
    const sha = (await gitOk(["rev-parse", "HEAD"], { cwd: dir })).trim();
    const landed = await push("main");
    expect(landed.code, landed.stderr).toBe(0);

    const closed = await until("issue 1 to close", async () => {
      const issue = (await api("GET", "/api/v1/projects/linked/issues/1")).json<{ state: string; status: string }>();
      return issue.state === "closed" ? issue : null;
    });
    expect(closed.status).toBe("Fixed");
    const comments = (await api("GET", "/api/v1/projects/linked/issues/1/comments")).json<
      { body: string; changes: object; user: { login: string } }[]
    >();
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain(`(/p/linked/source/commit/${sha})`);
    expect(comments[0]).toMatchObject({ changes: { status: ["New", "Fixed"] }, user: { login: "demo" } });
    const pageHtml = (await request(url("/p/linked/issues/1"))).text();
    expect(pageHtml).toContain(`href="/p/linked/source/commit/${sha}"`);
    // Refs #3: a comment, still open. The refused push's #2: nothing.
    const three = await until("issue 3's comment", async () => {
      const list = (await api("GET", "/api/v1/projects/linked/issues/3/comments")).json<{ body: string }[]>();
      return list.length ? list : null;
    });
    expect(three[0]!.body).toContain(sha);
    expect((await api("GET", "/api/v1/projects/linked/issues/3")).json<{ state: string }>().state).toBe("open");
    expect((await api("GET", "/api/v1/projects/linked/issues/2")).json<{ state: string; comments: number }>()).toMatchObject({
      state: "open",
    });
    expect((await api("GET", "/api/v1/projects/linked/issues/2/comments")).json<unknown[]>()).toEqual([]);
  }, 120_000);
});
