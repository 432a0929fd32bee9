// The allowlist that rendered Markdown passes through: GitHub's subset of HTML, URLs checked after
// entity decoding, ids prefixed so they cannot clobber the page's own, relative URLs resolved.
import * as xss from "xss";
import type { IFilterXSSOptions } from "xss";

// xss is CommonJS whose exports some bundlers do not see as named ones: fall back to its default.
const FilterXSS = xss.FilterXSS ?? (xss as unknown as { default: typeof xss }).default.FilterXSS;

/** Where relative links and images in a file point: the folder of the file at one commit. */
export interface FileBase {
  project: string;
  /** Commit id (links and images are pinned to it, so a cached page never points elsewhere). */
  commit: string;
  /** Folder of the file, as path segments ([] for the root). */
  dir: string[];
}

/** Prefix of every id written by users (GitHub's): `#install` and `id="install"` both get it. */
export const USER_ID_PREFIX = "user-content-";

const GLOBAL = ["id", "title", "lang", "dir"];
const ALIGN = [...GLOBAL, "align"];
const CELL = [...ALIGN, "colspan", "rowspan"];
const plain = (tags: string) => Object.fromEntries(tags.split(" ").map((t) => [t, GLOBAL]));

const WHITE_LIST: Record<string, string[]> = {
  ...plain(
    "em strong b i u s del ins strike mark small code kbd samp var sup sub q cite abbr dfn tt br hr blockquote ul li dl dt dd summary picture caption thead tbody tfoot section figure figcaption ruby rt rp wbr",
  ),
  ...Object.fromEntries("p div h1 h2 h3 h4 h5 h6".split(" ").map((t) => [t, ALIGN])),
  a: [...GLOBAL, "href", "aria-hidden"],
  img: [...ALIGN, "src", "alt", "width", "height", "loading"],
  source: ["srcset", "media", "type", "width", "height", "sizes"],
  details: [...GLOBAL, "open"],
  ol: [...GLOBAL, "start", "type", "reversed"],
  table: ALIGN,
  tr: ALIGN,
  th: CELL,
  td: CELL,
  colgroup: ALIGN,
  col: [...ALIGN, "span"],
  pre: GLOBAL,
  span: GLOBAL,
  input: [],
};
// Classes come only from the renderer (task lists, footnotes, anchors, highlighted code): a user's
// `class="notice"` would borrow the forge's own look, so other names are dropped.
const CLASSES =
  /^(?:task-list-item(?:-checkbox)?|contains-task-list|footnotes(?:-sep|-list)?|footnote-(?:ref|backref|item)|heading-anchor|highlight|wiki-link|wiki-missing|[cnstkb]|language-[\w+-]+)$/;
for (const tags of ["a", "code", "pre", "span", "li", "ul", "ol", "section", "hr", "sup", "input"])
  WHITE_LIST[tags]!.push("class");

const escapeAttr = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

/**
 * The value a browser sees for an attribute, for the entities that matter in URLs. Other named
 * entities (`&colon;`, `&Tab;`) stay as text: the value is written back with `&` escaped, so the
 * browser sees exactly the string that was checked.
 */
function decodeEntities(s: string): string {
  return s.replace(/&(?:#(\d{1,7})|#[xX]([\da-fA-F]{1,6})|([a-zA-Z]+));?/g, (m, dec, hex, name) => {
    if (name !== undefined) return m.endsWith(";") && NAMED[name] !== undefined ? NAMED[name]! : m;
    const code = dec !== undefined ? Number(dec) : Number.parseInt(hex, 16);
    return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : "\ufffd";
  });
}

/** Images may be data: URLs of raster types only (an SVG document can carry script). */
const DATA_IMAGE = /^data:image\/(?:png|gif|jpe?g|webp|avif);/i;

const encodePath = (segments: string[]) => segments.map(encodeURIComponent).join("/");

/** A path relative to `dir` (or to the root when it starts with /), with . and .. applied; null if it climbs out. */
function joinPath(dir: string[], path: string): string[] | null {
  const out = path.startsWith("/") ? [] : [...dir];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (!out.length) return null;
      out.pop();
    } else out.push(seg);
  }
  return out;
}

function safeDecodeURI(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A relative URL of a file rendered at `base`: links to the source browser, images to raw files. */
function resolveRelative(url: string, base: FileBase, image: boolean): string {
  const m = /^([^?#]*)(\?[^#]*)?(#.*)?$/.exec(url)!;
  const [, rawPath = "", query = "", fragment = ""] = m;
  if (rawPath === "") return url;
  const segments = joinPath(base.dir, rawPath.split("/").map(safeDecodeURI).join("/")) ?? [];
  const view = image ? "raw" : rawPath.endsWith("/") || segments.length === 0 ? "tree" : "blob";
  const path = segments.length ? `/${encodePath(segments)}` : view === "tree" ? "/" : "";
  return `/p/${encodeURIComponent(base.project)}/source/${view}/${base.commit}${path}${image ? "" : query}${image ? "" : prefixFragment(fragment)}`;
}

// Line anchors of the source browser (#L10, #L3-L5) are the page's own and keep their name.
const prefixFragment = (fragment: string) =>
  fragment.length > 1 && !fragment.startsWith(`#${USER_ID_PREFIX}`) && !/^#L\d+(?:-L?\d+)?$/.test(fragment)
    ? `#${USER_ID_PREFIX}${fragment.slice(1)}`
    : fragment;

/**
 * A URL that is safe to put in the page, resolved against `base` when relative, or null. Schemes
 * are checked on the decoded value with whitespace and control characters removed (browsers drop
 * them: `java&#x09;script:` is `javascript:`).
 */
export function safeUrl(raw: string, kind: "link" | "image", base?: FileBase): string | null {
  const url = decodeEntities(raw).replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "");
  const squeezed = url.replace(/[\u0000-\u0020\u007f-\u009f]/g, "");
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(squeezed)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme === "http" || scheme === "https") return url;
    if (scheme === "mailto" && kind === "link") return url;
    if (scheme === "data" && kind === "image" && DATA_IMAGE.test(squeezed)) return url;
    return null;
  }
  // Something before a colon that is not a scheme (`a b:`) is a path to browsers, but refuse it.
  if (/^[^/?#]*:/.test(squeezed)) return null;
  if (url.startsWith("//")) return url;
  if (url.startsWith("#")) return prefixFragment(url);
  if (!base) return url;
  return resolveRelative(url, base, kind === "image");
}

/** A `srcset` with each candidate URL checked (and resolved); null if any is refused. */
function safeSrcset(raw: string, base?: FileBase): string | null {
  const out: string[] = [];
  for (const candidate of decodeEntities(raw).split(/,(?=\s)|,$/)) {
    const [url, ...descriptor] = candidate.trim().split(/\s+/);
    if (!url) continue;
    const safe = safeUrl(url, "image", base);
    if (safe === null || /[\s,]/.test(safe)) return null;
    out.push([safe, ...descriptor.filter((d) => /^\d+(?:\.\d+)?[wx]$/.test(d))].join(" "));
  }
  return out.length ? out.join(", ") : null;
}

function filterFor(base?: FileBase): xss.FilterXSS {
  const options: IFilterXSSOptions = {
    whiteList: WHITE_LIST,
    // Unknown tags are dropped (their text stays); script and style lose their content too.
    stripIgnoreTag: true,
    stripIgnoreTagBody: [
      "script",
      "style",
      "xmp",
      "noscript",
      "template",
      "iframe",
      "noembed",
      "noframes",
      "textarea",
      "title",
      "plaintext",
    ],
    allowCommentTag: false,
    // Text is already escaped by markdown-it; only stray angle brackets need it.
    escapeHtml: (s) => s.replace(/</g, "&lt;").replace(/>/g, "&gt;"),
    onTag(tag, html, info) {
      // Task-list checkboxes only, never enabled: a form control in a README has nowhere to post.
      if (tag === "input" && !info.isClosing) {
        return `<input type="checkbox" class="task-list-item-checkbox" disabled${/\schecked(?:[\s=/>]|$)/i.test(html) ? " checked" : ""}>`;
      }
      if (tag === "input") return "";
      return undefined;
    },
    safeAttrValue(_tag, name, value) {
      if (name === "href") return escapeAttr(safeUrl(value, "link", base) ?? "");
      if (name === "src") return escapeAttr(safeUrl(value, "image", base) ?? "");
      if (name === "srcset") return escapeAttr(safeSrcset(value, base) ?? "");
      const text = decodeEntities(value);
      if (name === "id") return escapeAttr(text.startsWith(USER_ID_PREFIX) ? text : `${USER_ID_PREFIX}${text}`);
      if (name === "class")
        return escapeAttr(
          text
            .split(/\s+/)
            .filter((c) => CLASSES.test(c))
            .join(" "),
        );
      if (name === "align") return /^(?:left|right|center|justify)$/i.test(text) ? text.toLowerCase() : "";
      if (name === "aria-hidden") return text === "true" ? "true" : "";
      if (["width", "height", "start", "colspan", "rowspan", "span"].includes(name))
        return /^\d{1,5}%?$/.test(text.trim()) ? text.trim() : "";
      return escapeAttr(text);
    },
  };
  return new FilterXSS(options);
}

const plainFilter = filterFor();

/** `html` reduced to the allowed subset; relative URLs resolved against `base` when given. */
export function sanitizeHtml(html: string, base?: FileBase): string {
  // Links written by users earn no ranking and get no handle on this page (rel from users is dropped).
  return (base ? filterFor(base) : plainFilter)
    .process(html)
    .replace(/<a (?=[^>]*\bhref="(?!#))/g, '<a rel="nofollow ugc noopener" ');
}
