// Who an Authorization header acts for: its API token (or git's Basic `username:token`) looked
// up in this tenant's database (parsing is auth/basic.ts); for the REST API, Basic may also carry
// the account's password, as Gitea's clients send it.
import type { Viewer } from "../auth/access";
import { parseBasicAuth, parseTokenAuth } from "../auth/basic";
import type { TenantDb } from "../db/tenant-db";
import { signIn } from "./accounts";
import { loadViewer } from "./members";
import { authenticateToken } from "./tokens";
import { usernameKey, type User } from "./users";
import { ForgeError } from "../utils/errors";

/** A credential's user and the Viewer it acts as (read-only tokens give a read-scoped Viewer). */
export interface Authenticated {
  user: User;
  viewer: Viewer;
  /**
   * Authenticated by the account's password (Basic): a browser that was once given it sends it
   * by itself, like a cookie, so it does not exempt a request from the cross-site check.
   */
  byPassword?: true;
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
 * Basic `username:password` for the REST API: the sign-in's own check, with its rate limits per
 * client address and per account (so the API is no faster way to guess a password). A password
 * acts with the account's full rights, like a session. A refusal past the limits is thrown (429).
 */
async function fromPassword(db: TenantDb, basic: { username: string; password: string }, address: string) {
  try {
    const user = await signIn(db, { login: basic.username, password: basic.password, address });
    return { user, viewer: await loadViewer(db, user, "write"), byPassword: true as const };
  } catch (err) {
    if (err instanceof ForgeError && err.code === "rate_limited") throw err;
    return null;
  }
}

/**
 * The user and Viewer of an Authorization header: `token <t>`, `Bearer <t>` or Basic (a token as
 * the password, as git sends it; with `passwordsFrom`, the client's address, also the account's
 * password, which only the REST API accepts). undefined when there is no header (anonymous, or a
 * cookie decides); null when it is wrong.
 */
export async function authenticateAuthorization(
  db: TenantDb,
  header: string | null | undefined,
  opts: { passwordsFrom?: string } = {},
): Promise<Authenticated | null | undefined> {
  if (!header) return undefined;
  const basic = parseBasicAuth(header);
  if (basic) {
    if (!basic.password) return null;
    const byToken = await fromToken(db, basic.password, basic.username);
    if (byToken || opts.passwordsFrom === undefined) return byToken;
    return fromPassword(db, basic, opts.passwordsFrom);
  }
  const token = parseTokenAuth(header);
  return token ? fromToken(db, token) : null;
}
