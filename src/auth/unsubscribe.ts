// Signed one-click unsubscribe tokens of notification mail (List-Unsubscribe): the link itself says
// who stops hearing of what, so it works without a session. HMAC-SHA256 with a key derived per
// tenant (HKDF, its own label) from FORGE_SESSION_SECRET; the previous secret still verifies.
import { base64url } from "../utils/crypto";
import type { SessionSecrets } from "./session";

/** Who stops hearing of which kind of event: a user (their preference) or a project's address. */
export type UnsubscribeClaims = { t: string; u: number; k: string } | { t: string; a: string; p: number; k: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function key(secret: string, tenantId: string): Promise<CryptoKey> {
  const ikm = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode("edgeforge unsubscribe v1"), info: encoder.encode(tenantId) },
    ikm,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign", "verify"],
  );
}

const fromBase64url = (s: string): Uint8Array =>
  Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/** `<payload>.<mac>`, both base64url. No expiry: a mail's unsubscribe link keeps working. */
export async function signUnsubscribe(secrets: SessionSecrets, claims: UnsubscribeClaims): Promise<string> {
  const body = base64url(encoder.encode(JSON.stringify(claims)));
  const mac = await crypto.subtle.sign("HMAC", await key(secrets.current, claims.t), encoder.encode(body));
  return `${body}.${base64url(new Uint8Array(mac))}`;
}

/** The claims of a token signed for this tenant (WebCrypto's verify compares in constant time), else null. */
export async function verifyUnsubscribe(
  secrets: SessionSecrets,
  tenantId: string,
  token: string,
): Promise<UnsubscribeClaims | null> {
  const [body, sig, extra] = token.split(".");
  if (!body || !sig || extra !== undefined || token.length > 2048) return null;
  let mac: Uint8Array;
  let claims: UnsubscribeClaims;
  try {
    mac = fromBase64url(sig);
    claims = JSON.parse(decoder.decode(fromBase64url(body))) as UnsubscribeClaims;
  } catch {
    return null;
  }
  let ok = false;
  for (const secret of [secrets.current, secrets.previous]) {
    if (!secret || ok) continue;
    ok = await crypto.subtle.verify("HMAC", await key(secret, tenantId), mac, encoder.encode(body));
  }
  if (!ok || !claims || claims.t !== tenantId || typeof claims.k !== "string") return null;
  if ("u" in claims) return typeof claims.u === "number" ? claims : null;
  return typeof claims.a === "string" && typeof claims.p === "number" ? claims : null;
}
