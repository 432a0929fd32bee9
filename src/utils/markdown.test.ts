// The Markdown renderer against an XSS corpus: nothing in the output may run script.
import { describe, expect, it } from "vitest";
import { renderMarkdown, renderMarkdownInline } from "./markdown";

/** Payloads from the usual lists: raw HTML, event handlers, script URLs, SVG, Markdown tricks. */
const XSS_CORPUS = [
  "<script>alert(1)</script>",
  "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
  '<img src=x onerror="alert(1)">',
  "<img src=x onerror=alert(1)//",
  '<svg onload="alert(1)"><script>alert(2)</script></svg>',
  '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
  '<a href="javascript:alert(1)">x</a>',
  '<details open ontoggle="alert(1)">',
  "<body onload=alert(1)>",
  "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
  '<style>@import "javascript:alert(1)"</style>',
  '"><script>alert(1)</script>',
  "'><img src=x onerror=alert(1)>",
  "[click](javascript:alert(1))",
  "[click](JaVaScRiPt:alert(1))",
  "[click]( javascript:alert(1) )",
  "[click](javascript&#58;alert(1))",
  "[click](&#106;avascript:alert(1))",
  "[click](java\tscript:alert(1))",
  "[click](vbscript:msgbox(1))",
  "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  "[click](file:///etc/passwd)",
  "![img](javascript:alert(1))",
  '![img](x" onerror="alert(1))',
  '[x](https://example.com "title\\" onmouseover=\\"alert(1)")',
  "<javascript:alert(1)>",
  "[ref]\n\n[ref]: javascript:alert(1)",
  "[a](<javascript:alert(1)>)",
  "`<script>alert(1)</script>`",
  "```html\n<script>alert(1)</script>\n```",
  "<!-- --><script>alert(1)</script>",
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
  "[x](x:alert(1))",
];

const ALLOWED_TAGS = new Set(
  "p h1 h2 h3 h4 h5 h6 em strong code pre a img ul ol li blockquote hr br table thead tbody tr th td s del".split(" "),
);
const ALLOWED_ATTRS = new Set(["href", "src", "alt", "title", "rel", "class", "style", "start"]);

/**
 * What in rendered HTML could run script, found by parsing it (workerd's HTMLRewriter): a tag
 * outside what Markdown makes, an attribute outside its list (event handlers), or a URL whose
 * scheme is not http(s), mailto or relative. null when there is nothing.
 */
async function findExecutable(html: string): Promise<string | null> {
  const problems: string[] = [];
  const rewriter = new HTMLRewriter().on("*", {
    element(el) {
      if (!ALLOWED_TAGS.has(el.tagName)) problems.push(`tag <${el.tagName}>`);
      for (const [name = "", value = ""] of el.attributes) {
        if (!ALLOWED_ATTRS.has(name)) problems.push(`attribute ${name}`);
        if ((name === "href" || name === "src") && !/^(?:https?:|mailto:|[/#?.]|[^:]*$)/i.test(value.trim())) {
          problems.push(`URL ${value}`);
        }
        if (name === "style" && !/^text-align:(?:left|right|center)$/.test(value)) problems.push(`style ${value}`);
      }
    },
  });
  await rewriter.transform(new Response(html)).text();
  return problems.length ? problems.join(", ") : null;
}

describe("renderMarkdown", () => {
  it("renders ordinary Markdown", () => {
    expect(renderMarkdown("# Title\n\n*em* and `code` and [a link](https://example.com/x)")).toBe(
      '<h1>Title</h1>\n<p><em>em</em> and <code>code</code> and <a href="https://example.com/x" rel="nofollow ugc noopener">a link</a></p>\n',
    );
    expect(renderMarkdown("| a | b |\n|---|---|\n| 1 | 2 |")).toContain("<table>");
    expect(renderMarkdown("see https://example.com")).toContain('href="https://example.com"');
    expect(renderMarkdown("[mail](mailto:a@example.com) [rel](/p/x/) [frag](#top)")).toMatch(
      /href="mailto:a@example.com".*href="\/p\/x\/".*href="#top"/s,
    );
  });

  for (const payload of XSS_CORPUS) {
    it(`neutralises ${JSON.stringify(payload)}`, async () => {
      for (const html of [renderMarkdown(payload), renderMarkdownInline(payload), renderMarkdown(`text ${payload} text`)]) {
        expect(await findExecutable(html), html).toBeNull();
      }
    });
  }

  it("keeps the text of escaped HTML visible", () => {
    expect(renderMarkdown("<script>alert(1)</script>")).toBe("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n");
  });

  it("the checker itself catches what it must (so a pass means something)", async () => {
    expect(await findExecutable('<img src=x onerror="alert(1)">')).not.toBeNull();
    expect(await findExecutable('<a href="javascript:alert(1)">x</a>')).not.toBeNull();
    expect(await findExecutable('<a href=" JavaScript:alert(1)">x</a>')).not.toBeNull();
    expect(await findExecutable("<svg onload=alert(1)>")).not.toBeNull();
    expect(await findExecutable("<p>fine <em>text</em></p>")).toBeNull();
  });
});

describe("renderMarkdown with auto-links", () => {
  const links = { project: "demo" };
  const hrefs = (html: string) => [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);

  it("links issues, commits and file lines of the project", () => {
    const html = renderMarkdown(
      "See issue 12, Issue #13 and #14; fixed in 1a2b3c4d and 0123456789abcdef0123456789abcdef01234567; look at src/app.ts#L10 and docs/api.md#L3-L7.",
      links,
    );
    expect(hrefs(html)).toEqual([
      "/p/demo/issues/12",
      "/p/demo/issues/13",
      "/p/demo/issues/14",
      "/p/demo/source/commit/1a2b3c4d",
      "/p/demo/source/commit/0123456789abcdef0123456789abcdef01234567",
      "/p/demo/source/blob/HEAD/src/app.ts#L10",
      "/p/demo/source/blob/HEAD/docs/api.md#L3-L7",
    ]);
    expect(html).toContain(">issue 12</a>");
    expect(html).toContain(">src/app.ts#L10</a>");
  });

  it("leaves code, existing links, words and numbers alone", () => {
    const html = renderMarkdown(
      "`#12` and\n\n```\nissue 12 1a2b3c4d\n```\n\n[issue 5](https://example.com/) C#12 deadbeef 1234567 abc#12 DEADBEE1 a1b2c3",
      links,
    );
    expect(hrefs(html)).toEqual(["https://example.com/"]);
    expect(renderMarkdown("issue 12 and #3")).not.toContain("<a");
  });

  it("encodes project names and paths, and uses the ref it is given", () => {
    // "a/b c.ts" is two words: only c.ts is a file name.
    expect(hrefs(renderMarkdown("a/b c.ts#L1 #2", { project: "x y", ref: "main" }))).toEqual([
      "/p/x%20y/source/blob/main/c.ts#L1",
      "/p/x%20y/issues/2",
    ]);
    expect(hrefs(renderMarkdown("lib/ü.ts#L1", { project: "p", ref: "release/1.0" }))).toEqual([
      "/p/p/source/blob/release%2F1.0/lib/%C3%BC.ts#L1",
    ]);
  });

  for (const payload of XSS_CORPUS) {
    it(`still neutralises ${JSON.stringify(payload)} with auto-links on`, async () => {
      expect(await findExecutable(renderMarkdown(`#1 ${payload} issue 2 src/a.ts#L1`, links))).toBeNull();
    });
  }
});
