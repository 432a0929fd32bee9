// The web UI's stylesheet (style.css: system fonts, light and dark schemes, usable at 320 px) and the
// content-hashed URLs of static assets.
import minified from "./style.min.css";

/**
 * The one stylesheet of the web UI, minified: scripts/prebuild.ts, which every build runs first,
 * writes style.min.css from style.css, and the bundlers import it as text.
 */
export const stylesheet: string = minified;

/**
 * The URL of a static asset, named by the FNV-1a hash of its content so that it changes whenever
 * the content does and can be cached forever.
 */
export function staticPath(name: string, ext: string, content: string): string {
  return `/static/${name}.${fnv1a(content)}.${ext}`;
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

export const stylesheetPath = staticPath("style", "css", stylesheet);
