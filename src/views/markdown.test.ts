// The Markdown renderer: GitHub's extensions, the sanitized HTML subset, relative URLs, and an XSS
// corpus (test/fixtures/markdown/xss.ts) of which nothing in the output may run script.
import { describe, expect, it } from "vitest";
import { XSS_CORPUS } from "../../test/fixtures/markdown/xss";
import { renderMarkdown, renderMarkdownDocument, renderMarkdownInline } from "./markdown";
import README from "../../test/fixtures/markdown/readme.md?raw";

const ALLOWED_TAGS = new Set(
  `p h1 h2 h3 h4 h5 h6 em strong code pre a img ul ol li blockquote hr br table thead tbody tr th td s del div span
  details summary picture source kbd sup sub section input b i`.split(/\s+/),
);
const ALLOWED_ATTRS = new Set(
  "href src srcset media alt title rel class start align width height id open aria-hidden type disabled checked".split(" "),
);

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
      if (el.tagName === "input" && el.getAttribute("disabled") === null) problems.push("enabled input");
      for (const [name = "", value = ""] of el.attributes) {
        if (!ALLOWED_ATTRS.has(name)) problems.push(`attribute ${name}`);
        if ((name === "href" || name === "src") && !/^(?:https?:|mailto:|[/#?.]|[^:]*$)/i.test(value.trim())) {
          problems.push(`URL ${value}`);
        }
        if (name === "srcset" && !/^(?:https?:|[/#?.]|[^:]*$)/i.test(value.trim())) problems.push(`srcset ${value}`);
        if (name === "id" && !value.startsWith("user-content-")) problems.push(`id ${value}`);
        if (name === "type" && value !== "checkbox") problems.push(`type ${value}`);
      }
    },
  });
  await rewriter.transform(new Response(html)).text();
  return problems.length ? problems.join(", ") : null;
}

describe("renderMarkdown", () => {
  it("renders ordinary Markdown", () => {
    expect(renderMarkdown("*em* and `code` and [a link](https://example.com/x)")).toBe(
      '<p><em>em</em> and <code>code</code> and <a rel="nofollow ugc noopener" href="https://example.com/x">a link</a></p>\n',
    );
    expect(renderMarkdown("| a | b |\n|---|---|\n| 1 | 2 |")).toContain("<table>");
    expect(renderMarkdown("see https://example.com")).toContain('href="https://example.com"');
    expect(renderMarkdown("[mail](mailto:a@example.com) [rel](/p/x/) [frag](#top)")).toMatch(
      /href="mailto:a@example.com".*href="\/p\/x\/".*href="#user-content-top"/s,
    );
  });

  it("renders GitHub's extensions: tables with alignment, task lists, strikethrough, autolinks, footnotes", () => {
    const table = renderMarkdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |");
    expect(table).toContain('<th align="left">a</th>');
    expect(table).toContain('<td align="center">2</td>');
    expect(table).toContain('<td align="right">3</td>');
    expect(table).not.toContain("style");
    const tasks = renderMarkdown("- [x] done\n- [ ] to do\n- [link](#x)");
    expect(tasks).toContain('<ul class="contains-task-list">');
    expect(tasks).toContain(
      '<li class="task-list-item"><input type="checkbox" class="task-list-item-checkbox" disabled checked> done</li>',
    );
    expect(tasks).toContain(
      '<li class="task-list-item"><input type="checkbox" class="task-list-item-checkbox" disabled> to do</li>',
    );
    expect(tasks).toContain('<li><a href="#user-content-x">link</a></li>');
    expect(renderMarkdown("~~gone~~")).toBe("<p><s>gone</s></p>\n");
    expect(renderMarkdown("go to https://example.com/x?y=1 now")).toContain(
      '<a rel="nofollow ugc noopener" href="https://example.com/x?y=1">https://example.com/x?y=1</a>',
    );
    const notes = renderMarkdown("Text[^n].\n\n[^n]: The note.");
    const id = /id="user-content-fnref-(\w+)-1"/.exec(notes)?.[1];
    expect(notes).toContain(
      `<sup class="footnote-ref"><a href="#user-content-fn-${id}-1" id="user-content-fnref-${id}-1">[1]</a></sup>`,
    );
    expect(notes).toContain(
      `<li id="user-content-fn-${id}-1" class="footnote-item"><p>The note. <a href="#user-content-fnref-${id}-1" class="footnote-backref">`,
    );
    // Two texts on one page (an issue's comments) each reach their own notes; the same text, the same ids.
    expect(renderMarkdown("Other[^n].\n\n[^n]: Another note.")).not.toContain(`fn-${id}-1`);
    expect(renderMarkdown("Text[^n].\n\n[^n]: The note.")).toBe(notes);
  });

  it("gives headings GitHub's slugs, deduplicated, with a link to themselves", () => {
    const html = renderMarkdown(
      "# Docs & Community\n\n## TC (Technical Committee)\n\n## Usage\n\n## Usage\n\n### Ünïcode `code`!",
    );
    expect(html).toContain(
      '<h1 id="user-content-docs--community"><a class="heading-anchor" href="#user-content-docs--community" aria-hidden="true">#</a> Docs &amp; Community</h1>',
    );
    expect(html).toContain('id="user-content-tc-technical-committee"');
    expect(html).toContain('id="user-content-usage"');
    expect(html).toContain('id="user-content-usage-1"');
    expect(html).toContain('id="user-content-ünïcode-code"');
  });

  it("prefixes ids written by users so they cannot take the page's own", () => {
    expect(renderMarkdown('<h2 id="main">x</h2><a href="#main">to it</a>')).toBe(
      '<h2 id="user-content-main">x</h2><a href="#user-content-main">to it</a>',
    );
    expect(renderMarkdown('<p id="user-content-x">kept once</p>')).toBe('<p id="user-content-x">kept once</p>');
  });

  it("keeps GitHub's HTML subset and alignment, drops everything else but its text", () => {
    const html = renderMarkdown(
      '<p align="center"><picture><source media="(prefers-color-scheme: dark)" srcset="https://example.com/d.png 2x"><img alt="Logo" src="https://example.com/l.png" width="280"></picture></p>\n\n<details open><summary>More</summary>\n\n*inside*\n\n</details>\n\nPress <kbd>Ctrl</kbd>, H<sub>2</sub>O, x<sup>2</sup>, line<br>break.\n\n<div align="right" class="notice" style="color:red">right</div>\n\n<marquee>old</marquee><script>alert(1)</script>',
    );
    expect(html).toContain(
      '<p align="center"><picture><source media="(prefers-color-scheme: dark)" srcset="https://example.com/d.png 2x"><img alt="Logo" src="https://example.com/l.png" width="280"></picture></p>',
    );
    expect(html).toContain("<details open><summary>More</summary>");
    expect(html).toContain("<em>inside</em>");
    expect(html).toContain("<kbd>Ctrl</kbd>, H<sub>2</sub>O, x<sup>2</sup>, line<br>break.");
    expect(html).toContain('<div align="right">right</div>');
    expect(html).toContain("<p>old</p>");
    expect(html).not.toContain("alert");
  });

  it("refuses data: URLs except raster images", () => {
    const png = "data:image/png;base64,iVBORw0KGgo=";
    expect(renderMarkdown(`![a](${png})`)).toContain(`src="${png}"`);
    expect(renderMarkdown(`<img src="${png}">`)).toContain(`src="${png}"`);
    expect(renderMarkdown('<img src="data:image/svg+xml;base64,PHN2Zz4=">')).toBe("<img src>");
    expect(renderMarkdown('<a href="data:image/png;base64,iVBORw0KGgo=">x</a>')).toBe("<p><a href>x</a></p>\n");
  });

  it("highlights fenced code with the source browser's highlighter", () => {
    expect(renderMarkdown('```js\nconst a = "<b>"; // note\n```')).toBe(
      '<pre class="highlight"><code class="language-js"><span class="k">const</span> a = <span class="s">&quot;&lt;b&gt;&quot;</span>; <span class="c">// note</span>\n</code></pre>\n',
    );
    expect(renderMarkdown("```python\nimport os\n```")).toContain('<span class="k">import</span>');
    expect(renderMarkdown("```\n<b>plain</b>\n```")).toBe(
      '<pre class="highlight"><code>&lt;b&gt;plain&lt;/b&gt;\n</code></pre>\n',
    );
  });

  for (const payload of XSS_CORPUS) {
    it(`neutralises ${JSON.stringify(payload)}`, async () => {
      for (const html of [renderMarkdown(payload), renderMarkdownInline(payload), renderMarkdown(`text ${payload} text`)]) {
        expect(await findExecutable(html), html).toBeNull();
      }
    });
  }

  it("drops scripts with their content, and comments", () => {
    expect(renderMarkdown("<script>alert(1)</script>")).toBe("");
    expect(renderMarkdown("a <!-- hidden --> b")).toBe("<p>a  b</p>\n");
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

describe("renderMarkdown of a file in the repository", () => {
  const file = { project: "my proj", commit: "c0ffee", dir: ["docs", "sub dir"] };
  const hrefs = (html: string) => [...html.matchAll(/(?:href|src|srcset)="([^"]*)"/g)].map((m) => m[1]);

  it("resolves relative links to the source browser and images to raw files, at the commit", () => {
    const html = renderMarkdown(
      '[a](guide.md) [b](./x/y.md#api) [c](../README.md) [d](pics/) [e](/root.txt?x=1) [f](../../../out.md) [g](#top) [h](https://example.com/z) [i](code.ts#L3-L5)\n\n![p](img/a%20b.png) <img src="../logo.svg"> <picture><source srcset="dark.png 2x, /light.png 1x"></picture>',
      undefined,
      file,
    );
    expect(hrefs(html)).toEqual([
      "/p/my%20proj/source/blob/c0ffee/docs/sub%20dir/guide.md",
      "/p/my%20proj/source/blob/c0ffee/docs/sub%20dir/x/y.md#user-content-api",
      "/p/my%20proj/source/blob/c0ffee/docs/README.md",
      "/p/my%20proj/source/tree/c0ffee/docs/sub%20dir/pics",
      "/p/my%20proj/source/blob/c0ffee/root.txt?x=1",
      "/p/my%20proj/source/tree/c0ffee/",
      "#user-content-top",
      "https://example.com/z",
      "/p/my%20proj/source/blob/c0ffee/docs/sub%20dir/code.ts#L3-L5",
      "/p/my%20proj/source/raw/c0ffee/docs/sub%20dir/img/a%20b.png",
      "/p/my%20proj/source/raw/c0ffee/docs/logo.svg",
      "/p/my%20proj/source/raw/c0ffee/docs/sub%20dir/dark.png 2x, /p/my%20proj/source/raw/c0ffee/light.png 1x",
    ]);
  });

  it("renders the README corpus with no literal tags", async () => {
    const html = renderMarkdown(README, undefined, { project: "widget", commit: "c1", dir: [] });
    expect(await findExecutable(html)).toBeNull();
    const text = html.replace(/<[^>]*>/g, "");
    expect(text).not.toMatch(/&lt;\/?[a-z]/i);
    expect(text).not.toMatch(/\[[ x]\]|\[\^gizmo\]/);
    expect(html).toContain('<source media="(prefers-color-scheme: dark)" srcset="/p/widget/source/raw/c1/docs/logo-dark.png">');
    expect(html).toContain('<img alt="Widget logo" src="/p/widget/source/raw/c1/docs/logo-light.png" width="240">');
    expect(html).toContain('href="/p/widget/source/blob/c1/LICENSE"');
    expect(html).toContain('href="/p/widget/source/blob/c1/docs/guide.md#user-content-api"');
    expect(html).toContain('href="/p/widget/source/tree/c1/examples"');
    expect(html).toContain('href="/p/widget/source/blob/c1/CHANGELOG.md"');
    expect(html).toContain('href="/p/widget/source/tree/c1/"');
    expect(html).toContain('<img src="/p/widget/source/raw/c1/img/screenshot.png" alt="Screenshot" title="The widget at work">');
    expect(html).toContain('<h1 align="center">Widget</h1>');
    expect(html).toContain('href="#user-content-docs--faq"');
    expect(html).toContain('id="user-content-docs--faq"');
    expect(html).toContain('id="user-content-usage-1"');
    expect(html).toContain("<details>");
    expect(html).toContain('<span class="k">import</span>');
    expect(html).toContain('class="footnote-item"');
    expect(html).toContain('href="/p/widget/source/blob/c1/docs/gizmos.md"');
  });
});

describe("wiki options", () => {
  const wiki = {
    base: "/p/demo/wiki",
    nameOf: (t: string) => (/^[\w -]+$/.test(t) ? t.replace(/ /g, "-") : null),
    existing: new Set(["install"]),
    resources: "/p/demo/wiki/Guide/resources/",
  };

  it("links [[Page]] only for wiki pages; other texts keep the brackets", () => {
    expect(renderMarkdown("[[Install]]")).toContain("[[Install]]");
    const html = renderMarkdown("[[Install]] [[New Page|write it]] `[[Code]]`", undefined, undefined, { wiki });
    expect(html).toMatch(/<a [^>]*href="\/p\/demo\/wiki\/Install" class="wiki-link">Install<\/a>/);
    expect(html).toMatch(/<a [^>]*href="\/p\/demo\/wiki\/New-Page\/edit" class="wiki-link wiki-missing"[^>]*>write it<\/a>/);
    expect(html).toContain("<code>[[Code]]</code>");
  });

  it("points resource: URLs at the page's files only with the wiki option", () => {
    expect(renderMarkdown("![d](resource:d.png)")).not.toContain("resource:");
    expect(renderMarkdown("![d](resource:d.png)", undefined, undefined, { wiki })).toContain(
      'src="/p/demo/wiki/Guide/resources/d.png"',
    );
  });

  it("collects headings for a table of contents, ids as the page has them", () => {
    const { toc } = renderMarkdownDocument("# A\n\n## B `c`\n\ntext\n\n### D <i>e</i>\n", undefined, { toc: true });
    expect(toc).toEqual([
      { level: 1, text: "A", id: "user-content-a" },
      { level: 2, text: "B c", id: "user-content-b-c" },
      { level: 3, text: "D e", id: "user-content-d-e" },
    ]);
  });
});
