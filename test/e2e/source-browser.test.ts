// The repository browser in a real browser (Debian's Chromium through playwright-core) on the
// local forge with the express fixture: from the project page into a folder, a file, a line
// range, the log, a commit, and an archive that must unpack to the tree git archive gives.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium } from "./browser";
import { sharedForge, type RunningForge, type TestTenant } from "./runner";
import { EXPRESS_BUNDLE, expressMirror, git, gitOk, tempDir } from "./git";

let HOST: string;

let forge: RunningForge;
let tenant: TestTenant;
let browser: Browser;
let mirror: string;

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("browse");
  HOST = tenant.host;
  mirror = await expressMirror();
  expect(
    (await forge.cli("projects", "create", tenant.slug, "express", "--description", "Fast, unopinionated web framework")).code,
  ).toBe(0);
  const imported = await forge.cli("repos", "import", tenant.slug, "express", EXPRESS_BUNDLE);
  expect(imported.code, imported.stderr).toBe(0);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await forge?.stop();
});

describe("browsing express in Chromium", () => {
  it("walks from the project into a folder and a file, follows a commit from the log, and downloads an archive", async () => {
    const ctx = await browser.newContext({ acceptDownloads: true });
    const page = await ctx.newPage();
    const errors: string[] = [];
    // Script errors only (the README's badges point at hosts this machine cannot reach).
    page.on("pageerror", (e) => errors.push(String(e)));

    // The project page leads to the source; the README is rendered there too.
    await page.goto(forge.url(HOST, "/p/express/"));
    expect(await page.textContent("main")).toContain("Browse files");
    await Promise.all([page.waitForURL(/\/p\/express\/source\/$/), page.click("text=Browse files")]);
    const root = (await gitOk(["ls-tree", "-z", "--name-only", "master"], { cwd: mirror })).split("\0").filter(Boolean).sort();
    const names = (
      await page.$$eval("table.files tr[data-entry]", (rows) => rows.map((r) => r.getAttribute("data-entry")!))
    ).sort();
    expect(names).toEqual(root);
    expect(await page.textContent("section.readme")).toContain("Fast, unopinionated, minimalist web framework");

    // Into lib/, then application.js.
    await Promise.all([page.waitForURL(/\/source\/tree\/master\/lib$/), page.click("table.files a.dir:text-is('lib/')")]);
    await Promise.all([
      page.waitForURL(/\/source\/blob\/master\/lib\/application\.js$/),
      page.click("table.files a:text-is('application.js')"),
    ]);
    const source = execFileSync("git", ["show", "master:lib/application.js"], { cwd: mirror }).toString();
    const lines = await page.$$eval("table.code tr[id^=L] td:last-child", (cells) =>
      cells.map((c) => c.textContent!.replace(/\n$/, "")),
    );
    expect(`${lines.join("\n")}\n`).toBe(source);
    expect(await page.$$eval("table.code .k", (k) => k.length)).toBeGreaterThan(10);

    // A line range in the address: its lines are marked (by the optional script), and a number links to its line.
    await page.goto(`${page.url()}#L10-L20`);
    await page.waitForFunction(() => document.querySelectorAll("table.code tr.hl").length > 0);
    expect(await page.$$eval("table.code tr.hl", (rows) => rows.map((r) => r.id))).toEqual(
      Array.from({ length: 11 }, (_, i) => `L${i + 10}`),
    );
    expect(await page.getAttribute("#L12 td.ln a", "href")).toBe("#L12");

    // The log, then its first commit.
    await Promise.all([page.waitForURL(/\/source\/log\/master$/), page.click("nav.tabs a:text-is('Log')")]);
    const [tip, subject] = (await gitOk(["log", "-1", "--format=%H%n%s", "master"], { cwd: mirror })).trim().split("\n") as [
      string,
      string,
    ];
    await Promise.all([page.waitForURL(new RegExp(`/source/commit/${tip}$`)), page.click("table.commits td.msg a >> nth=0")]);
    expect(await page.textContent("article.commit h1")).toBe(subject);
    const changed = (await gitOk(["diff-tree", "--no-commit-id", "--name-only", "-r", `${tip}^`, tip], { cwd: mirror }))
      .trim()
      .split("\n");
    const shown = await page.textContent("table.changes");
    for (const f of changed) expect(shown).toContain(f);

    // Back to the files, and the archive of the branch.
    await Promise.all([page.waitForURL(/\/p\/express\/source\/$/), page.click("nav.tabs a:text-is('Files')")]);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click(".pathbar a:text-is('tar.gz')")]);
    expect(download.suggestedFilename()).toBe("express-master.tar.gz");
    const dir = tempDir("browser-archive");
    const file = join(dir, "express.tar.gz");
    await download.saveAs(file);
    const ours = join(dir, "ours");
    mkdirSync(ours);
    execFileSync("tar", ["-xzf", file, "-C", ours]);
    const theirs = join(dir, "theirs");
    mkdirSync(theirs);
    execFileSync("sh", ["-c", `git -C '${mirror}' archive --format=tar master | tar -x -C '${theirs}'`]);
    const diff = await git(["diff", "--no-index", "--stat", theirs, join(ours, "express-master")]);
    expect(diff.stdout + diff.stderr).toBe("");
    // Every file git ls-tree names is there, with git's content.
    const files = (await gitOk(["ls-tree", "-r", "-z", "--name-only", "master"], { cwd: mirror })).split("\0").filter(Boolean);
    for (const f of files.filter((_, i) => i % 25 === 0)) {
      const hash = execFileSync("git", ["hash-object", join(ours, "express-master", f)])
        .toString()
        .trim();
      expect(hash, f).toBe((await gitOk(["rev-parse", `master:${f}`], { cwd: mirror })).trim());
    }
    expect(errors.join("\n")).toBe("");
    await ctx.close();
  });

  it("works without JavaScript: the ref selector's links switch branches", async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto(forge.url(HOST, "/p/express/source/tree/master/lib"));
    await page.click("details.refsel summary");
    await Promise.all([page.waitForURL(/\/source\/tree\/4\.x\/lib$/), page.click("details.refsel a:text-is('4.x')")]);
    const want = (await gitOk(["ls-tree", "-z", "--name-only", "4.x:lib"], { cwd: mirror })).split("\0").filter(Boolean).sort();
    const names = (
      await page.$$eval("table.files tr[data-entry]", (rows) => rows.map((r) => r.getAttribute("data-entry")!))
    ).sort();
    expect(names).toEqual(want);
    await ctx.close();
  });
});
