// Middleware of tenant hosts: who is asking (session cookie or API credential) and the
// cross-site check on every state-changing request.
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../context";
import { ANONYMOUS, type Viewer } from "../../auth/access";
import { authenticateAuthorization, type Authenticated } from "../../services/credentials";
import { crossSiteReason } from "../../auth/csrf";
import {
  SESSION_COOKIE,
  clearedSessionCookie,
  sessionCookie,
  signSession,
  verifySession,
  type SessionSecrets,
} from "../../auth/session";
import { findSessionViewer } from "../../services/members";
import type { User } from "../../services/users";
import { ForgeError } from "../../utils/errors";
import { runWithPageContext } from "../../views/page-context";

export function sessionSecrets(env: AppEnv["Bindings"]): SessionSecrets | null {
  if (!env.FORGE_SESSION_SECRET) return null;
  return { current: env.FORGE_SESSION_SECRET, previous: env.FORGE_SESSION_SECRET_PREVIOUS || undefined };
}

/**
 * Verifies the session cookie (HMAC) and runs the rest of the request with the page context the
 * layout reads. A cookie signed with the previous secret is re-signed. With a valid cookie, the
 * session's check against the database starts here, so that it overlaps the page's own queries
 * instead of coming before them (one round trip for a signed-in page, not two).
 */
export const sessionMiddleware: MiddlewareHandler<AppEnv> = async (c, next) => {
  const raw = getCookie(c, SESSION_COOKIE);
  const secrets = sessionSecrets(c.env);
  const verified = raw && secrets ? await verifySession(secrets, c.get("tenant").id, raw) : null;
  c.set("session", verified?.claims ?? null);
  const claims = verified?.claims;
  // Failures surface where a page awaits the identity; a request that never does ignores them.
  // A request with an Authorization header acts by it (apiIdentity): its cookie is not looked up.
  if (claims && !c.req.header("authorization")) webIdentity(c).catch(() => {});
  await runWithPageContext({ account: claims ? { username: claims.n, isAdmin: !!claims.a } : null, path: c.req.path }, () =>
    next(),
  );
  if (raw && !verified) c.header("Set-Cookie", clearedSessionCookie(), { append: true });
  if (verified?.stale && secrets && !c.res.headers.has("set-cookie")) {
    // Same sign-in (same id), so signing out still revokes the re-signed cookie.
    const { t, u, n, a, e, s } = verified.claims;
    c.header("Set-Cookie", sessionCookie(await signSession(secrets, { t, u, n, a, e, s })), { append: true });
  }
};

/**
 * The request's credential as an Authorization value: the header, or on the REST API (only there:
 * never pages or git) Gitea's `?token=` / `?access_token=`, which act exactly as `token <t>`.
 */
function authorizationOf(c: Context<AppEnv>): string | undefined {
  const header = c.req.header("authorization");
  if (header || !c.req.path.startsWith("/api/")) return header;
  const token = c.req.query("token") || c.req.query("access_token");
  return token ? `token ${token}` : undefined;
}

/** The request's credential (authorizationOf), checked once per request: undefined without one, null when wrong. */
function headerCredential(c: Context<AppEnv>): Promise<Authenticated | null | undefined> {
  let found = c.get("credential");
  if (!found) {
    // Passwords only on the REST API; git's Basic carries tokens alone (git-access.ts).
    const passwordsFrom = c.req.path.startsWith("/api/") ? (c.req.header("cf-connecting-ip") ?? "local") : undefined;
    found = authenticateAuthorization(c.get("db"), authorizationOf(c), { passwordsFrom });
    c.set("credential", found);
  }
  return found;
}

/** Refuses state-changing requests that a browser sent from another site. */
export const crossSiteGuard: MiddlewareHandler<AppEnv> = async (c, next) => {
  const reason = crossSiteReason(c.req.method, c.req.url, c.req.raw.headers);
  if (!reason) return next();
  // A valid token is no ambient credential: another site cannot have it, so its calls may come
  // from anywhere. Only a valid one: a junk header must not let a cookie through. The request
  // then acts by the token alone; the cookie it also carries is ignored. A password is no token:
  // browsers keep Basic passwords and send them on their own.
  const credential = authorizationOf(c) ? await headerCredential(c) : undefined;
  if (credential && !credential.byPassword) {
    c.set("session", null);
    c.set("identity", Promise.resolve({ user: null, viewer: ANONYMOUS }));
    return next();
  }
  c.get("meter").component = "web.csrf";
  throw new ForgeError(
    "forbidden",
    "Cross-site request refused: this form was sent from another site. Go back to this forge, reload the page and send it again.",
    { reason },
  );
};

interface Identity {
  user: User | null;
  viewer: Viewer;
}

/**
 * The signed-in user behind the session cookie, checked against the database (still active, not
 * signed out everywhere since, this session not signed out), with their roles: one batch. Started
 * by sessionMiddleware for every request with a valid cookie and no Authorization header, once;
 * requests without a cookie never query.
 */
async function identityFromSession(c: Context<AppEnv>): Promise<Identity> {
  const claims = c.get("session");
  if (!claims) return { user: null, viewer: ANONYMOUS };
  const found = await findSessionViewer(c.get("db"), claims.u, claims.s ?? null);
  const user = found?.user;
  if (!user || found.revoked || !user.isActive || user.sessionEpoch !== claims.e) {
    c.set("session", null);
    c.header("Set-Cookie", clearedSessionCookie(), { append: true });
    return { user: null, viewer: ANONYMOUS };
  }
  return { user, viewer: found.viewer };
}

/** Who a web page is shown to. */
export function webIdentity(c: Context<AppEnv>): Promise<Identity> {
  let identity = c.get("identity");
  if (!identity) {
    identity = identityFromSession(c);
    c.set("identity", identity);
  }
  return identity;
}

export const webViewer = async (c: Context<AppEnv>): Promise<Viewer> => (await webIdentity(c)).viewer;

/**
 * Who an API request acts for: its Authorization header (token, Bearer, Basic with a token or the
 * password) or `?token=` / `?access_token=` when it has one, else the session cookie. A wrong
 * credential is an error, never a silent fall-back to anonymous.
 */
export async function apiIdentity(c: Context<AppEnv>): Promise<Identity> {
  if (!authorizationOf(c)) return webIdentity(c);
  const found = await headerCredential(c);
  if (!found) {
    c.header("WWW-Authenticate", 'token realm="edgeforge", Basic realm="edgeforge"');
    throw new ForgeError(
      "unauthorized",
      "Bad credentials: send Authorization: token <API token> (or Bearer, Basic, ?token=, ?access_token=).",
    );
  }
  return found;
}
