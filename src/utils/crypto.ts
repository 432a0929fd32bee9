// Random identifiers, token hashing and constant-time comparison (WebCrypto only).

const encoder = new TextEncoder();

export function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  crypto.getRandomValues(bytes);
  return bytes;
}

export function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function hex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (const b of view) s += b.toString(16).padStart(2, "0");
  return s;
}

const lowerAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A short random id such as `t9xk2m4q8p0a` (lowercase letters and digits, ~62 bits for 12 chars). */
export function randomId(length = 12): string {
  const bytes = randomBytes(length);
  let s = "";
  for (const b of bytes) s += lowerAlphabet[b % lowerAlphabet.length];
  return s;
}

export async function sha256Hex(input: string | Uint8Array): Promise<string> {
  const data = typeof input === "string" ? encoder.encode(input) : input;
  return hex(await crypto.subtle.digest("SHA-256", data));
}

/**
 * Compares two secrets in time that depends only on their hashes' length: both sides are hashed
 * first, so neither the position of the first difference nor the lengths leak through timing.
 */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  return bytesEqual(new Uint8Array(ha), new Uint8Array(hb));
}

/** Constant-time equality of two byte arrays of the same length (false, still in full time, otherwise). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  const n = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
