// Markdown of user-written text (descriptions, front page, issues, wiki, READMEs) to safe HTML.
// markdown-it with raw HTML disabled: tags in the source come out as text; its link check drops
// javascript:, vbscript:, file: and data: URLs (except data: images of common types).
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: false });

const SAFE_SCHEME = /^(?:https?:|mailto:|[^a-z]|[a-z][a-z0-9+.-]*[^a-z0-9+.:-])/i;

// Beyond markdown-it's own list, only plain web and mail links survive (no custom schemes).
const validate = md.validateLink.bind(md);
md.validateLink = (url) => validate(url) && SAFE_SCHEME.test(url.trim());

const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  // Links written by users earn no ranking and get no handle on this page.
  tokens[idx]!.attrSet("rel", "nofollow ugc noopener");
  return defaultLinkOpen(tokens, idx, options, env, self);
};

/** Renders Markdown to HTML that is safe to insert into a page as is. */
export function renderMarkdown(source: string): string {
  return md.render(source);
}

/** Renders one line of Markdown (no paragraphs): emphasis, code and links only. */
export function renderMarkdownInline(source: string): string {
  return md.renderInline(source);
}
