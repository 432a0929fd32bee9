// The operations page in Chromium against the local forge: one component made slow on purpose
// (the slow fault, FORGE_ALLOW_FAULTS=1), requests driven, then the page shows the spike for that
// component, and its bars and a dragged range list exactly that component's log lines.
// OPS_SCREENSHOTS=<folder> also saves screenshots at 1280 px, light and dark.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { request } from "../../bin/cli/http";
import { launchChromium } from "./browser";
import { startForge, type RunningForge } from "./runner";

const SLOW = "web.home";
const OTHER = "web.project";
const SLOW_MS = 700;

let forge: RunningForge;
let browser: Browser;
const slowIds: string[] = [];
const fastIds: string[] = [];
const otherIds: string[] = [];

async function get(path: string, fault?: string): Promise<string> {
  const res = await request(forge.url("demo.localhost", path), { headers: fault ? { "x-forge-fault": fault } : {} });
  expect(res.status).toBe(200);
  return String(res.headers["x-request-id"]);
}

interface Lines {
  lines: { id: string; component: string }[];
  total: number;
}

async function logsOf(component: string): Promise<Lines> {
  const res = await forge.admin("GET", `/admin/api/v1/logs?component=${component}&since=30m&limit=1000`);
  expect(res.status, res.text()).toBe(200);
  return JSON.parse(res.text()) as Lines;
}

/** Asks until the queue consumer has written all `ids` to R2 (the test's timeout bounds the wait). */
async function waitForLines(component: string, ids: string[]): Promise<void> {
  for (;;) {
    const found = new Set((await logsOf(component)).lines.map((l) => l.id));
    if (ids.every((id) => found.has(id))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function signIn(page: Page): Promise<void> {
  await page.goto(forge.url("admin.localhost", "/admin/ops?range=15m"));
  expect(page.url()).toContain("/admin/login?next=");
  await page.fill("#f-token", forge.adminToken);
  await Promise.all([page.waitForURL(/\/admin\/ops\?range=15m$/), page.click("button[type=submit]")]);
}

const rowIds = (page: Page) =>
  page.$$eval("table.ops-logs tbody tr", (rows) => rows.map((r) => r.getAttribute("data-request-id")!));

beforeAll(async () => {
  forge = await startForge({ env: { FORGE_ALLOW_FAULTS: "1" } });
  browser = await launchChromium();
  for (let i = 0; i < 4; i++) fastIds.push(await get("/"));
  for (let i = 0; i < 3; i++) slowIds.push(await get("/", `slow:${SLOW}:${SLOW_MS}`));
  // The fault names one component: another one's requests carrying it are not slowed.
  for (let i = 0; i < 3; i++) otherIds.push(await get("/p/demo/", `slow:${SLOW}:${SLOW_MS}`));
  await waitForLines(SLOW, [...fastIds, ...slowIds]);
  await waitForLines(OTHER, otherIds);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await forge?.stop();
});

describe("operations page", () => {
  it("shows the spike of the slowed component, and its bar opens only that component's lines", async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(page);
    const slow = page.locator(`section.ops-component[data-component="${SLOW}"]`);
    const p99 = Number.parseInt((await slow.locator('[data-figure="p99"]').textContent())!, 10);
    expect(p99).toBeGreaterThanOrEqual(SLOW_MS);
    expect(Number(await slow.locator('[data-figure="requests"]').textContent())).toBe(fastIds.length + slowIds.length);
    expect(await page.locator(`section.ops-component[data-component="${OTHER}"] [data-figure="requests"]`).textContent()).toBe(
      String(otherIds.length),
    );

    // The tallest latency bar is the spike; clicking it opens the lines of its slice.
    const bars = slow.locator('svg[data-kind="latency"] a.ops-slice');
    const heights = await bars.evaluateAll((as) => as.map((a) => Number(a.getAttribute("data-p99"))));
    const spike = heights.indexOf(Math.max(...heights));
    expect(heights[spike]).toBeGreaterThanOrEqual(SLOW_MS);
    await Promise.all([page.waitForURL(/\/admin\/ops\/logs\?/), bars.nth(spike).locator("rect.ops-hit").click()]);
    expect(new URL(page.url()).searchParams.get("component")).toBe(SLOW);
    const inSlice = await rowIds(page);
    expect(inSlice.length).toBeGreaterThan(0);
    for (const id of inSlice) expect([...fastIds, ...slowIds]).toContain(id);
    expect(inSlice.some((id) => slowIds.includes(id))).toBe(true);
    await page.close();
  });

  it("dragging across a chart lists exactly that component's lines in the range, and filters by status", async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(page);
    const chart = page.locator(`section.ops-component[data-component="${SLOW}"] svg[data-kind="rate"]`);
    await chart.scrollIntoViewIfNeeded();
    const box = (await chart.boundingBox())!;
    // From the left edge of the plot (after the axis labels) to the right edge: the whole range.
    const x0 = box.x + (Number(await chart.getAttribute("data-x0")) / 520) * box.width + 1;
    await page.mouse.move(x0, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.move(box.x + box.width - 1, box.y + box.height / 2);
    await Promise.all([page.waitForURL(/\/admin\/ops\/logs\?/), page.mouse.up()]);
    const url = new URL(page.url());
    expect(url.searchParams.get("component")).toBe(SLOW);
    expect((await rowIds(page)).sort()).toEqual([...fastIds, ...slowIds].sort());
    // Filters: no 5xx was served.
    await page.fill("input[name=status]", "5xx");
    await Promise.all([page.waitForURL(/status=5xx/), page.click(".ops-filter button[type=submit]")]);
    expect(await rowIds(page)).toEqual([]);
    await page.close();
  });

  it.runIf(process.env.OPS_SCREENSHOTS)("saves screenshots of the charts and the log lines", async () => {
    const dir = process.env.OPS_SCREENSHOTS!;
    mkdirSync(dir, { recursive: true });
    for (const colorScheme of ["light", "dark"] as const) {
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme })).newPage();
      await signIn(page);
      await page.screenshot({ path: join(dir, `ops-1280-${colorScheme}.png`), fullPage: true });
      await page.goto(forge.url("admin.localhost", `/admin/ops/logs?component=${SLOW}&since=15m`));
      await page.screenshot({ path: join(dir, `ops-logs-1280-${colorScheme}.png`), fullPage: true });
      await page.close();
    }
  });
});
