// Accounts in a real browser against the real local forge: session cookies in Chromium on
// http://*.localhost, mail links printed by the runner, and an XSS corpus put into every
// user-controlled field, proven not to execute on any page that shows it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium, recordDialogs } from "./browser";
import { sharedForge, type RunningForge } from "./runner";

/** The host of this file's own tenant on the shared forge (xss-<random>.localhost). */
let HOST: string;
const OWNER = { username: "owner", password: "owner-password-1" };

/**
 * Each payload, if it ever ran, would set window.__xss and open a dialog. Short ones fit in
 * names (100 characters); all of them go into the Markdown fields.
 */
const SHORT_PAYLOADS = [
  "<script>window.__xss=1;alert(1)</script>",
  '<img src=x onerror="window.__xss=2;alert(2)">',
  "<svg onload=window.__xss=3;alert(3)>",
  '"><script>window.__xss=4</script>',
  "'><img src=x onerror=window.__xss=5>",
  "<a href=javascript:window.__xss=6>j</a>",
  "<iframe srcdoc='<script>parent.__xss=7</script>'>",
  "<details open ontoggle=window.__xss=8>",
];
const MARKDOWN_PAYLOADS = [
  ...SHORT_PAYLOADS,
  "[click](javascript:window.__xss=10)",
  "[click](JaVaScRiPt:window.__xss=11)",
  "[click](&#106;avascript:window.__xss=12)",
  '![img](x" onerror="window.__xss=13)',
  "[ref]\n\n[ref]: javascript:window.__xss=14",
  "<javascript:window.__xss=15>",
  "[x](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX194c3M9MTY8L3NjcmlwdD4=)",
  '<svg><a xlink:href="javascript:window.__xss=17"><text y="20">svg link</text></a></svg>',
  "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=18>",
  '<form action="javascript:window.__xss=19"><button>go</button></form>',
  "```\n</code></pre><script>window.__xss=20</script>\n```",
];
const MARKDOWN_CORPUS = MARKDOWN_PAYLOADS.join("\n\n");

let forge: RunningForge;
let browser: Browser;

beforeAll(async () => {
  forge = await sharedForge();
  HOST = (await forge.createTenant("xss", { username: OWNER.username, password: OWNER.password })).host;
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await forge?.stop();
});

async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto(forge.url(HOST, "/account/login"));
  await page.fill("#f-login", username);
  await page.fill("#f-password", password);
  await Promise.all([page.waitForURL(forge.url(HOST, "/")), page.click("button[type=submit].primary")]);
}

/**
 * A form post made by a page of the forge (same origin, its cookies): 303 when the forge
 * redirected (the usual answer to a successful post), else the status of the answer.
 */
async function postForm(ctx: BrowserContext, path: string, form: Record<string, string>): Promise<number> {
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  if (!page.url().startsWith(forge.url(HOST, "/"))) await page.goto(forge.url(HOST, "/healthz"));
  return page.evaluate(
    async ({ path, form }) => {
      const res = await fetch(path, { method: "POST", body: new URLSearchParams(form) });
      return res.redirected ? 303 : res.status;
    },
    { path, form },
  );
}

describe("sessions in Chromium", () => {
  it("signs in on its own http://*.localhost host: the Secure, HttpOnly, SameSite=Lax cookie is set and sent back", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, OWNER.username, OWNER.password);
    const cookies = await ctx.cookies(forge.url(HOST));
    const session = cookies.find((c) => c.name === "ef_session");
    expect(session).toMatchObject({ secure: true, httpOnly: true, sameSite: "Lax", domain: HOST });
    // Chromium sends it back over plain http on *.localhost: the account page shows the user.
    const account = await page.goto(forge.url(HOST, "/account"));
    expect(account?.status()).toBe(200);
    expect(await page.textContent("nav.account")).toContain(OWNER.username);
    // No script can read it.
    expect(await page.evaluate(() => document.cookie)).not.toContain("ef_session");
    await Promise.all([page.waitForURL(forge.url(HOST, "/")), page.click("nav.account button.link")]);
    expect(await page.textContent("nav.account")).toContain("Sign in");
    await ctx.close();
  });

  it("prints confirmation links in the runner's output (even with FORGE_LOG=quiet)", async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(forge.url(HOST, "/account/register"));
    await page.fill("#f-username", "printed");
    await page.fill("#f-email", "printed@example.com");
    await page.fill("#f-password", "printed-password");
    await Promise.all([page.waitForURL(/\/account\?ok=registered$/), page.click("button[type=submit].primary")]);
    const link = new RegExp(`http://${HOST.replace(".", "\\.")}:${forge.port}/account/confirm/[A-Za-z0-9_-]{43}`);
    // The runner prints the mail as it handles the request, a little after the page answered: look
    // until it is there (the test's timeout bounds the wait; a fixed number of tries would be a clock).
    while (!link.test(forge.output)) await new Promise((r) => setTimeout(r, 100));
    const url = link.exec(forge.output)?.[0];
    expect(url, forge.output.slice(-2000)).toBeTruthy();
    await page.goto(url!);
    await Promise.all([page.waitForLoadState(), page.click("button[type=submit].primary")]);
    expect(await page.textContent("main")).toContain("printed@example.com is confirmed");
    await ctx.close();
  });
});

describe("XSS corpus in every user-controlled field", () => {
  const pages: string[] = [];

  beforeAll(async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, OWNER.username, OWNER.password);
    // Forge name and front page text.
    expect(
      await postForm(ctx, "/admin/settings", {
        name: `XSS ${SHORT_PAYLOADS[1]}`,
        registration: "open",
        project_creation: "users",
        front_page: MARKDOWN_CORPUS,
      }),
    ).toBe(303);
    // Project names are restricted to URL-safe characters: the payload is refused.
    expect(await postForm(ctx, "/projects/new", { name: "<script>alert(1)</script>", description: "" })).toBe(400);
    // Project descriptions (Markdown), public and private.
    expect(await postForm(ctx, "/projects/new", { name: "corpus", description: MARKDOWN_CORPUS })).toBe(303);
    expect(await postForm(ctx, "/projects/new", { name: "hidden", description: MARKDOWN_CORPUS, private: "1" })).toBe(303);
    // Token names.
    for (const p of SHORT_PAYLOADS.slice(0, 3))
      expect(await postForm(ctx, "/account/tokens", { name: p, scope: "read" })).toBe(201);
    // Usernames are restricted; display names are free text.
    expect(await postForm(ctx, "/admin/users", { username: SHORT_PAYLOADS[0]!, email: "x@example.com" })).toBe(400);
    const users: string[] = [];
    for (const [i, payload] of SHORT_PAYLOADS.entries()) {
      const userCtx = await browser.newContext();
      const username = `user${i}`;
      expect(
        await postForm(userCtx, "/account/register", { username, email: `${username}@example.com`, password: "user-password-1" }),
      ).toBe(303);
      expect(await postForm(userCtx, "/account/profile", { display_name: payload, email: `${username}@example.com` })).toBe(303);
      await userCtx.close();
      expect(await postForm(ctx, "/p/corpus/admin/members", { username, role: i % 2 ? "member" : "owner" })).toBe(303);
      users.push(username);
    }
    expect(await postForm(ctx, "/p/hidden/admin/members", { username: "user1", role: "member" })).toBe(303);
    await ctx.close();
    pages.push(
      "/",
      "/p/corpus/",
      "/p/hidden/",
      "/p/corpus/admin",
      "/admin",
      "/admin/users",
      "/admin/projects",
      "/account",
      "/account/tokens",
      "/account/emails",
      ...users.map((u) => `/u/${u}`),
      `/account/login?next=${encodeURIComponent(SHORT_PAYLOADS[3]!)}`,
      `/p/${encodeURIComponent(SHORT_PAYLOADS[0]!)}/`,
    );
  }, 120_000);

  /** What a page holds that could run script, found in the live DOM after it loaded. */
  const domFindings = (page: Page) =>
    page.evaluate(() => {
      const found: string[] = [];
      if ((window as unknown as { __xss?: unknown }).__xss !== undefined)
        found.push(`window.__xss = ${String((window as never as { __xss: unknown }).__xss)}`);
      // The layout's one script (the page script at its content-hashed path, no inline text) is the forge's own.
      const own = (s: HTMLScriptElement) => /^\/static\/page\.[0-9a-f]+\.js$/.test(s.getAttribute("src") ?? "") && s.text === "";
      const foreign = Array.from(document.scripts).filter((s) => !own(s));
      if (foreign.length) found.push(`${foreign.length} script elements`);
      for (const el of Array.from(document.querySelectorAll("*"))) {
        for (const attr of Array.from(el.attributes)) {
          if (/^on/i.test(attr.name)) found.push(`<${el.localName} ${attr.name}>`);
          if (
            /^(href|src|action|formaction|xlink:href|srcdoc)$/i.test(attr.name) &&
            /^\s*(javascript|vbscript|data:text)/i.test(attr.value)
          ) {
            found.push(`<${el.localName} ${attr.name}=${attr.value}>`);
          }
          if (attr.name === "srcdoc") found.push(`<${el.localName} srcdoc>`);
        }
        if (/^(iframe|object|embed|svg|math|frame|base)$/.test(el.localName)) found.push(`<${el.localName}>`);
      }
      return found;
    });

  async function visitAll(
    ctx: BrowserContext,
  ): Promise<{ dialogs: string[]; findings: Record<string, string[]>; sawPayloadText: boolean }> {
    const page = await ctx.newPage();
    const dialogs = recordDialogs(page, true);
    await signIn(page, OWNER.username, OWNER.password);
    const findings: Record<string, string[]> = {};
    let sawPayloadText = false;
    for (const path of pages) {
      await page.goto(forge.url(HOST, path));
      // Let anything that would run (onload, onerror of broken images, toggles) have its chance.
      await page.waitForLoadState("load");
      await page.waitForTimeout(50);
      const found = await domFindings(page);
      if (found.length) findings[path] = found;
      if ((await page.textContent("body"))?.includes("window.__xss=")) sawPayloadText = true;
    }
    await page.close();
    return { dialogs, findings, sawPayloadText };
  }

  it("nothing executes and no active markup reaches the DOM, even with CSP bypassed (escaping alone)", async () => {
    // CSP would block inline scripts anyway: bypass it so the test sees escaping on its own.
    const ctx = await browser.newContext({ bypassCSP: true });
    const { dialogs, findings, sawPayloadText } = await visitAll(ctx);
    await ctx.close();
    expect(dialogs).toEqual([]);
    expect(findings).toEqual({});
    // The payloads are on the pages, as text: the check looked at the right places.
    expect(sawPayloadText).toBe(true);
  }, 120_000);

  it("nothing executes with the forge's own CSP either", async () => {
    const ctx = await browser.newContext();
    const { dialogs, findings } = await visitAll(ctx);
    await ctx.close();
    expect(dialogs).toEqual([]);
    expect(findings).toEqual({});
  }, 120_000);

  it("the check catches a real injection (a page that does execute a payload)", async () => {
    const ctx = await browser.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    const dialogs = recordDialogs(page);
    await page.goto(forge.url(HOST, "/healthz"));
    await page.setContent(`<p>${SHORT_PAYLOADS[1]}</p><p>${SHORT_PAYLOADS[0]}</p>`);
    await page.waitForTimeout(50);
    expect(await domFindings(page)).not.toEqual([]);
    expect(dialogs.length).toBeGreaterThan(0);
    await ctx.close();
  });
});
