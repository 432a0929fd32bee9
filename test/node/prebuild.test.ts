// The prebuild step: the source hash that versions the page cache, and the minified stylesheet.
import { describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectRoot } from "../../scripts/local/build";
import { BUILD_INFO, minifyStylesheet, sourceHash, STYLESHEET_MIN, STYLESHEET_SOURCE } from "../../scripts/prebuild";

/** A copy of the project's src/ in a fresh folder, removed after `body`. */
function withCopyOfSource(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "edgeforge-prebuild-"));
  try {
    cpSync(join(projectRoot, "src"), join(dir, "src"), { recursive: true });
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("source hash (the page cache's render version)", () => {
  it("is the same for the same source, wherever it is checked out", () => {
    withCopyOfSource((dir) => {
      expect(sourceHash(dir)).toMatch(/^[0-9a-f]{16}$/);
      expect(sourceHash(dir)).toBe(sourceHash(dir));
      withCopyOfSource((other) => expect(sourceHash(other)).toBe(sourceHash(dir)));
    });
  });

  it("changes when a view changes, not when only a test or a generated file does", () => {
    withCopyOfSource((dir) => {
      const before = sourceHash(dir);
      writeFileSync(join(dir, BUILD_INFO), 'export const SOURCE_HASH = "something else";\n');
      writeFileSync(join(dir, STYLESHEET_MIN), "a{}");
      writeFileSync(join(dir, "src/utils/lru.test.ts"), "// edited\n", { flag: "a" });
      expect(sourceHash(dir)).toBe(before);

      const view = join(dir, "src/views/layout.tsx");
      writeFileSync(view, readFileSync(view, "utf8").replace("</head>", "<meta name=x /></head>"));
      const changed = sourceHash(dir);
      expect(changed).not.toBe(before);

      writeFileSync(join(dir, STYLESHEET_SOURCE), "\n.new { color: red }\n", { flag: "a" });
      expect(sourceHash(dir)).not.toBe(changed);

      // A library upgrade can change the markup as well.
      const withoutLock = sourceHash(dir);
      writeFileSync(join(dir, "package-lock.json"), "{}\n");
      expect(sourceHash(dir)).not.toBe(withoutLock);
    });
  });
});

describe("stylesheet", () => {
  it("is served minified: one line, much smaller than the readable style.css", () => {
    const css = readFileSync(join(projectRoot, STYLESHEET_SOURCE), "utf8");
    const min = minifyStylesheet(css);
    expect(css.split("\n").length).toBeGreaterThan(100);
    expect(min.trim().split("\n")).toHaveLength(1);
    // Comments, indentation and one declaration per line are for people, not for the wire.
    expect(min.length).toBeLessThan(css.length * 0.9);
    expect(min).toContain(":root{color-scheme:light dark;");
  });
});
