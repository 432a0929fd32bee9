// The wiki in Chromium against the real local forge (the shared one): a member writes a page,
// edits it, compares the two revisions from the history, reverts to the first, and reads the
// reverted text, all through the pages' own forms and links. WIKI_SCREENSHOTS=<folder> also saves
// screenshots of a page with contents, labels and links at 1280 and 390 px, light and dark.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium, recordDialogs } from "./browser";
import { sharedForge, type RunningForge } from "./runner";

const OWNER = { username: "owner", password: "owner-password-1" };
let HOST: string;
let forge: RunningForge;
let browser: Browser;

beforeAll(async () => {
  forge = await sharedForge();
  HOST = (await forge.createTenant("wiki", { username: OWNER.username, password: OWNER.password })).host;
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await forge?.stop();
});

async function signIn(page: Page): Promise<void> {
  await page.goto(forge.url(HOST, "/account/login"));
  await page.fill("#f-login", OWNER.username);
  await page.fill("#f-password", OWNER.password);
  await Promise.all([page.waitForURL(forge.url(HOST, "/")), page.click("button[type=submit].primary")]);
}

/** Fills the edit form that is open and saves it; resolves on the page that shows the result. */
async function saveForm(page: Page, body: string, comment: string): Promise<void> {
  await page.fill("#f-body", body);
  await page.fill("#f-comment", comment);
  await Promise.all([page.waitForURL(/\/wiki\/Install\?saved=\d+$/), page.click("button[type=submit].primary")]);
}

describe("the wiki in Chromium", () => {
  it("edits a page twice, shows the diff, reverts, and shows the reverted text", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const dialogs = recordDialogs(page);
    await signIn(page);
    await page.goto(forge.url(HOST, "/projects/new"));
    await page.fill("#f-name", "handbook");
    await Promise.all([page.waitForURL(/\/p\/handbook\//), page.click("button[type=submit].primary")]);

    // A new page from the wiki's index form.
    await page.goto(forge.url(HOST, "/p/handbook/wiki"));
    await page.fill("#f-create", "Install");
    await Promise.all([page.waitForURL(/\/p\/handbook\/wiki\/Install\/edit$/), page.click("#new-page button[type=submit]")]);
    await saveForm(page, "# Install\n\nRun the first installer.\n", "first version");
    expect(await page.textContent(".wiki-body")).toContain("Run the first installer.");

    // Edited once more from the page's own Edit link.
    await Promise.all([page.waitForURL(/\/Install\/edit$/), page.click("text=Edit")]);
    await saveForm(page, "# Install\n\nRun the `<second>` installer.\n", "second version");
    expect(await page.textContent(".wiki-body")).toContain("Run the <second> installer.");

    // The history compares the two newest revisions by default.
    await Promise.all([page.waitForURL(/\/Install\/history$/), page.click("text=History")]);
    await Promise.all([
      page.waitForURL(/\/Install\/diff\?(?=.*from=1)(?=.*to=2)/),
      page.click("text=Compare the chosen revisions"),
    ]);
    expect(await page.textContent("table.diff tr.del")).toContain("-Run the first installer.");
    expect(await page.textContent("table.diff tr.add")).toContain("+Run the `<second>` installer.");

    // Revert to revision 1: a new revision 3 with the first text.
    await page.goto(forge.url(HOST, "/p/handbook/wiki/Install/history"));
    await Promise.all([page.waitForURL(/\/wiki\/Install\?saved=3$/), page.click("button:has-text('Revert to this')")]);
    const text = await page.textContent(".wiki-body");
    expect(text).toContain("Run the first installer.");
    expect(text).not.toContain("second");
    expect(await page.textContent("main")).toContain("Revision 3 by owner");
    expect(dialogs).toEqual([]);
    await ctx.close();
  });

  it.runIf(process.env.WIKI_SCREENSHOTS)("saves screenshots of a wiki page", async () => {
    const dir = process.env.WIKI_SCREENSHOTS!;
    mkdirSync(dir, { recursive: true });
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page);
    await page.goto(forge.url(HOST, "/p/handbook/wiki/Guide/edit"));
    await page.fill(
      "#f-body",
      "# Guide\n\nRead [[Install]] first, then [[Deploy|the deploy notes]].\n\n## Set up\n\nText.\n\n## Run\n\n### Flags\n\n```sh\nmake run\n```\n",
    );
    await page.check("input[value=Featured]");
    await Promise.all([page.waitForURL(/saved=1$/), page.click("button[type=submit].primary")]);
    await ctx.close();
    for (const width of [1280, 390]) {
      for (const colorScheme of ["light", "dark"] as const) {
        const shot = await browser.newContext({ viewport: { width, height: 900 }, colorScheme });
        const p = await shot.newPage();
        await p.goto(forge.url(HOST, "/p/handbook/wiki/Guide"));
        const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `horizontal overflow at ${width} px`).toBeLessThanOrEqual(0);
        await p.screenshot({ path: join(dir, `wiki-page-${width}-${colorScheme}.png`), fullPage: true });
        await shot.close();
      }
    }
  });
});
