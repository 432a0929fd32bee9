// Who may use the platform host: the bearer admin token (API and CLI), or the signed cookie the
// operations page's sign-in form sets after checking the same token (browsers).
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv } from "../context";
import { signSession, verifySession, type SessionSecrets } from "../../auth/session";
import { constantTimeEqual, sha256Hex } from "../../utils/crypto";
import { jsonError } from "../api/responses";
import { sessionSecrets } from "../middleware/session";

export const ADMIN_COOKIE = "ef_admin";
/** An operator's sign-in lasts a working day. */
export const ADMIN_SESSION_SECONDS = 12 * 3600;

/** Checks a token against FORGE_ADMIN_TOKEN in constant time; false when none is configured. */
export async function isAdminToken(env: AppEnv["Bindings"], token: string): Promise<boolean> {
  const expected = env.FORGE_ADMIN_TOKEN;
  return !!expected && (await constantTimeEqual(token, expected));
}

/** Bearer admin token on every API route; 401 with a hint otherwise. */
export const requireAdminBearer: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = c.env.FORGE_ADMIN_TOKEN;
  if (!expected) return jsonError(c, 503, "unavailable", "the admin API has no token configured (FORGE_ADMIN_TOKEN)");
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
  if (!match) {
    c.header("WWW-Authenticate", 'Bearer realm="edgeforge-admin"');
    return jsonError(c, 401, "unauthorized", "send Authorization: Bearer <admin token>");
  }
  if (!(await constantTimeEqual(match[1]!, expected))) {
    c.header("WWW-Authenticate", 'Bearer realm="edgeforge-admin", error="invalid_token"');
    return jsonError(c, 401, "unauthorized", "wrong admin token");
  }
  return next();
};

/**
 * The cookie's signing scope: derived from the admin token, so rotating the token signs every
 * operator out, and distinct from every tenant id, so no tenant's cookie verifies here.
 */
async function scope(env: AppEnv["Bindings"]): Promise<{ secrets: SessionSecrets; id: string } | null> {
  const token = env.FORGE_ADMIN_TOKEN;
  if (!token) return null;
  const secrets = sessionSecrets(env) ?? { current: token };
  return { secrets, id: `platform-admin:${(await sha256Hex(token)).slice(0, 32)}` };
}

const secure = (c: Context) => (new URL(c.req.url).protocol === "https:" ? "; Secure" : "");

export async function adminSessionCookie(c: Context<AppEnv>): Promise<string> {
  const s = (await scope(c.env))!;
  const value = await signSession(s.secrets, { t: s.id, u: 0, n: "admin", e: 0 });
  return `${ADMIN_COOKIE}=${value}; Path=/admin; Max-Age=${ADMIN_SESSION_SECONDS}; HttpOnly; SameSite=Strict${secure(c)}`;
}

export const clearedAdminCookie = (c: Context) =>
  `${ADMIN_COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict${secure(c)}`;

/** Whether the request carries a valid, unexpired operator cookie. */
export async function hasAdminSession(c: Context<AppEnv>, now = Date.now()): Promise<boolean> {
  const raw = getCookie(c, ADMIN_COOKIE);
  const s = raw ? await scope(c.env) : null;
  if (!raw || !s) return false;
  const verified = await verifySession(s.secrets, s.id, raw, now);
  return !!verified && (verified.claims.iat + ADMIN_SESSION_SECONDS) * 1000 > now;
}

/** Operations pages: signed-in operators only; others go to the sign-in form, then back. */
export const requireAdminSession: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (await hasAdminSession(c)) return next();
  const url = new URL(c.req.url);
  return c.redirect(`/admin/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
};
