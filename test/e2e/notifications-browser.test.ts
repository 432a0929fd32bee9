// Issue 15's acceptance in Chromium on the shared forge: the forge's owner (a confirmed address)
// watches an issue another user filed; that user comments; the owner's mail appears on the admin
// outbox page (the local forge has no MAIL binding: the event queue's consumer writes it there),
// its link leads to the comment, and its unsubscribe link, confirmed on its page, turns issue mail
// off in the owner's settings.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium, recordDialogs } from "./browser";
import { sharedForge, type RunningForge, type TestTenant } from "./runner";

const PROJECT = "mailme";

let forge: RunningForge;
let tenant: TestTenant;
let browser: Browser;
let ownerCtx: BrowserContext;
let userCtx: BrowserContext;
let owner: Page;
let user: Page;
let dialogs: string[];

const url = (path: string) => forge.url(tenant.host, path);

beforeAll(async () => {
  forge = await sharedForge();
  tenant = await forge.createTenant("notify");
  browser = await launchChromium();
  ownerCtx = await browser.newContext();
  userCtx = await browser.newContext();
  owner = await ownerCtx.newPage();
  user = await userCtx.newPage();
  dialogs = recordDialogs(owner);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await forge?.stop();
});

/** Clicks what submits a form or follows a link, and waits for the page it leads to. */
async function go(page: Page, pattern: RegExp, action: () => Promise<unknown>): Promise<void> {
  await Promise.all([page.waitForURL(pattern), action()]);
}

describe("watching an issue, in Chromium", () => {
  let commentAnchor: string;

  it("the owner watches an issue another user filed; that user comments", async () => {
    await owner.goto(url("/account/login"));
    await owner.fill("#f-login", tenant.owner.username);
    await owner.fill("#f-password", tenant.owner.password);
    await go(owner, /\/$/, () => owner.click("button[type=submit].primary"));
    await owner.goto(url("/projects/new"));
    await owner.fill("#f-name", PROJECT);
    await go(owner, new RegExp(`/p/${PROJECT}/`), () => owner.click("button[type=submit].primary"));

    await user.goto(url("/account/register"));
    await user.fill("#f-username", "reporter");
    await user.fill("#f-email", "reporter@example.com");
    await user.fill("#f-password", "reporter-password");
    await go(user, /\/account\?ok=registered$/, () => user.click("button[type=submit].primary"));
    await user.goto(url(`/p/${PROJECT}/issues/new`));
    await user.fill("#f-summary", "Mail me when this moves");
    await go(user, /\/issues\/1\?ok=filed$/, () => user.click("button[type=submit].primary"));

    await owner.goto(url(`/p/${PROJECT}/issues/1`));
    await go(owner, /\/issues\/1$/, () => owner.click("form[action$='/issues/1/star'] button"));
    expect(await owner.locator("form[action$='/issues/1/star'] button").textContent()).toBe("Stop watching");
    // The header links the watch list, which lists the issue.
    await go(owner, /\/watchlist$/, () => owner.click("nav.account a[href='/watchlist']"));
    expect(await owner.locator("main").textContent()).toContain("Mail me when this moves");

    await user.goto(url(`/p/${PROJECT}/issues/1`));
    await user.fill("#f-comment", "It moved: see the **new** build.");
    await go(user, /\/issues\/1#end$/, () => user.click("form.iss-form button[type=submit].primary"));
    commentAnchor = (await user.locator("article.iss-c").last().getAttribute("id"))!;
    expect(commentAnchor).toMatch(/^c\d+$/);
  });

  it("the owner's mail is on the outbox page, with a link to the comment and a working unsubscribe", async () => {
    // The event goes through the queue: reload until its consumer has written the mail.
    const subject = `Re: [${PROJECT}] Issue #1: Mail me when this moves`;
    await expect
      .poll(
        async () => {
          await owner.goto(url("/admin/outbox"));
          return owner.locator(`a:text-is('${subject}')`).count();
        },
        { timeout: 60_000, interval: 250 },
      )
      .toBe(1);
    await go(owner, /\/admin\/outbox\/\d+$/, () => owner.click(`a:text-is('${subject}')`));
    const headers = await owner.locator("dl.mail-headers").textContent();
    expect(headers).toContain(tenant.owner.email);
    expect(headers).toContain("List-Unsubscribe-Post");
    expect(headers).toMatch(/In-Reply-To<issue-\d+\./);

    const link = owner.locator(`pre.mail a[href$='/p/${PROJECT}/issues/1#${commentAnchor}']`);
    expect(await link.count()).toBe(1);
    await go(owner, new RegExp(`/issues/1#${commentAnchor}$`), () => link.click());
    expect(await owner.locator(`#${commentAnchor}`).textContent()).toContain("It moved");

    await owner.goBack();
    await go(owner, /\/unsubscribe\/[\w-]+\.[\w-]+$/, () => owner.click("pre.mail a[href*='/unsubscribe/']"));
    expect(await owner.locator("main").textContent()).toContain("Stop mail about issues from this forge?");
    await go(owner, /\/unsubscribe\//, () => owner.click("button[type=submit].primary"));
    expect(await owner.locator("[role=status]").textContent()).toContain("You will get no more mail about issues.");
    await owner.goto(url("/account/notifications"));
    expect(await owner.locator("input[name=issue]").isChecked()).toBe(false);
    expect(await owner.locator("input[name=push]").isChecked()).toBe(true);
    expect(dialogs).toEqual([]);
  });
});
