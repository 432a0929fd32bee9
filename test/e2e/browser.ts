// Finds a Chromium (or Chrome) on this machine and drives it with playwright-core: the one real
// browser of the end-to-end tests.
import { accessSync, constants, mkdirSync, statSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Names a Chromium-family browser goes by on PATH (Debian, Fedora/Ubuntu, Google's packages). */
export const CHROMIUM_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"];

/** Where the macOS app bundles put the executable (not on PATH). */
export const CHROMIUM_APP_PATHS = [
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
];

export const CHROMIUM_NOT_FOUND =
  "Chromium not found: set CHROMIUM_PATH or install it (Debian/Ubuntu: apt-get install chromium; macOS: brew install --cask chromium)";

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The browser executable to use: CHROMIUM_PATH if set, else the first of CHROMIUM_NAMES on PATH,
 * else a macOS app bundle. Throws one line saying what to install when there is none.
 */
export function findChromium(
  env: Record<string, string | undefined> = process.env,
  appPaths: readonly string[] = CHROMIUM_APP_PATHS,
): string {
  const explicit = env.CHROMIUM_PATH;
  if (explicit) {
    // A wrong explicit path is a mistake to report, not a reason to pick another browser.
    if (!isExecutableFile(explicit)) throw new Error(`CHROMIUM_PATH=${explicit} is not an executable file: fix it or unset it`);
    return explicit;
  }
  const dirs = (env.PATH ?? "").split(delimiter).filter(Boolean);
  for (const name of CHROMIUM_NAMES) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  for (const path of appPaths) if (isExecutableFile(path)) return path;
  throw new Error(CHROMIUM_NOT_FOUND);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS });
}

/**
 * Records every dialog a page opens (alert, confirm, prompt: what an injected script would show),
 * prefixed with the page's URL when `withUrl`, and dismisses it so the page goes on.
 */
export function recordDialogs(page: Page, withUrl = false): string[] {
  const dialogs: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(withUrl ? `${page.url()}: ${d.message()}` : d.message());
    void d.dismiss();
  });
  return dialogs;
}

/**
 * Screenshots for a person to look at (the *_SCREENSHOTS runs): each page at a desktop and a phone
 * width, light and dark, into `dir` as <name>-<width>-<scheme>.png, with a .txt beside it giving the
 * page's horizontal overflow. `screens` adds real-size screens down a long page; `prepare` runs
 * before the shot (e.g. opens a menu).
 */
export async function screenshotPages(
  browser: Browser,
  dir: string,
  pages: ReadonlyArray<readonly [name: string, url: string]>,
  opts: { screens?: boolean; prepare?: (name: string, page: Page) => Promise<void> } = {},
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const [name, url] of pages) {
    for (const width of [1280, 390]) {
      for (const colorScheme of ["light", "dark"] as const) {
        const ctx = await browser.newContext({ viewport: { width, height: 900 }, colorScheme });
        const page = await ctx.newPage();
        await page.goto(url);
        await opts.prepare?.(name, page);
        const file = join(dir, `${name}-${width}-${colorScheme}`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        writeFileSync(`${file}.txt`, `horizontal overflow: ${overflow}px\n`);
        await page.screenshot({ path: `${file}.png`, fullPage: opts.screens });
        // Screens down the page too, at their real size (a whole page shrinks to illegible).
        const height = opts.screens ? await page.evaluate(() => document.documentElement.scrollHeight) : 0;
        for (let y = 0, i = 0; y < height && i < 6; y += 900, i++) {
          const clip = { x: 0, y, width, height: Math.min(900, height - y) };
          await page.screenshot({ path: `${file}-${i}.png`, clip, fullPage: true });
        }
        await ctx.close();
      }
    }
  }
}
