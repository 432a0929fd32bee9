// API tokens: generated once, shown once, stored as a SHA-256 hash (they carry 256 bits of entropy).
import { base64url, randomBytes, sha256Hex } from "../utils/crypto";

export type TokenScope = "read" | "write";

/** The prefix lets secret scanners and people recognise an Edgeforge token. */
export const TOKEN_PREFIX = "efp_";

export function generateToken(): string {
  return TOKEN_PREFIX + base64url(randomBytes(32));
}

export const hashToken = (token: string): Promise<string> => sha256Hex(token);
