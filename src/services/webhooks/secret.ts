// A hook's signing secret at rest: it must be read back to sign each delivery, so it cannot be
// hashed; it is encrypted (AES-GCM) with a key derived from the platform secret
// (WEBHOOK_SECRET_KEY, else FORGE_SESSION_SECRET). Without either, it is stored as is (docs/deploy.md).
import type { Env } from "../../env";
import { ForgeError } from "../../utils/errors";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const platformSecret = (env: Env): string | undefined => {
  const s = (env.WEBHOOK_SECRET_KEY as string | undefined) || env.FORGE_SESSION_SECRET;
  return s || undefined;
};

const toB64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromB64 = (s: string) => Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));

async function keyOf(secret: string): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  // Its own derivation (info), so the key is unrelated to the session cookies' keys of the same secret.
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: encoder.encode("edgeforge webhook secrets v1") },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** The stored form of a hook secret ("" stays "": no secret, deliveries unsigned). */
export async function sealSecret(env: Env, plain: string): Promise<string> {
  if (plain === "") return "";
  const secret = platformSecret(env);
  if (!secret) return `plain:${plain}`;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await keyOf(secret), encoder.encode(plain));
  return `v1:${toB64(iv)}:${toB64(new Uint8Array(sealed))}`;
}

/** The secret to sign with; a ForgeError when the platform key changed since it was stored. */
export async function openSecret(env: Env, stored: string): Promise<string> {
  if (stored === "") return "";
  if (stored.startsWith("plain:")) return stored.slice(6);
  const [version, iv, data] = stored.split(":");
  const secret = platformSecret(env);
  if (version === "v1" && iv && data && secret) {
    try {
      const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromB64(iv) }, await keyOf(secret), fromB64(data));
      return decoder.decode(plain);
    } catch {
      // falls through: another key sealed it
    }
  }
  throw new ForgeError(
    "conflict",
    "The hook's secret can no longer be read (the platform's secret key changed): set the secret again on the hook's page.",
  );
}
