// Markup that is already escaped or sanitized (highlighted code, rendered Markdown), carried in a
// branded type so that it cannot be confused with text, and the one door that puts it into a page.
import { raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

/**
 * HTML made safe by the renderer that produced it. Only views/highlight.ts and views/markdown.ts
 * make these (test/node/raw-html.test.ts checks): everything else is text, escaped on output.
 */
export interface TrustedHtml {
  readonly __trusted: string;
}

/** For the highlighter and the Markdown renderer only: they escape or sanitize what they wrap. */
export const escapedByRenderer = (html: string): TrustedHtml => ({ __trusted: html });

/**
 * The only place where markup enters a page unescaped (besides cachedBody below): hono's raw is
 * imported and called in this file alone (test/node/raw-html.test.ts).
 */
export const trustedHtml = (t: TrustedHtml): HtmlEscapedString => raw(t.__trusted);

/**
 * A page body this app rendered through its escaping views and the page cache kept as a string:
 * it comes back as the same markup, so it is not escaped twice.
 */
export const cachedBody = (rendered: string): HtmlEscapedString => raw(rendered);
