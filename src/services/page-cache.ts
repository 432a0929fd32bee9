// Cache of rendered source pages addressed by object ids: what such a page shows never changes,
// so its HTML (the part below the header, the same for every viewer) is kept forever, in the
// isolate's memory and in the Cache API. Keys carry the host, tenant and repository: nothing is
// shared across forges. Callers check permissions before they ask.
import { edgeCache } from "../obs/edge-cache";
import { createHash } from "node:crypto";
import { stylesheetPath } from "../views/style";
import { SOURCE_HASH } from "../build-info";
import { edgeLru } from "../utils/edge-budget";

/**
 * Part of every key: a hash of the source (scripts/prebuild.ts), so that a build with any change
 * to the code that renders pages never serves pages rendered by an older one.
 */
const RENDER_VERSION = SOURCE_HASH;

/** Rendered fragments shared by the requests of an isolate. */
const memory = edgeLru<string, string>("services.page-bodies", (s) => s.length * 2 + 64);

export interface PageKey {
  origin: string;
  tenantId: string;
  repoId: string;
  /**
   * The repository's purge count: a purge removes objects, and nothing rendered from them before
   * it may be served after it (pages check reachability first too; this is the second lock).
   */
  purges: number;
  /** What the page is: view name, revision as shown, commit id, path, options... */
  parts: string[];
}

export function cacheUrl(key: PageKey): string {
  const digest = createHash("sha1").update(key.parts.join("\0")).digest("hex");
  return `${key.origin}/_cache/${RENDER_VERSION}/${stylesheetPath.slice(8, 22)}/${key.tenantId}/${key.repoId}/p${key.purges}/${key.parts[0]}/${digest}`;
}

/** A strong ETag for one viewer's rendering of a page (the header differs for signed-in users). */
export function pageEtag(url: string, viewer: string): string {
  return `"${createHash("sha1").update(`${url}\0${viewer}`).digest("hex").slice(0, 32)}"`;
}

export async function getFragment(url: string): Promise<string | null> {
  const hit = memory.get(url);
  if (hit !== undefined) return hit;
  const cache = edgeCache();
  if (!cache) return null;
  const res = await cache.match(url);
  if (!res) return null;
  const html = await res.text();
  memory.set(url, html);
  return html;
}

export async function putFragment(url: string, html: string): Promise<void> {
  memory.set(url, html);
  const cache = edgeCache();
  if (!cache) return;
  await cache.put(
    url,
    new Response(html, {
      headers: { "content-type": "text/html; charset=utf-8", "cache-control": "public, max-age=31536000, immutable" },
    }),
  );
}
