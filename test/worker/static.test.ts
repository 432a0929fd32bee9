// Static assets of the web UI: the stylesheet is style.css minified, named by its content hash,
// cached for a year, and linked from every page.
import { beforeAll, describe, expect, it } from "vitest";
import { stylesheet, stylesheetPath } from "../../src/views/style";
import { newForge, type Forge } from "./browser";
import { edge } from "./helpers";

let forge: Forge;

beforeAll(async () => {
  forge = await newForge("static");
});

describe("stylesheet", () => {
  it("is served minified under its content hash, immutable, and every page links it", async () => {
    expect(stylesheetPath).toMatch(/^\/static\/style\.[0-9a-f]{8}\.css$/);
    const res = await edge(`http://${forge.host}${stylesheetPath}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(res.headers.get("cache-control")).toContain("immutable");
    const body = await res.text();
    expect(body).toBe(stylesheet);
    // Minified from style.css by the build: one line, the rules of the readable file.
    expect(body.trim().split("\n")).toHaveLength(1);
    expect(body).toContain(":root{color-scheme:light dark;");
    expect(body).toContain("#0d1117"); // the dark scheme's background

    const page = await (await edge(`http://${forge.host}/`)).text();
    expect(page).toContain(`<link rel="stylesheet" href="${stylesheetPath}"/>`);
  });
});
