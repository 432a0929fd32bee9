// Feed tokens: a feed reader has no session, so a user's feeds URLs carry ?token=<feed token>.
// One per user, random, shown once; only its SHA-256 is stored. It grants reading feeds only.
import { eq } from "drizzle-orm";
import type { TenantDb } from "../db/tenant-db";
import { feedTokens, users } from "../db/schema";
import { base64url, randomBytes, sha256Hex } from "../utils/crypto";
import type { User } from "./users";

/** Recognisable, and distinct from API tokens (efp_), which must never be pasted into a URL. */
export const FEED_TOKEN_PREFIX = "eff_";

/** A new feed token for the user, replacing the old one (which stops working at once). */
export async function resetFeedToken(db: TenantDb, userId: number): Promise<string> {
  const token = FEED_TOKEN_PREFIX + base64url(randomBytes(32));
  const tokenHash = await sha256Hex(token);
  await db
    .insert(feedTokens)
    .values({ userId, tokenHash })
    .onConflictDoUpdate({ target: feedTokens.userId, set: { tokenHash, createdAt: new Date().toISOString() } });
  return token;
}

/** When the user's current feed token was made; null if they have none. */
export async function feedTokenCreated(db: TenantDb, userId: number): Promise<string | null> {
  const row = await db.query.feedTokens.findFirst({ where: eq(feedTokens.userId, userId) });
  return row?.createdAt ?? null;
}

/** The active user a feed token belongs to; null for an unknown token (looked up by its hash). */
export async function feedTokenUser(db: TenantDb, token: string): Promise<User | null> {
  if (!token.startsWith(FEED_TOKEN_PREFIX) || token.length > 100) return null;
  const rows = await db
    .select({ user: users })
    .from(feedTokens)
    .innerJoin(users, eq(users.id, feedTokens.userId))
    .where(eq(feedTokens.tokenHash, await sha256Hex(token)))
    .limit(1);
  const user = rows[0]?.user;
  return user?.isActive ? user : null;
}
