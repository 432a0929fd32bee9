// The rendered view of a Markdown file in the source browser: the default for .md files, with the
// source view (`?plain=1`, as on GitHub) one click away and a link back.
import { markdownHtml } from "./markdown";
import type { TrustedHtml } from "./trusted-html";

const MARKDOWN_NAME = /\.(?:md|markdown|mdown|mkd|mkdn)$/i;

/** Markdown files above this size are shown as source (rendering them would be slow and huge). */
const RENDER_MAX = 512 * 1024;

/** Whether the blob page of `name` shows it rendered (`plain` is the `?plain=1` switch). */
export function showsRendered(name: string, size: number, plain: boolean): boolean {
  return !plain && size <= RENDER_MAX && MARKDOWN_NAME.test(name);
}

/** The link that switches between the two views, or null for files that are not Markdown. */
export function viewSwitch(blobUrl: string, name: string, rendered: boolean): { label: string; href: string } | null {
  if (!MARKDOWN_NAME.test(name)) return null;
  return rendered ? { label: "Source", href: `${blobUrl}?plain=1` } : { label: "Rendered", href: blobUrl };
}

/** The file rendered, its relative links and images resolved against its folder at `commit`. */
export function renderedFile(project: string, commit: string, path: string[], text: string): TrustedHtml {
  return markdownHtml(text, undefined, { project, commit, dir: path.slice(0, -1) });
}
