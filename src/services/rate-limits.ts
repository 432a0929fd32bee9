// Fixed-window counters in the tenant's database: login attempts per account and per address,
// password-reset and sign-up requests per address. Each hit is one atomic upsert.
import { eq, sql } from "drizzle-orm";
import type { TenantDb } from "../db/tenant-db";
import { rateLimits } from "../db/schema";

export interface Limit {
  /** Most hits allowed in one window. */
  max: number;
  windowMs: number;
}

export const LIMITS = {
  /** Sign-in attempts per account, counted before the password check; a success clears them. */
  loginAccount: { max: 10, windowMs: 15 * 60_000 },
  /** Sign-in attempts per client address (all accounts). */
  loginAddress: { max: 30, windowMs: 15 * 60_000 },
  /** Password-reset, confirmation and sign-up requests per address (each sends mail). */
  mailAddress: { max: 10, windowMs: 60 * 60_000 },
} satisfies Record<string, Limit>;

export interface LimitState {
  allowed: boolean;
  /** Seconds until the window ends (for Retry-After). */
  retryAfter: number;
}

function state(count: number, resetAt: number, limit: Limit, now: number): LimitState {
  return { allowed: count <= limit.max, retryAfter: Math.max(1, Math.ceil((resetAt - now) / 1000)) };
}

/** Counts one hit on `key` and says whether it is within the limit. */
export async function hit(db: TenantDb, key: string, limit: Limit, now = Date.now()): Promise<LimitState> {
  const resetAt = now + limit.windowMs;
  const [row] = await db
    .insert(rateLimits)
    .values({ key, count: 1, resetAt })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`CASE WHEN ${rateLimits.resetAt} <= ${now} THEN 1 ELSE ${rateLimits.count} + 1 END`,
        resetAt: sql`CASE WHEN ${rateLimits.resetAt} <= ${now} THEN ${resetAt} ELSE ${rateLimits.resetAt} END`,
      },
    })
    .returning();
  return state(row!.count, row!.resetAt, limit, now);
}

export async function reset(db: TenantDb, key: string): Promise<void> {
  await db.delete(rateLimits).where(eq(rateLimits.key, key));
}

export const limitKeys = {
  loginAccount: (usernameKey: string) => `login:user:${usernameKey}`,
  loginAddress: (address: string) => `login:addr:${address}`,
  mailAddress: (address: string) => `mail:addr:${address}`,
};
