// Signed session cookies: the cookie itself says who is signed in, so a page view reads no session row.
// HMAC-SHA256 with a key derived per tenant (HKDF) from FORGE_SESSION_SECRET; cookies signed with
// FORGE_SESSION_SECRET_PREVIOUS still verify, so the secret can rotate without signing anyone out.
import { base64url, bytesEqual, randomBytes } from "../utils/crypto";

export const SESSION_COOKIE = "ef_session";
/** How long a sign-in lasts. */
export const SESSION_TTL_SECONDS = 30 * 24 * 3600;

export interface SessionClaims {
  /** Tenant id: a cookie is only ever valid on the tenant that issued it. */
  t: string;
  /** User id and username (for the page header, without a query). */
  u: number;
  n: string;
  /** Tenant admin when signed in: only for showing the Admin link; admin pages check the database. */
  a?: boolean;
  /** The user's session epoch when signed in; bumping it signs out every session (users.session_epoch). */
  e: number;
  /**
   * This sign-in's id (random): signing out revokes it by id (revoked_sessions), so a copy of the
   * cookie stops working too. Cookies issued before ids existed lack it.
   */
  s?: string;
  /** Issued at and expiry, seconds since the epoch. */
  iat: number;
  exp: number;
}

export interface SessionSecrets {
  current: string;
  previous?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Derived keys, per isolate: (secret, tenant) -> HMAC key. Bounded, oldest dropped first. Shared
 * across requests unlike other work in flight (utils/request-scope.ts): the derivation is Web
 * Crypto with no I/O, so it settles in the request that started it and cannot be left pending.
 */
const keyCache = new Map<string, Promise<CryptoKey>>();
const KEY_CACHE_MAX = 1_000;

function tenantKey(secret: string, tenantId: string): Promise<CryptoKey> {
  const cacheKey = `${tenantId}\u0000${secret}`;
  let key = keyCache.get(cacheKey);
  if (!key) {
    key = (async () => {
      const ikm = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: encoder.encode("edgeforge session v1"), info: encoder.encode(tenantId) },
        ikm,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
    })();
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(cacheKey, key);
  }
  return key;
}

async function mac(secret: string, tenantId: string, data: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await tenantKey(secret, tenantId), encoder.encode(data)));
}

const fromBase64url = (s: string): Uint8Array =>
  Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/** A new sign-in's id: 128 random bits. */
export const newSessionId = (): string => base64url(randomBytes(16));

/** `v1.<payload>.<mac>`, both base64url; the MAC covers the version and the payload. */
export async function signSession(
  secrets: SessionSecrets,
  claims: Omit<SessionClaims, "iat" | "exp">,
  now = Date.now(),
): Promise<string> {
  const iat = Math.floor(now / 1000);
  const full: SessionClaims = { ...claims, iat, exp: iat + SESSION_TTL_SECONDS };
  const body = `v1.${base64url(encoder.encode(JSON.stringify(full)))}`;
  return `${body}.${base64url(await mac(secrets.current, claims.t, body))}`;
}

export interface VerifiedSession {
  claims: SessionClaims;
  /** True when only the previous secret verified it: the caller should re-issue it. */
  stale: boolean;
}

/** The claims of a cookie value if it is well-formed, signed for this tenant, and not expired. */
export async function verifySession(
  secrets: SessionSecrets,
  tenantId: string,
  value: string,
  now = Date.now(),
): Promise<VerifiedSession | null> {
  const parts = value.split(".");
  if (parts.length !== 3 || parts[0] !== "v1" || !parts[1] || !parts[2]) return null;
  const body = `${parts[0]}.${parts[1]}`;
  let given: Uint8Array;
  try {
    given = fromBase64url(parts[2]);
  } catch {
    return null;
  }
  let stale = false;
  if (!bytesEqual(given, await mac(secrets.current, tenantId, body))) {
    if (!secrets.previous || !bytesEqual(given, await mac(secrets.previous, tenantId, body))) return null;
    stale = true;
  }
  let claims: SessionClaims;
  try {
    claims = JSON.parse(decoder.decode(fromBase64url(parts[1]))) as SessionClaims;
  } catch {
    return null;
  }
  if (claims.t !== tenantId || typeof claims.u !== "number" || typeof claims.exp !== "number") return null;
  if (claims.s !== undefined && typeof claims.s !== "string") return null;
  if (claims.exp * 1000 <= now) return null;
  return { claims, stale };
}

/** Set-Cookie value. `Secure` also works on http://*.localhost: browsers treat it as a secure context. */
export function sessionCookie(value: string): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${SESSION_TTL_SECONDS}; HttpOnly; Secure; SameSite=Lax`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax`;
}
