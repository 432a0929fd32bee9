// Avatars: an uploaded picture in R2 under the tenant's prefix, or else a Gravatar-style image
// addressed by the SHA-256 of the primary email address.
import { eq } from "drizzle-orm";
import type { TenantDb } from "../db/tenant-db";
import { users } from "../db/schema";
import { r2Keys } from "../storage/keys";
import { hex } from "../utils/crypto";
import { ForgeError } from "../utils/errors";
import { emailKey, type User } from "./users";

export const AVATAR_MAX_BYTES = 256 * 1024;

const TYPES = [
  { ext: "png", type: "image/png", magic: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { ext: "jpg", type: "image/jpeg", magic: [0xff, 0xd8, 0xff] },
  { ext: "gif", type: "image/gif", magic: [0x47, 0x49, 0x46, 0x38] },
] as const;

/**
 * The picture's type from its first bytes (never from the name or the declared type). WebP is
 * RIFF....WEBP. SVG is refused: it can carry scripts.
 */
export function sniffImage(bytes: Uint8Array): { ext: string; type: string } | null {
  for (const t of TYPES) if (t.magic.every((b, i) => bytes[i] === b)) return { ext: t.ext, type: t.type };
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return { ext: "webp", type: "image/webp" };
  return null;
}

export async function gravatarHash(email: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(emailKey(email))));
}

export async function gravatarUrl(email: string, size = 160): Promise<string> {
  return `https://www.gravatar.com/avatar/${await gravatarHash(email)}?s=${size}&d=identicon`;
}

export async function setAvatar(bucket: R2Bucket, db: TenantDb, tenantId: string, user: User, bytes: Uint8Array): Promise<User> {
  if (bytes.length === 0) throw new ForgeError("bad_request", "Choose a picture to upload.");
  if (bytes.length > AVATAR_MAX_BYTES) {
    throw new ForgeError("payload_too_large", `An avatar is at most ${AVATAR_MAX_BYTES / 1024} KiB.`);
  }
  const kind = sniffImage(bytes);
  if (!kind) throw new ForgeError("unsupported_media_type", "An avatar is a PNG, JPEG, GIF or WebP picture.");
  const key = r2Keys.avatar(tenantId, user.id, hex(await crypto.subtle.digest("SHA-256", bytes)), kind.ext);
  await bucket.put(key, bytes, { httpMetadata: { contentType: kind.type } });
  const [updated] = await db.update(users).set({ avatarKey: key }).where(eq(users.id, user.id)).returning();
  if (user.avatarKey && user.avatarKey !== key) await bucket.delete(user.avatarKey);
  return updated!;
}

export async function removeAvatar(bucket: R2Bucket, db: TenantDb, user: User): Promise<void> {
  await db.update(users).set({ avatarKey: null }).where(eq(users.id, user.id));
  if (user.avatarKey) await bucket.delete(user.avatarKey);
}

/** The uploaded picture of a user, only if its key is under this tenant's prefix (belt and braces). */
export async function readAvatar(bucket: R2Bucket, tenantId: string, user: User): Promise<R2ObjectBody | null> {
  if (!user.avatarKey?.startsWith(r2Keys.avatarPrefix(tenantId, user.id))) return null;
  return bucket.get(user.avatarKey);
}
