// Who an Authorization header acts for: its API token (or git's Basic `username:token`) looked
// up in this tenant's database (parsing is auth/basic.ts).
import type { Viewer } from "../auth/access";
import { parseBasicAuth, parseTokenAuth } from "../auth/basic";
import type { TenantDb } from "../db/tenant-db";
import { authenticateToken } from "./tokens";
import { usernameKey, type User } from "./users";

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
  return { user: found.user, viewer: found.viewer };
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
