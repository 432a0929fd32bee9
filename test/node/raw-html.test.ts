// Markup enters pages unescaped in one place only: views/trusted-html.ts. Everything else goes
// through hono's escaping JSX or `html` tag, and the source routes build no HTML strings.
import { describe, expect, it } from "vitest";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { projectRoot } from "../../scripts/local/build";

const src = join(projectRoot, "src");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [path] : [];
  });
}

const files = sources(src).map((path) => ({ path: relative(src, path), text: readFileSync(path, "utf8") }));

/** hono's raw, imported under any name, from either module that exports it. */
const RAW_IMPORT = /import\s*\{[^}]*\braw\b[^}]*\}\s*from\s*["']hono\/(?:html|utils\/html)["']/;
/** A call of a bare `raw(` in code (not `urls.raw(`, `rawFile(`, a method `raw(rev...)` or a comment). */
const RAW_CALL = /^(?!\s*(?:\/\/|\*|\/\*)).*(?<![\w.$])raw\s*\((?![\w\s]*:)/m;

/** A line of code with a template literal holding an HTML tag (`<a href=...`, `</p>`). */
const HTML_TEMPLATE = /^(?!\s*(?:\/\/|\*|\/\*)).*`[^`\n]*<\/?[a-z][a-z0-9]*[\s>][^`\n]*`/m;

describe("unescaped markup", () => {
  it("is put into pages only by views/trusted-html.ts", () => {
    const callers = files
      .filter((f) => RAW_IMPORT.test(f.text) || RAW_CALL.test(f.text) || f.text.includes("dangerouslySetInnerHTML"))
      .map((f) => f.path);
    expect(callers).toEqual(["views/trusted-html.ts"]);
  });

  it("is branded trusted only by the highlighter and the Markdown renderer", () => {
    const makers = files.filter((f) => /\bescapedByRenderer\b/.test(f.text)).map((f) => f.path);
    expect(makers.sort()).toEqual(["views/highlight.ts", "views/markdown.ts", "views/trusted-html.ts"]);
  });

  it("is never built as strings in the source routes: their views render view models", () => {
    const offenders = files
      .filter((f) => f.path.startsWith("routes/web/source/") && f.path.endsWith(".tsx"))
      .filter((f) => HTML_TEMPLATE.test(f.text) || f.text.includes("escapeHtml"))
      .map((f) => f.path);
    expect(offenders).toEqual([]);
  });
});
