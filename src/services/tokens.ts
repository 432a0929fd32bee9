// Minting and checking API tokens of tenant users.
import { and, desc, eq, sql } from "drizzle-orm";
import type { TenantDb } from "../db/tenant-db";
import { apiTokens, users } from "../db/schema";
import { generateToken, hashToken, type TokenScope } from "../auth/tokens";
import type { User } from "./users";
import type { Viewer } from "../auth/access";
import { rolesQuery, viewerOf } from "./members";

export interface MintedToken {
  id: number;
  name: string;
  scope: TokenScope;
  token: string;
  createdAt: string;
}

/** Stores a token minted elsewhere (its hash only); used when the owner's token predates the database. */
export async function storeTokenHash(
  db: TenantDb,
  userId: number,
  name: string,
  tokenHash: string,
  scope: TokenScope,
): Promise<{ id: number; createdAt: string }> {
  const [row] = await db
    .insert(apiTokens)
    .values({ userId, name, tokenHash, scope })
    .onConflictDoNothing()
    .returning({ id: apiTokens.id, createdAt: apiTokens.createdAt });
  if (row) return row;
  const existing = await db.query.apiTokens.findFirst({ where: eq(apiTokens.tokenHash, tokenHash) });
  return { id: existing!.id, createdAt: existing!.createdAt };
}

export async function mintToken(db: TenantDb, user: User, name: string, scope: TokenScope): Promise<MintedToken> {
  const token = generateToken();
  const { id, createdAt } = await storeTokenHash(db, user.id, name, await hashToken(token), scope);
  return { id, name, scope, token, createdAt };
}

/**
 * The active user a token belongs to, with the token's scope and the Viewer it acts as; null for
 * unknown tokens. The token and its user's roles in one batch: one round trip.
 */
export async function authenticateToken(
  db: TenantDb,
  token: string,
): Promise<{ user: User; scope: TokenScope; viewer: Viewer } | null> {
  const tokenHash = await hashToken(token);
  const owner = sql`(SELECT ${apiTokens.userId} FROM ${apiTokens} WHERE ${apiTokens.tokenHash} = ${tokenHash})`;
  const [rows, roles] = await db.batch([
    db
      .select({ user: users, scope: apiTokens.scope })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(eq(apiTokens.tokenHash, tokenHash))
      .limit(1),
    rolesQuery(db, owner),
  ]);
  const row = rows[0];
  if (!row?.user.isActive) return null;
  const scope = row.scope as TokenScope;
  return { user: row.user, scope, viewer: viewerOf(row.user, roles, scope) };
}

export interface TokenInfo {
  id: number;
  name: string;
  scope: TokenScope;
  createdAt: string;
  lastUsedAt: string | null;
}

/** A user's tokens, newest first (never the tokens themselves: only their hashes are stored). */
export async function listTokens(db: TenantDb, userId: number): Promise<TokenInfo[]> {
  const rows = await db
    .select({
      id: apiTokens.id,
      name: apiTokens.name,
      scope: apiTokens.scope,
      createdAt: apiTokens.createdAt,
      lastUsedAt: apiTokens.lastUsedAt,
    })
    .from(apiTokens)
    .where(eq(apiTokens.userId, userId))
    .orderBy(desc(apiTokens.id));
  return rows.map((r) => ({ ...r, scope: r.scope as TokenScope }));
}

/** Revokes one of the user's own tokens; false when there is no such token of theirs. */
export async function revokeToken(db: TenantDb, userId: number, tokenId: number): Promise<boolean> {
  const deleted = await db
    .delete(apiTokens)
    .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, userId)))
    .returning({ id: apiTokens.id });
  return deleted.length > 0;
}
