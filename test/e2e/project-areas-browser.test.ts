// Issue 14's acceptance in Chromium, as a user does it through the forms on the shared forge: the
// owner creates a private project, writes a wiki page, edits it twice, compares two revisions,
// reverts to the first, uploads a 150 MiB generated file through the downloads form, checks its
// SHA-256 and reads it back, marks both Featured for the project home, and finds every one of
// these in the timeline and its Atom feed. AREAS_SCREENSHOTS=<folder> also saves screenshots of
// the project home, the wiki page, the downloads list and the timeline at 1280 and 390 px, light
// and dark (no horizontal overflow at 390 px). The edge isolate's peak heap while a 150 MiB file
// streams in is measured by downloads.test.ts (a forge of its own with workerd's inspector); the
// shared forge has no inspector, so this file does not measure it again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { XMLParser } from "fast-xml-parser";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium, recordDialogs } from "./browser";
import { sharedForge, type RunningForge, type TestTenant } from "./runner";

const MiB = 1024 * 1024;
const SIZE = 150 * MiB;
const PROJECT = "areas";
const FILE = "areas-1.0.bin";

let forge: RunningForge;
let tenant: TestTenant;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
let dialogs: string[];
let tmp: string;

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("areas");
  tmp = mkdtempSync(join(tmpdir(), "forge-areas-"));
  browser = await launchChromium();
  ctx = await browser.newContext();
  page = await ctx.newPage();
  dialogs = recordDialogs(page);
}, 180_000);

afterAll(async () => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  await browser?.close();
  await forge?.stop();
});

const url = (path: string) => forge.url(tenant.host, path);
const base = `/p/${PROJECT}`;

/** Clicks what submits a form or follows a link, and waits for the page it leads to. */
async function go(pattern: RegExp, action: () => Promise<unknown>): Promise<void> {
  await Promise.all([page.waitForURL(pattern), action()]);
}

/** Writes `size` pseudo-random bytes to `path` as a stream, hashing them on the way. */
async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  const chunks = (function* () {
    for (let left = size; left > 0; left -= MiB) {
      const chunk = randomBytes(Math.min(MiB, left));
      hash.update(chunk);
      yield chunk;
    }
  })();
  await pipeline(Readable.from(chunks), createWriteStream(path));
  return hash.digest("hex");
}

/** The browser session's cookies as a Cookie header, for requests made from Node. */
async function sessionCookie(): Promise<string> {
  return (await ctx.cookies(url("/"))).map((c) => `${c.name}=${c.value}`).join("; ");
}

/** GET on the forge with the session's cookies; the body goes to `onChunk` as it arrives. */
function getWithSession(
  path: string,
  cookie: string,
  onChunk: (c: Buffer) => void,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: forge.port, path, headers: { host: tenant.host, cookie }, agent: false },
      (res) => {
        let bytes = 0;
        res.on("data", (c: Buffer) => {
          bytes += c.length;
          onChunk(c);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** The timeline's entries (or the home's recent activity) as [title, href], newest first. */
async function timelineLinks(): Promise<[string, string][]> {
  return page.$$eval("ol.timeline li a", (as) =>
    as.map((a) => [a.textContent ?? "", a.getAttribute("href") ?? ""] as [string, string]),
  );
}

/** A revision of the wiki page, where its timeline entry leads. */
const revisionHref = (n: number) => `${base}/wiki/Install/revisions/${n}`;

/** What this file's steps must have put in the timeline, newest first: [title, href]. */
const expectedEntries = (): [string, string][] => [
  [`Uploaded ${FILE}`, `${base}/downloads/${FILE}`],
  ["Wiki page Install reverted to revision 1 by owner", revisionHref(4)],
  ["Wiki page Install edited by owner", revisionHref(3)],
  ["Wiki page Install edited by owner", revisionHref(2)],
  ["Wiki page Install created by owner", revisionHref(1)],
];

/** The home's Featured section of this title: the links' texts. */
async function featured(title: string): Promise<string[]> {
  return page.$$eval(
    "section.featured",
    (sections, t) =>
      sections
        .filter((s) => s.querySelector("h2")?.textContent === t)
        .flatMap((s) => Array.from(s.querySelectorAll("li a"), (a) => a.textContent ?? "")),
    title,
  );
}

describe("a project's wiki, downloads and timeline in Chromium (issue 14's acceptance)", () => {
  let sha256 = "";

  it("signs in as the owner and creates a private project", async () => {
    await page.goto(url("/account/login"));
    await page.fill("#f-login", tenant.owner.username);
    await page.fill("#f-password", tenant.owner.password);
    await go(new RegExp(`^${url("/")}$`), () => page.click("button[type=submit].primary"));
    await page.goto(url("/projects/new"));
    await page.fill("#f-name", PROJECT);
    await page.fill("#f-description", "Where the **areas** meet.");
    await page.check('input[name="private"]');
    await go(new RegExp(`${base}/$`), () => page.click("button[type=submit].primary"));
    expect(await page.textContent("h1")).toContain("private");
  });

  it("writes a Featured wiki page, edits it twice, compares revisions 1 and 3, and reverts to 1", async () => {
    await page.goto(url(`${base}/wiki`));
    await page.fill("#f-create", "Install");
    await go(/\/wiki\/Install\/edit$/, () => page.click("#new-page button[type=submit]"));
    await page.fill("#f-body", "# Install\n\nDownload the archive.\nRun the first installer.\n");
    await page.check('input[name="label"][value="Featured"]');
    await page.fill("#f-comment", "first version");
    await go(/\/wiki\/Install\?saved=1$/, () => page.click("button[type=submit].primary"));

    const edits = [
      ["Run the `<second>` installer.", "second version"],
      ["Run the third installer, then restart.", "third version"],
    ];
    for (const [i, [line, comment]] of edits.entries()) {
      await go(/\/Install\/edit$/, () => page.click("main a:text-is('Edit')"));
      // The form keeps the page's labels: Featured stays checked without being touched.
      expect(await page.isChecked('input[name="label"][value="Featured"]')).toBe(true);
      await page.fill("#f-body", `# Install\n\nDownload the archive.\n${line}\n`);
      await page.fill("#f-comment", comment!);
      await go(new RegExp(`/wiki/Install\\?saved=${i + 2}$`), () => page.click("button[type=submit].primary"));
    }
    expect(await page.textContent(".wiki-body")).toContain("Run the third installer, then restart.");

    // The history: choose revisions 1 and 3 and compare them.
    await go(/\/Install\/history$/, () => page.click("main a:text-is('History')"));
    await page.check('input[aria-label="Compare from 1"]');
    await page.check('input[aria-label="Compare to 3"]');
    await go(/\/Install\/diff\?(?=.*from=1)(?=.*to=3)/, () => page.click("text=Compare the chosen revisions"));
    const removed = await page.$$eval("table.diff tr.del", (rows) => rows.map((r) => r.textContent ?? ""));
    const added = await page.$$eval("table.diff tr.add", (rows) => rows.map((r) => r.textContent ?? ""));
    expect(removed.join("\n")).toContain("-Run the first installer.");
    expect(added.join("\n")).toContain("+Run the third installer, then restart.");
    // Unchanged lines are context, neither removed nor added.
    expect([...removed, ...added].join("\n")).not.toContain("Download the archive.");
    expect(await page.textContent("table.diff")).toContain("Download the archive.");

    // Revert to revision 1 from its row of the history: a new revision 4 with the first text.
    await page.goto(url(`${base}/wiki/Install/history`));
    const row1 = page.locator("table.wiki-history tbody tr", { has: page.locator(`a[href="${revisionHref(1)}"]`) });
    await go(/\/wiki\/Install\?saved=4$/, () => row1.locator("button:has-text('Revert to this')").click());
    const text = await page.textContent(".wiki-body");
    expect(text).toContain("Run the first installer.");
    expect(text).not.toContain("second");
    expect(text).not.toContain("third");
    expect(await page.textContent("main")).toContain("Revision 4 by owner");
  });

  it("uploads a 150 MiB generated file through the downloads form; the page shows Node's SHA-256", async () => {
    const path = join(tmp, FILE);
    sha256 = await writeRandomFile(path, SIZE);
    await page.goto(url(`${base}/downloads/new`));
    await page.fill("#f-summary", "The <whole> thing");
    await page.fill("#f-changelog", "- **first** release");
    // A path, not a buffer: Chromium reads the file from disk as it sends it.
    await page.setInputFiles("#f-file", path);
    await go(new RegExp(`/downloads/${FILE.replaceAll(".", "\\.")}/details\\?ok=uploaded$`), () =>
      page.click("button[type=submit].primary"),
    );
    rmSync(path);
    expect((await page.textContent("dd.sha256"))?.trim()).toBe(sha256);
    expect(await page.textContent("h1")).toBe(FILE);
  }, 600_000);

  it("gives the file back whole with the session's cookies: same bytes, same SHA-256", async () => {
    const href = await page.getAttribute(`main a.button[download="${FILE}"]`, "href");
    expect(href).toBe(`${base}/downloads/${FILE}`);
    const back = createHash("sha256");
    const res = await getWithSession(href!, await sessionCookie(), (c) => back.update(c));
    expect(res.status).toBe(200);
    expect(res.bytes).toBe(SIZE);
    expect(res.headers["content-disposition"]).toMatch(/^attachment;/);
    expect(back.digest("hex")).toBe(sha256);
    // Without the session the private project's file is not there.
    expect((await getWithSession(href!, "", () => {})).status).toBe(404);
  }, 600_000);

  it("lists the page and the file on the project home once they carry the Featured label", async () => {
    await page.goto(url(`${base}/`));
    expect(await featured("Featured documentation")).toEqual(["Install"]);
    expect(await featured("Featured downloads")).toEqual([]);
    // Featured through the file's edit form.
    await page.goto(url(`${base}/downloads/${FILE}/details`));
    await go(/\/edit$/, () => page.click("text=Edit summary, changelog and labels"));
    await page.check('input[name="l.Featured"]');
    await go(/\/details\?ok=saved$/, () => page.click("button[type=submit].primary"));
    await go(new RegExp(`${base}/$`), () => page.click("nav.ptabs a:text-is('Home')"));
    expect(await featured("Featured documentation")).toEqual(["Install"]);
    expect(await featured("Featured downloads")).toEqual([FILE]);
    await go(/\/wiki\/Install$/, () => page.click("section.featured a:text-is('Install')"));
    expect(await page.textContent(".wiki-body")).toContain("Run the first installer.");
  });

  it("finds the wiki edits, the revert and the upload in the timeline, each a link to its page", async () => {
    await go(/\/timeline$/, () => page.click("nav.ptabs a:text-is('Timeline')"));
    // Nothing else happened in this project: the timeline is exactly these entries, newest first.
    expect(await timelineLinks()).toEqual(expectedEntries());
    // The titles line up in one column (the kind column fits DOWNLOAD), and at 390 px a title
    // that wraps continues under itself, never under the kind.
    const starts = await page.$$eval("ol.timeline li a", (as) => as.map((a) => Math.round(a.getBoundingClientRect().left)));
    expect(new Set(starts).size, `title starts ${starts}`).toBe(1);
    await page.setViewportSize({ width: 390, height: 844 });
    const lines = await page.$$eval("ol.timeline li", (lis) =>
      lis.map((li) => {
        const kindRight = li.querySelector(".kind")!.getBoundingClientRect().right;
        return { kindRight, lefts: Array.from(li.querySelector("a")!.getClientRects(), (r) => r.left) };
      }),
    );
    expect(lines.some((l) => l.lefts.length > 1)).toBe(true);
    for (const l of lines) for (const left of l.lefts) expect(left).toBeGreaterThanOrEqual(l.kindRight - 0.5);
    await page.setViewportSize({ width: 1280, height: 720 });
    // The upload's entry leads to the file itself (an attachment), whose bytes the test above
    // already read back from that very URL; the wiki entries lead to their revisions.
    await go(/\/wiki\/Install\/revisions\/2$/, () => page.click(`ol.timeline li a[href="${revisionHref(2)}"]`));
    expect(await page.textContent("main")).toContain("Run the <second> installer.");
    await page.goBack();
    await go(/\/wiki\/Install\/revisions\/4$/, () => page.click(`ol.timeline li a[href="${revisionHref(4)}"]`));
    expect(await page.textContent("main")).toContain("Run the first installer.");
    expect(dialogs).toEqual([]);
  });

  it("finds the same entries in the timeline's Atom feed, read with the session's cookies", async () => {
    await page.goto(url(`${base}/timeline`));
    expect(await timelineLinks()).toEqual(expectedEntries());
    const feedHref = await page.getAttribute('link[rel="alternate"][type="application/atom+xml"]', "href");
    expect(feedHref).toBe(`${base}/timeline.atom`);
    const chunks: Buffer[] = [];
    const res = await getWithSession(feedHref!, await sessionCookie(), (c) => chunks.push(c));
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/atom\+xml/);
    const parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: "@",
      isArray: (name) => name === "entry" || name === "link",
    });
    const feed = parser.parse(Buffer.concat(chunks).toString("utf8")).feed as {
      entry: { title: string | { "#text": string }; link: { "@href": string; "@rel"?: string }[] }[];
    };
    const entries = feed.entry.map((e) => {
      const title = typeof e.title === "string" ? e.title : e.title["#text"];
      const link = e.link.find((l) => !l["@rel"] || l["@rel"] === "alternate");
      // The feed's links are absolute, on the host the feed was asked of.
      const href = new URL(link!["@href"]);
      expect(href.hostname).toBe(tenant.host);
      return [title, href.pathname];
    });
    expect(entries).toEqual(expectedEntries());
    // Without the session the private project's feed is not there.
    expect((await getWithSession(feedHref!, "", () => {})).status).toBe(404);
  });

  it.runIf(process.env.AREAS_SCREENSHOTS)(
    "saves screenshots of the home, the wiki page, the downloads and the timeline",
    async () => {
      const dir = process.env.AREAS_SCREENSHOTS!;
      mkdirSync(dir, { recursive: true });
      for (const [name, path] of [
        ["home", `${base}/`],
        ["wiki-page", `${base}/wiki/Install`],
        ["downloads", `${base}/downloads/`],
        ["timeline", `${base}/timeline`],
      ] as const) {
        for (const width of [1280, 390]) {
          for (const colorScheme of ["light", "dark"] as const) {
            await page.setViewportSize({ width, height: 900 });
            await page.emulateMedia({ colorScheme });
            await page.goto(url(path));
            if (width === 390) {
              const overflow = await page.evaluate(
                () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
              );
              expect(overflow, `horizontal overflow of ${path} at 390 px`).toBeLessThanOrEqual(0);
            }
            await page.screenshot({ path: join(dir, `areas-${name}-${width}-${colorScheme}.png`), fullPage: true });
          }
        }
      }
    },
    120_000,
  );
});
