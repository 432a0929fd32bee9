// hono's escaping `html` tag, typed for the source views: every interpolated string is escaped,
// arrays are joined, and nested `html` results (or trustedHtml) pass through as markup.
import { html as honoHtml } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

export type Markup = HtmlEscapedString;

/**
 * The source views never interpolate promises, so the tag answers synchronously; this states it
 * for TypeScript (hono's type allows a promise for async components).
 */
export const html = honoHtml as (strings: TemplateStringsArray, ...values: unknown[]) => Markup;

/** Nothing, as markup (for optional parts). */
export const empty: Markup = html``;
