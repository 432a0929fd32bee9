// Markdown in Chromium on the local forge: the express README (its <picture> logo, details,
// badges) renders with no literal tags, a README corpus and a rendered .md file resolve their
// relative links and images, and the XSS corpus (test/fixtures/markdown/xss.ts) put into a
// README and a .md file runs nothing, with the forge's CSP and with CSP bypassed.
// MARKDOWN_SCREENSHOTS=<folder> also saves screenshots at 1280 and 390 px, light and dark.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { XSS_CORPUS } from "../fixtures/markdown/xss";
import { launchChromium, recordDialogs, screenshotPages } from "./browser";
import { EXPRESS_BUNDLE, gitOk, tempDir } from "./git";
import { root, sharedForge, type RunningForge, type TestTenant } from "./runner";

let forge: RunningForge;
let tenant: TestTenant;
let browser: Browser;
let corpusCommit: string;

/** A bundle of one commit: the README corpus (corpus.md, its guide and image), the XSS corpus as a README and a .md file. */
async function corpusBundle(): Promise<{ bundle: string; commit: string }> {
  const work = join(tempDir("md-corpus"), "w");
  mkdirSync(join(work, "docs"), { recursive: true });
  mkdirSync(join(work, "img"), { recursive: true });
  await gitOk(["init", "--quiet", "--initial-branch=main", work]);
  const xss = XSS_CORPUS.join("\n\n");
  writeFileSync(join(work, "README.md"), `# XSS corpus\n\n${xss}\n`);
  writeFileSync(join(work, "xss.md"), `# XSS corpus as a file\n\n${xss}\n`);
  copyFileSync(join(root, "test", "fixtures", "markdown", "readme.md"), join(work, "corpus.md"));
  writeFileSync(join(work, "docs", "guide.md"), "# Guide\n\n## API\n\nThe API.\n");
  // The corpus's own relative image, as a real PNG (1×1), so its URL can be checked to load.
  const png = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    "base64",
  );
  writeFileSync(join(work, "img", "screenshot.png"), png);
  await gitOk(["add", "-A"], { cwd: work });
  await gitOk(["-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "--quiet", "-m", "Corpora"], { cwd: work });
  const commit = (await gitOk(["rev-parse", "HEAD"], { cwd: work })).trim();
  const bundle = join(tempDir("md-bundle"), "corpus.bundle");
  await gitOk(["bundle", "create", "--quiet", bundle, "--all"], { cwd: work });
  return { bundle, commit };
}

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("markdown");
  for (const [name, bundle] of [["express", EXPRESS_BUNDLE]] as const) {
    expect(
      (await forge.cli("projects", "create", tenant.slug, name, "--description", "Fast, *unopinionated* web framework")).code,
    ).toBe(0);
    const imported = await forge.cli("repos", "import", tenant.slug, name, bundle);
    expect(imported.code, imported.stderr).toBe(0);
  }
  const corpus = await corpusBundle();
  corpusCommit = corpus.commit;
  expect(
    (await forge.cli("projects", "create", tenant.slug, "corpus", "--description", XSS_CORPUS.slice(0, 8).join(" "))).code,
  ).toBe(0);
  const imported = await forge.cli("repos", "import", tenant.slug, "corpus", corpus.bundle);
  expect(imported.code, imported.stderr).toBe(0);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await forge?.stop();
});

/** Whatever in the live DOM could run script, after the page loaded. */
const activeMarkup = (page: Page) =>
  page.evaluate(() => {
    const found: string[] = [];
    const own = new Set(Array.from(document.querySelectorAll("script[src^='/'], script[nonce]")));
    for (const s of Array.from(document.scripts)) if (!own.has(s)) found.push(`script: ${s.outerHTML.slice(0, 80)}`);
    // Inside rendered Markdown only: the forge's own forms (clone URL, ref selector) are not the corpus.
    for (const el of Array.from(document.querySelectorAll(".md, .md *"))) {
      for (const attr of Array.from(el.attributes)) {
        if (/^on/i.test(attr.name)) found.push(`<${el.localName} ${attr.name}>`);
        if (
          /^(href|src|srcset|action|formaction|xlink:href|data)$/i.test(attr.name) &&
          /^\s*(javascript|vbscript|data:(?!image\/(png|gif|jpe?g|webp)))/i.test(attr.value)
        ) {
          found.push(`<${el.localName} ${attr.name}=${attr.value}>`);
        }
        if (attr.name === "style" || attr.name === "srcdoc") found.push(`<${el.localName} ${attr.name}>`);
      }
      if (/^(iframe|object|embed|svg|math|frame|base|form|style|meta|link|textarea|button|template)$/.test(el.localName))
        found.push(`<${el.localName}>`);
      if (el.localName === "input" && !(el as HTMLInputElement).disabled) found.push("enabled <input>");
    }
    return found;
  });

describe("Markdown in Chromium", () => {
  it("renders the express README with its logo <picture>, details and badges, and no literal tags", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(forge.url(tenant.host, "/p/express/"));
    const readme = page.locator("section.readme .md");
    expect(
      await readme.locator("a[href='https://expressjs.com/'] picture source[media='(prefers-color-scheme: dark)']").count(),
    ).toBe(1);
    expect(await readme.locator("picture img[alt='Express Logo']").getAttribute("width")).toBe("280");
    expect(await readme.locator("details > summary").allTextContents()).toEqual([
      "TC emeriti members",
      "Triagers emeriti members",
    ]);
    const text = (await readme.textContent()) ?? "";
    expect(text).not.toMatch(/<\/?[a-z][a-z0-9]*[\s>]/i);
    expect(text).toContain("Fast, unopinionated, minimalist web framework");
    // The table of contents points at the headings' anchors, which exist.
    const targets = await readme.locator("ul a[href^='#']").evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).hash));
    expect(targets.length).toBeGreaterThan(10);
    for (const t of targets) expect(await page.locator(`[id="${decodeURIComponent(t.slice(1))}"]`).count(), t).toBe(1);
    expect(await readme.locator("pre.highlight .k").count()).toBeGreaterThan(0);
    await ctx.close();
  }, 60_000);

  it("resolves a rendered .md file's relative links and images, and switches to the source and back", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(forge.url(tenant.host, "/p/corpus/source/blob/main/corpus.md"));
    const md = page.locator(".md");
    const shot = md.locator("img[alt='Screenshot']");
    expect(await shot.getAttribute("src")).toBe(`/p/corpus/source/raw/${corpusCommit}/img/screenshot.png`);
    // The image came through the raw endpoint (a broken image has no natural width).
    await page.waitForFunction(
      () => (document.querySelector("img[alt='Screenshot']") as HTMLImageElement | null)?.complete === true,
    );
    expect(await shot.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(1);
    expect(await md.locator("a:text-is('API section of it')").getAttribute("href")).toBe(
      `/p/corpus/source/blob/${corpusCommit}/docs/guide.md#user-content-api`,
    );
    await Promise.all([
      page.waitForURL(`**/source/blob/${corpusCommit}/docs/guide.md#user-content-api`),
      md.locator("a:text-is('API section of it')").click(),
    ]);
    // The fragment names the heading's id on the target page.
    expect(await page.locator("h2#user-content-api").textContent()).toContain("API");
    await page.goBack();
    await Promise.all([page.waitForURL(/\?plain=1$/), page.click(".fileinfo a:text-is('Source')")]);
    expect(await page.locator("table.code").count()).toBe(1);
    await Promise.all([page.waitForURL(/corpus\.md$/), page.click(".fileinfo a:text-is('Rendered')")]);
    expect(await page.locator(".md h2#user-content-roadmap").count()).toBe(1);
    await ctx.close();
  }, 60_000);

  const xssPages = ["/p/corpus/", "/p/corpus/source/", "/p/corpus/source/blob/main/xss.md", "/"];

  async function visitAll(ctx: BrowserContext): Promise<{ dialogs: string[]; findings: Record<string, string[]> }> {
    const page = await ctx.newPage();
    const dialogs = recordDialogs(page, true);
    const findings: Record<string, string[]> = {};
    for (const path of xssPages) {
      await page.goto(forge.url(tenant.host, path));
      await page.waitForLoadState("load");
      // Toggle every <details>: an ontoggle handler would fire now if one had survived.
      await page.$$eval("details", (ds) => {
        for (const d of ds) d.toggleAttribute("open");
      });
      const found = await activeMarkup(page);
      if (found.length) findings[path] = found;
    }
    // The corpus is on the pages: the check looked at the right places.
    await page.goto(forge.url(tenant.host, "/p/corpus/source/blob/main/xss.md"));
    expect(await page.locator(".md").textContent()).toContain("[click](javascript:alert(1))");
    await page.close();
    return { dialogs, findings };
  }

  it("runs none of the XSS corpus and leaves no active markup, even with CSP bypassed", async () => {
    const ctx = await browser.newContext({ bypassCSP: true });
    const { dialogs, findings } = await visitAll(ctx);
    await ctx.close();
    expect(dialogs).toEqual([]);
    expect(findings).toEqual({});
  }, 120_000);

  it("runs none of it with the forge's own CSP either", async () => {
    const ctx = await browser.newContext();
    const { dialogs, findings } = await visitAll(ctx);
    await ctx.close();
    expect(dialogs).toEqual([]);
    expect(findings).toEqual({});
  }, 120_000);

  it("the check catches a real injection", async () => {
    const ctx = await browser.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    const dialogs = recordDialogs(page);
    await page.goto(forge.url(tenant.host, "/healthz"));
    await page.setContent(`<div class="md"><img src=x onerror="alert(1)"><a href="javascript:alert(2)">x</a></div>`);
    await page.waitForFunction(() => (document.querySelector("img") as HTMLImageElement).complete);
    expect(await activeMarkup(page)).not.toEqual([]);
    expect(dialogs.length).toBeGreaterThan(0);
    await ctx.close();
  });

  it.runIf(process.env.MARKDOWN_SCREENSHOTS)(
    "saves screenshots of the README and a rendered file",
    async () => {
      const dir = process.env.MARKDOWN_SCREENSHOTS!;
      const pages = [
        ["express-home", "/p/express/"],
        ["corpus-file", "/p/corpus/source/blob/main/corpus.md"],
      ] as const;
      await screenshotPages(
        browser,
        dir,
        pages.map(([name, path]) => [name, forge.url(tenant.host, path)] as const),
        { screens: true },
      );
      expect(readFileSync(join(dir, "express-home-390-light.txt"), "utf8")).toContain("overflow");
    },
    120_000,
  );
});
