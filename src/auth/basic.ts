// Credentials for git over HTTP and for the REST API: `Authorization: Basic base64(username:token)`
// (git's prompt: the API token is the password) and `Authorization: token <t>` / `Bearer <t>`.
// Parsing only: services/credentials.ts looks the credential up in the tenant's database.

export interface BasicCredential {
  username: string;
  password: string;
}

/** The username and password of a Basic Authorization header, or null if it is not one. */
export function parseBasicAuth(header: string | null | undefined): BasicCredential | null {
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? "");
  if (!match) return null;
  let decoded: string;
  try {
    const bytes = Uint8Array.from(atob(match[1]!.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The token of `Authorization: token <t>` or `Bearer <t>`, or null. */
export function parseTokenAuth(header: string | null | undefined): string | null {
  const match = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(header ?? "");
  return match ? match[1]! : null;
}
