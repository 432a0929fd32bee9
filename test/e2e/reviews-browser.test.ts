// Code review in a real browser (Chromium through playwright-core) on the local forge, with the
// real git client: push a branch, open a review of it, comment on a line, push a new revision (the
// comment shows as outdated), approve, and merge with a merge commit (main moved meanwhile); a
// fresh clone then has the commits on main and passes `git fsck --strict`. Then a patch series
// uploaded through the New review form, applied to main.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium, recordDialogs } from "./browser";
import { sharedForge, type RunningForge, type TestTenant } from "./runner";
import { gitOk, tempDir } from "./git";

const PROJECT = "reviewed";

let forge: RunningForge;
let tenant: TestTenant;
let browser: Browser;
let page: Page;
let dialogs: string[];
let work: string;
const commits: Record<string, string> = {};

const url = (path: string) => forge.url(tenant.host, path);
const base = `/p/${PROJECT}/reviews`;

function pushUrl(): string {
  const u = new URL(url(`/${PROJECT}.git`));
  u.username = tenant.owner.username;
  u.password = tenant.owner.token;
  return u.toString();
}

async function commit(file: string, content: string, message: string): Promise<string> {
  writeFileSync(join(work, file), content);
  await gitOk(["add", file], { cwd: work });
  await gitOk(["commit", "--quiet", "-m", message], { cwd: work });
  return (await gitOk(["rev-parse", "HEAD"], { cwd: work })).trim();
}

/** Clicks what submits a form or follows a link, and waits for the page it leads to. */
async function go(pattern: RegExp, action: () => Promise<unknown>): Promise<void> {
  await Promise.all([page.waitForURL(pattern), action()]);
}

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("review");
  const made = await forge.cli("projects", "create", tenant.slug, PROJECT);
  expect(made.code, made.stderr).toBe(0);
  work = join(tempDir("review"), "w");
  await gitOk(["init", "--quiet", "-b", "main", work]);
  await gitOk(["config", "user.name", "Ada Lovelace"], { cwd: work });
  await gitOk(["config", "user.email", "ada@example.com"], { cwd: work });
  await commit("app.txt", "one\ntwo\nthree\nfour\nfive\n", "Count to five");
  await commit("README.md", "# Reviewed\n", "Say what it is");
  await gitOk(["push", "--quiet", pushUrl(), "main"], { cwd: work });
  await gitOk(["checkout", "--quiet", "-b", "feature"], { cwd: work });
  commits.first = await commit("app.txt", "one\nTWO\nthree\nfour\nfive\n", "Shout two");
  await gitOk(["push", "--quiet", pushUrl(), "feature"], { cwd: work });
  browser = await launchChromium();
  page = await (await browser.newContext()).newPage();
  dialogs = recordDialogs(page);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await forge?.stop();
});

describe("a review in Chromium (issue 17's acceptance)", () => {
  it("signs in and opens a review of the pushed branch from the Reviews tab", async () => {
    await page.goto(url("/account/login"));
    await page.fill("#f-login", tenant.owner.username);
    await page.fill("#f-password", tenant.owner.password);
    await go(new RegExp(`^${url("/")}$`), () => page.click("button[type=submit].primary"));
    await page.goto(url(`/p/${PROJECT}/`));
    await go(new RegExp(`${base}/$`), () => page.click("nav.ptabs a:text-is('Reviews')"));
    await go(new RegExp(`${base}/new$`), () => page.click("main a:text-is('New review')"));
    await page.selectOption("#f-source", "feature");
    await page.selectOption("#f-target", "main");
    await page.fill("#f-title", "Shout <two>");
    await page.fill("#f-description", "Two should be **louder**.");
    await go(new RegExp(`${base}/1\\?ok=opened$`), () => page.click("button[type=submit].primary"));
    expect(await page.textContent("h1")).toContain("Shout <two>");
    expect(await page.innerHTML("main .md")).toContain("<strong>louder</strong>");
    expect(await page.$$eval("table.commits td.msg", (cells) => cells.map((c) => c.textContent))).toEqual(["Shout two"]);
    expect(await page.$$eval("table.rdiff tr.add td:last-child", (cells) => cells.map((c) => c.textContent!.trim()))).toEqual([
      "+TWO",
    ]);
  });

  it("comments on a line through the line's own form", async () => {
    await go(/line=2#lc$/, () => page.click("a[aria-label='Comment on new line 2 of app.txt']"));
    expect(await page.inputValue("#lc input[name=side]")).toBe("new");
    await page.fill("#lc-body", "Why *shout*?");
    await go(/ok=commented#c\d+$/, () => page.click("button:text-is('Comment on this line')"));
    const inline = page.locator("table.rdiff tr.lcomments .rcomment");
    expect(await inline.count()).toBe(1);
    expect(await inline.innerHTML()).toContain("<em>shout</em>");
    expect(await inline.locator("pre.quoted-line").textContent()).toBe("TWO");
    expect(await page.locator(".conversation .rcomment .badge.outdated").count()).toBe(0);
  });

  it("shows the comment as outdated once a new revision changes the line", async () => {
    commits.second = await commit("app.txt", "one\nTwo!\nthree\nfour\nfive\n", "Shout less");
    await gitOk(["push", "--quiet", pushUrl(), "feature"], { cwd: work });
    // main moves too (another file), so the merge below needs a merge commit.
    await gitOk(["checkout", "--quiet", "main"], { cwd: work });
    commits.main = await commit("README.md", "# Reviewed\n\nNow with reviews.\n", "Mention reviews");
    await gitOk(["push", "--quiet", pushUrl(), "main"], { cwd: work });
    // The post-push queue records the revision: look until it has (the test's timeout bounds it).
    for (;;) {
      await page.goto(url(`${base}/1`));
      if ((await page.locator("section.revisions a:text-is('2')").count()) > 0) break;
      await page.waitForTimeout(250);
    }
    expect(await page.locator(".conversation .rcomment .badge.outdated").count()).toBe(1);
    // Revision 2's diff no longer carries the comment under a line; revision 1's still does.
    expect(await page.locator("table.rdiff tr.lcomments").count()).toBe(0);
    await page.goto(url(`${base}/1?rev=1`));
    expect(await page.locator("table.rdiff tr.lcomments").count()).toBe(1);
    // Revision 1 compared with 2: what the push changed.
    await page.goto(url(`${base}/1?compare=1&rev=2`));
    expect(
      await page.$$eval("table.rdiff tr.del td:last-child, table.rdiff tr.add td:last-child", (c) =>
        c.map((x) => x.textContent!.trim()),
      ),
    ).toEqual(["-TWO", "+Two!"]);
  });

  it("approves and merges with a merge commit; a fresh clone has the commits and passes git fsck", async () => {
    await page.goto(url(`${base}/1`));
    await go(/ok=verdict$/, () => page.click("button:text-is('Approve')"));
    expect(await page.textContent("ul.verdicts")).toContain(`${tenant.owner.username} approved`);
    await go(/ok=merged$/, () => page.click("button:text-is('Merge into main')"));
    expect(await page.textContent(".badge.review-merged")).toBe("merged");
    expect(dialogs).toEqual([]);

    const clone = join(tempDir("review-clone"), "c");
    await gitOk(["clone", "--quiet", url(`/${PROJECT}.git`), clone]);
    const log = (await gitOk(["log", "--format=%H %P", "main"], { cwd: clone })).trim().split("\n");
    const [tip, ...rest] = log;
    const [merge, ...parents] = tip!.split(" ");
    expect(parents).toEqual([commits.main, commits.second]);
    expect(rest.map((l) => l.split(" ")[0])).toEqual(expect.arrayContaining([commits.first, commits.second, commits.main]));
    expect((await gitOk(["show", "-s", "--format=%s", merge!], { cwd: clone })).trim()).toBe("Merge review #1: Shout <two>");
    expect(await gitOk(["show", "main:app.txt"], { cwd: clone })).toBe("one\nTwo!\nthree\nfour\nfive\n");
    expect(await gitOk(["show", "main:README.md"], { cwd: clone })).toBe("# Reviewed\n\nNow with reviews.\n");
    await gitOk(["fsck", "--strict", "--no-dangling"], { cwd: clone });
  });

  it("opens a review of an uploaded patch series through the form, and applies it", async () => {
    // A contributor's patch, made on main's tip and never pushed.
    await gitOk(["checkout", "--quiet", "-b", "sent", "main"], { cwd: work });
    await gitOk(["pull", "--quiet", pushUrl(), "main"], { cwd: work });
    const sent = await commit("NOTES.md", "Sent as a patch.\n", "Add notes, by mail");
    const patch = await gitOk(["format-patch", "--stdout", "-1", sent], { cwd: work });
    await page.goto(url(`${base}/new`));
    await page.setInputFiles("#f-series", { name: "0001-notes.patch", mimeType: "text/plain", buffer: Buffer.from(patch) });
    await page.selectOption("#f-patch_target", "main");
    await go(new RegExp(`${base}/2\\?ok=opened$`), () => page.click("button:text-is('Open review of the patches')"));
    expect(await page.textContent("h1")).toContain("Add notes, by mail");
    expect(await page.textContent("main")).toContain("asks to apply a series of 1 patch (uploaded) to");
    await go(/ok=merged$/, () => page.click("button:text-is('Apply to main')"));
    expect(await page.textContent(".badge.review-merged")).toBe("merged");
    const clone = join(tempDir("patch-clone"), "c");
    await gitOk(["clone", "--quiet", url(`/${PROJECT}.git`), clone]);
    expect(await gitOk(["show", "main:NOTES.md"], { cwd: clone })).toBe("Sent as a patch.\n");
    expect((await gitOk(["log", "-1", "--format=%s", "main"], { cwd: clone })).trim()).toBe("Add notes, by mail");
    expect(dialogs).toEqual([]);
  });
});
