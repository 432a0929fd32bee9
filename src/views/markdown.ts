// Markdown of user-written text (descriptions, front page, issues, wiki, READMEs) to safe HTML:
// CommonMark with GitHub's extensions (tables, strikethrough, autolinks, task lists, footnotes),
// heading anchors and highlighted code. Raw HTML is allowed while parsing, and the whole rendered
// result then goes through utils/html-sanitize.ts: sanitizing the output is the only order that
// also covers HTML that Markdown itself assembles.
import MarkdownIt from "markdown-it";
import anchor from "markdown-it-anchor";
import footnote from "markdown-it-footnote";
import { escapeHtml, highlightLines, languageOf } from "./highlight";
import { type FileBase, USER_ID_PREFIX, sanitizeHtml } from "../utils/html-sanitize";
import { escapedByRenderer, type TrustedHtml } from "./trusted-html";

export type { FileBase } from "../utils/html-sanitize";

/** Fence names that are not file extensions, to the extension highlight.ts knows. */
const FENCE_ALIASES: Record<string, string> = {
  javascript: "js",
  typescript: "ts",
  python: "py",
  ruby: "rb",
  shell: "sh",
  console: "sh",
  shellsession: "sh",
  zsh: "sh",
  rust: "rs",
  golang: "go",
  csharp: "cs",
  "c++": "cpp",
  kotlin: "kt",
  jsonc: "json",
};

function highlightFence(code: string, info: string): string {
  const name = info.trim().split(/\s+/)[0]?.toLowerCase() ?? "";
  const lang = name ? languageOf(`x.${FENCE_ALIASES[name] ?? name}`) : null;
  const body = highlightLines(code.endsWith("\n") ? code.slice(0, -1) : code, lang).join("\n");
  const cls = name && /^[\w+-]+$/.test(name) ? ` class="language-${escapeHtml(name)}"` : "";
  return `<pre class="highlight"><code${cls}>${body}\n</code></pre>`;
}

const md = new MarkdownIt({ html: true, linkify: true, typographer: false, breaks: false, highlight: highlightFence });
md.use(footnote);

/** GitHub's heading slugs: lower case, punctuation dropped, each space a hyphen ("Docs & Community" is "docs--community"). */
export function slugify(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

md.use(anchor, {
  slugify,
  tabIndex: false,
  permalink: anchor.permalink.linkInsideHeader({ class: "heading-anchor", symbol: "#", placement: "before", ariaHidden: true }),
});

// markdown-it's own link check (no javascript:, vbscript:, file:, data: but images) stays; the
// sanitizer then allows only http(s), mailto and relative URLs, in Markdown and raw HTML alike.

type StateCore = Parameters<Parameters<typeof md.core.ruler.push>[1]>[0];
type Token = StateCore["tokens"][number];

/** Where auto-links point: a project's issues, commits and files. */
export interface AutoLinks {
  project: string;
  /** Ref that file links name (default HEAD). */
  ref?: string;
}

// One pass finds, in text outside links and code: path/file.ts#L10 (or #L10-L20), issue 12 / #12,
// and commit ids (7 to 40 hex digits with a digit and a letter, or all 40).
const W = "[\\p{L}\\p{N}_]";
const P = "[\\p{L}\\p{N}_.-]";
const AUTO_LINK = new RegExp(
  [
    `(?<!${P}|/)((?:${P}+/)*${W}${P}*\\.[A-Za-z0-9]+|(?:${P}+/)+${P}+)#L(\\d+)(?:-L?(\\d+))?(?!${W}|-)`,
    "\\b(?:issue|bug)\\s+#?(\\d+)\\b",
    `(?<!${W}|[&#])#(\\d+)\\b`,
    `(?<!${P}|[/#])([0-9a-f]{7,40})(?!${W}|-)`,
  ].join("|"),
  "giu",
);

const encodePath = (path: string) => path.split("/").map(encodeURIComponent).join("/");

function autoLinkHref(m: RegExpExecArray, links: AutoLinks): string | null {
  const base = `/p/${encodeURIComponent(links.project)}`;
  if (m[1] !== undefined) {
    const range = m[3] !== undefined ? `-L${m[3]}` : "";
    return `${base}/source/blob/${encodeURIComponent(links.ref ?? "HEAD")}/${encodePath(m[1])}#L${m[2]}${range}`;
  }
  const issue = m[4] ?? m[5];
  if (issue !== undefined) return `${base}/issues/${Number(issue)}`;
  const sha = m[6]!;
  if (sha.length < 40 && !(/[0-9]/.test(sha) && /[a-f]/i.test(sha))) return null;
  if (/[A-F]/.test(sha)) return null;
  return `${base}/source/commit/${sha}`;
}

function splitText(state: StateCore, token: Token, links: AutoLinks): Token[] | null {
  const text = token.content;
  const out: Token[] = [];
  let last = 0;
  AUTO_LINK.lastIndex = 0;
  for (let m = AUTO_LINK.exec(text); m; m = AUTO_LINK.exec(text)) {
    const href = autoLinkHref(m, links);
    if (!href) continue;
    if (m.index > last) out.push(Object.assign(new state.Token("text", "", 0), { content: text.slice(last, m.index) }));
    const open = new state.Token("link_open", "a", 1);
    open.attrs = [["href", href]];
    open.info = "auto";
    out.push(open, Object.assign(new state.Token("text", "", 0), { content: m[0] }), new state.Token("link_close", "a", -1));
    last = m.index + m[0].length;
  }
  if (!out.length) return null;
  if (last < text.length) out.push(Object.assign(new state.Token("text", "", 0), { content: text.slice(last) }));
  return out;
}

md.core.ruler.push("forge_autolinks", (state) => {
  const links = (state.env as { autoLinks?: AutoLinks } | undefined)?.autoLinks;
  if (!links) return;
  for (const block of state.tokens) {
    if (block.type !== "inline" || !block.children) continue;
    const children: Token[] = [];
    let depth = 0;
    for (const t of block.children) {
      if (t.type === "link_open") depth++;
      else if (t.type === "link_close") depth--;
      const split = depth === 0 && t.type === "text" ? splitText(state, t, links) : null;
      if (split) children.push(...split);
      else children.push(t);
    }
    block.children = children;
  }
});

// Task lists: a list item whose text starts with "[ ] " or "[x] " gets a checkbox (never enabled).
md.core.ruler.after("inline", "forge_task_lists", (state) => {
  const tokens = state.tokens;
  for (let i = 2; i < tokens.length; i++) {
    const inline = tokens[i]!;
    if (inline.type !== "inline" || tokens[i - 1]!.type !== "paragraph_open" || tokens[i - 2]!.type !== "list_item_open")
      continue;
    const m = /^\[([ xX])\][ \t]/.exec(inline.content);
    const first = inline.children?.[0];
    if (!m || first?.type !== "text" || !first.content.startsWith(m[0].slice(0, 3))) continue;
    first.content = first.content.slice(3).replace(/^[ \t]/, "");
    const box = new state.Token("html_inline", "", 0);
    box.content = `<input type="checkbox" class="task-list-item-checkbox" disabled${m[1] === " " ? "" : " checked"}> `;
    inline.children!.unshift(box);
    tokens[i - 2]!.attrJoin("class", "task-list-item");
    for (let j = i - 3; j >= 0; j--) {
      const t = tokens[j]!;
      if ((t.type === "bullet_list_open" || t.type === "ordered_list_open") && t.level === tokens[i - 2]!.level - 1) {
        if (!String(t.attrGet("class") ?? "").includes("contains-task-list")) t.attrJoin("class", "contains-task-list");
        break;
      }
    }
  }
});

// Table alignment as `align` (markdown-it writes style="text-align:…", and no style survives).
md.core.ruler.push("forge_table_align", (state) => {
  for (const t of state.tokens) {
    if (t.type !== "th_open" && t.type !== "td_open") continue;
    const style = t.attrGet("style");
    const m = style && /^text-align:(left|right|center)$/.exec(String(style));
    if (!style) continue;
    t.attrs = (t.attrs ?? []).filter(([name]) => name !== "style");
    if (m) t.attrSet("align", m[1]!);
  }
});

/** Wiki pages: `[[Page]]` and `[[Page|text]]` links, and `resource:name` URLs of the page's files. */
export interface WikiLinks {
  /** The wiki's URL (/p/<project>/wiki), pages below it. */
  base: string;
  /** A link target as a page name (spaces to -), null when it cannot be one (the text stays as typed). */
  nameOf: (target: string) => string | null;
  /** Lowercase names of the pages that exist; links to others ask to create the page. */
  existing: ReadonlySet<string>;
  /** Where `resource:<name>` points: the page's resources URL, ending with /. */
  resources?: string;
}

/** One heading of a document, for a table of contents (`id` as the page has it, prefix included). */
export interface TocEntry {
  level: number;
  text: string;
  id: string;
}

interface Env {
  [key: string | symbol]: unknown;
  autoLinks?: AutoLinks;
  docId?: string;
  wiki?: WikiLinks;
  toc?: TocEntry[];
}

const WIKI_LINK = /^\[\[([^[\]|\n]{1,200})(?:\|([^[\]\n]{1,200}))?\]\]/;

/** The targets of a text's `[[links]]`, to look up which pages exist before rendering. */
export function wikiLinkTargets(source: string): string[] {
  return [...source.matchAll(new RegExp(WIKI_LINK.source.slice(1), "g"))].map((m) => m[1]!.trim());
}

md.inline.ruler.before("link", "forge_wiki_link", (state, silent) => {
  const wiki = (state.env as Env | undefined)?.wiki;
  if (!wiki || state.src.charCodeAt(state.pos) !== 0x5b || state.src.charCodeAt(state.pos + 1) !== 0x5b) return false;
  const m = WIKI_LINK.exec(state.src.slice(state.pos));
  const name = m ? wiki.nameOf(m[1]!.trim()) : null;
  if (!m || !name) return false;
  if (!silent) {
    const exists = wiki.existing.has(name.toLowerCase());
    const open = state.push("link_open", "a", 1);
    open.attrs = [
      ["href", `${wiki.base}/${encodeURIComponent(name)}${exists ? "" : "/edit"}`],
      ["class", exists ? "wiki-link" : "wiki-link wiki-missing"],
    ];
    if (!exists) open.attrs.push(["title", `Create the page ${name}`]);
    const text = state.push("text", "", 0);
    text.content = (m[2] ?? m[1]!).trim();
    state.push("link_close", "a", -1);
  }
  state.pos += m[0].length;
  return true;
});

// resource:<name> in links and images of a wiki page: the page's uploaded file of that name.
md.core.ruler.push("forge_wiki_resources", (state) => {
  const base = (state.env as Env | undefined)?.wiki?.resources;
  if (!base) return;
  const rewrite = (t: Token, attr: string) => {
    const value = t.attrGet(attr);
    const m = value && /^resource:([^/?#]+)$/i.exec(String(value));
    if (m) t.attrSet(attr, base + encodeURIComponent(decodeURIComponent(m[1]!)));
  };
  for (const block of state.tokens) {
    for (const t of block.children ?? []) {
      if (t.type === "image") rewrite(t, "src");
      else if (t.type === "link_open") rewrite(t, "href");
    }
  }
});

// With env.toc: every heading, in order, for a table of contents (after markdown-it-anchor set ids).
md.core.ruler.push("forge_toc", (state) => {
  const toc = (state.env as Env | undefined)?.toc;
  if (!toc) return;
  const tokens = state.tokens;
  for (let i = 0; i < tokens.length - 1; i++) {
    const t = tokens[i]!;
    const id = t.type === "heading_open" ? t.attrGet("id") : null;
    if (!id) continue;
    const text = (tokens[i + 1]!.children ?? [])
      .filter((c) => c.type === "text" || c.type === "code_inline")
      .map((c) => c.content)
      .join("")
      .trim();
    if (text) toc.push({ level: Number(t.tag.slice(1)), text, id: `${USER_ID_PREFIX}${id}` });
  }
});

/** What a document render can add: wiki links and resources, a table of contents. */
export interface MarkdownOptions {
  wiki?: WikiLinks;
  /** Collect the headings (renderMarkdownDocument's `toc`). */
  toc?: boolean;
}

function render(
  source: string,
  links: AutoLinks | undefined,
  file: FileBase | undefined,
  opts: MarkdownOptions,
): { html: string; toc: TocEntry[] } {
  const env: Env = links ? { autoLinks: links } : {};
  // Footnote ids named after the text, so that several texts on one page (an issue's comments)
  // each reach their own notes; the same text always gets the same ids (pages are cached).
  if (source.includes("[^")) env.docId = textId(source);
  if (opts.wiki) env.wiki = opts.wiki;
  if (opts.toc) env.toc = [];
  return { html: sanitizeHtml(md.render(source, env), file), toc: env.toc ?? [] };
}

/**
 * Renders Markdown to HTML that is safe to insert into a page as is. With `links`, mentions of
 * issues, commits and files link to that project's pages; with `file`, relative URLs resolve.
 */
export function renderMarkdown(source: string, links?: AutoLinks, file?: FileBase, opts: MarkdownOptions = {}): string {
  return render(source, links, file, opts).html;
}

/** A whole document (a wiki page): its safe markup and, with `toc`, its headings. */
export function renderMarkdownDocument(
  source: string,
  links: AutoLinks | undefined,
  opts: MarkdownOptions,
): { html: TrustedHtml; toc: TocEntry[] } {
  const out = render(source, links, undefined, opts);
  return { html: escapedByRenderer(out.html), toc: out.toc };
}

/** renderMarkdown for a page: the sanitized result branded as safe markup (views/trusted-html.ts). */
export function markdownHtml(source: string, links?: AutoLinks, file?: FileBase): TrustedHtml {
  return escapedByRenderer(renderMarkdown(source, links, file));
}

/** A short stable name of a text (FNV-1a, 32 bits, in base 36). */
function textId(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/** Renders one line of Markdown (no paragraphs): emphasis, code and links only. */
export function renderMarkdownInline(source: string): string {
  return sanitizeHtml(md.renderInline(source));
}
