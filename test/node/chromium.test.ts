// The browser tests find Chromium rather than assume one fixed path: CHROMIUM_PATH, then PATH,
// then the macOS app bundles; with none, one line says what to install.
import { describe, expect, it } from "vitest";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { CHROMIUM_NOT_FOUND, findChromium } from "../e2e/browser";

function fakeExecutable(dir: string, name: string, mode = 0o755): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, "#!/bin/sh\nexit 0\n");
  chmodSync(path, mode);
  return path;
}

describe("findChromium", () => {
  const tmp = mkdtempSync(join(tmpdir(), "edgeforge-chromium-"));

  it("takes the first known name found on PATH, in the order of the names", () => {
    const a = join(tmp, "a");
    const b = join(tmp, "b");
    fakeExecutable(a, "google-chrome");
    const chromium = fakeExecutable(b, "chromium");
    fakeExecutable(a, "chromium-browser", 0o644); // not executable: skipped
    expect(findChromium({ PATH: [join(tmp, "missing"), a, b].join(delimiter) }, [])).toBe(chromium);
    expect(findChromium({ PATH: a }, [])).toBe(join(a, "google-chrome"));
  });

  it("prefers CHROMIUM_PATH, and says so when it does not point at an executable", () => {
    const own = fakeExecutable(join(tmp, "own"), "my-chrome");
    const onPath = fakeExecutable(join(tmp, "path"), "chromium");
    expect(findChromium({ CHROMIUM_PATH: own, PATH: join(tmp, "path") }, [])).toBe(own);
    expect(onPath).not.toBe(own);
    expect(() => findChromium({ CHROMIUM_PATH: join(tmp, "nope"), PATH: join(tmp, "path") }, [])).toThrow(
      `CHROMIUM_PATH=${join(tmp, "nope")} is not an executable file: fix it or unset it`,
    );
  });

  it("falls back to an app bundle path when nothing is on PATH", () => {
    const app = fakeExecutable(join(tmp, "Chromium.app", "Contents", "MacOS"), "Chromium");
    expect(findChromium({ PATH: "" }, [join(tmp, "no.app"), app])).toBe(app);
  });

  it("fails with one line saying what to install when there is no browser", () => {
    let message = "";
    try {
      findChromium({ PATH: "" }, []);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe(CHROMIUM_NOT_FOUND);
    expect(message).not.toContain("\n");
    expect(message).toMatch(
      /^Chromium not found: set CHROMIUM_PATH or install it \(Debian\/Ubuntu: apt-get install chromium; macOS: brew install --cask chromium\)$/,
    );
    expect(() => findChromium({}, [])).toThrow(CHROMIUM_NOT_FOUND);
  });
});
