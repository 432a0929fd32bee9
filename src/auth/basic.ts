// Credentials for git over HTTP and for the REST API: `Authorization: Basic base64(username:token)`
// (git's prompt: the API token is the password) and `Authorization: token <t>` / `Bearer <t>`.
import type { TenantDb } from "../db/tenant-db";
import { authenticateToken } from "../services/tokens";
import { loadViewer } from "../services/members";
import { usernameKey, type User } from "../services/users";
import type { Viewer } from "./access";

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

/** A credential's user and the Viewer it acts as (read-only tokens give a read-scoped Viewer). */
export interface Authenticated {
  user: User;
  viewer: Viewer;
}

async function fromToken(db: TenantDb, token: string, username?: string): Promise<Authenticated | null> {
  const found = await authenticateToken(db, token);
  if (!found) return null;
  // With Basic, the username must name the token's owner, as git users type it at the prompt.
  if (username !== undefined && usernameKey(username) !== found.user.usernameKey) return null;
  return { user: found.user, viewer: await loadViewer(db, found.user, found.scope) };
}

/**
 * Authenticates git's HTTP Basic credential `username:token` against this tenant's database.
 * Returns the Viewer to pass to canAccess, or null when the credential is wrong (not Basic,
 * unknown token, token of another user, deactivated user): answer 401 with
 * `WWW-Authenticate: Basic realm="..."`. Passwords are not accepted here, so git cannot be used
 * to guess them; tokens carry 256 random bits and are looked up by their SHA-256. A token of
 * another tenant is unknown here: each tenant's tokens live in its own database.
 */
export async function authenticateGitBasic(db: TenantDb, header: string | null | undefined): Promise<Viewer | null> {
  const credential = parseBasicAuth(header);
  if (!credential?.password) return null;
  return (await fromToken(db, credential.password, credential.username))?.viewer ?? null;
}

/**
 * The user and Viewer of an Authorization header: `token <t>`, `Bearer <t>` or git's Basic.
 * undefined when there is no header (anonymous, or a cookie decides); null when it is wrong.
 */
export async function authenticateAuthorization(
  db: TenantDb,
  header: string | null | undefined,
): Promise<Authenticated | null | undefined> {
  if (!header) return undefined;
  const basic = parseBasicAuth(header);
  if (basic) return basic.password ? fromToken(db, basic.password, basic.username) : null;
  const token = parseTokenAuth(header);
  return token ? fromToken(db, token) : null;
}
