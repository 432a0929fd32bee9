// Cross-site request checks: a state-changing request made by a browser must come from this site.
// Browsers send Sec-Fetch-Site and Origin on every such request; git, curl and API clients send
// neither and carry no ambient credentials (no cookies), so they pass.

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export const isSafeMethod = (method: string) => SAFE_METHODS.has(method.toUpperCase());

/** Why the request is cross-site, or null when it may change state. */
export function crossSiteReason(method: string, url: string, headers: Headers): string | null {
  if (isSafeMethod(method)) return null;
  const site = headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") return `Sec-Fetch-Site: ${site}`;
  const origin = headers.get("origin");
  if (origin !== null && origin !== new URL(url).origin) return `Origin: ${origin}`;
  return null;
}
