// Markdown of user-written text (descriptions, front page, issues, wiki, READMEs) to safe HTML.
// markdown-it with raw HTML disabled: tags in the source come out as text; its link check drops
// javascript:, vbscript:, file: and data: URLs (except data: images of common types).
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: false });

const SAFE_SCHEME = /^(?:https?:|mailto:|[^a-z]|[a-z][a-z0-9+.-]*[^a-z0-9+.:-])/i;

// Beyond markdown-it's own list, only plain web and mail links survive (no custom schemes).
const validate = md.validateLink.bind(md);
md.validateLink = (url) => validate(url) && SAFE_SCHEME.test(url.trim());

const defaultLinkOpen =
  md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  // Links written by users earn no ranking and get no handle on this page.
  tokens[idx]!.attrSet("rel", "nofollow ugc noopener");
  return defaultLinkOpen(tokens, idx, options, env, self);
};

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

/**
 * Renders Markdown to HTML that is safe to insert into a page as is. With `links`, mentions of
 * issues, commits and files link to that project's pages.
 */
export function renderMarkdown(source: string, links?: AutoLinks): string {
  return md.render(source, links ? { autoLinks: links } : {});
}

/** Renders one line of Markdown (no paragraphs): emphasis, code and links only. */
export function renderMarkdownInline(source: string): string {
  return md.renderInline(source);
}
