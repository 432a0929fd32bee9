// Tenant user accounts.
import { asc, eq, sql } from "drizzle-orm";
import type { TenantDb } from "../db/tenant-db";
import { userEmails, users } from "../db/schema";
import { conflict, notFound } from "../utils/errors";

export type User = typeof users.$inferSelect;

export const usernameKey = (username: string) => username.toLowerCase();
export const emailKey = (email: string) => email.trim().toLowerCase();

export async function findUserByName(db: TenantDb, username: string): Promise<User | undefined> {
  return db.query.users.findFirst({ where: eq(users.usernameKey, usernameKey(username)) });
}

export async function findUserById(db: TenantDb, id: number): Promise<User | undefined> {
  return db.query.users.findFirst({ where: eq(users.id, id) });
}

export async function getUserByName(db: TenantDb, username: string): Promise<User> {
  const user = await findUserByName(db, username);
  if (!user) throw notFound(`user ${username}`);
  return user;
}

/**
 * The user an address belongs to: their primary address, or a confirmed secondary one (how commit
 * authors are matched to accounts).
 */
export async function findUserByEmail(db: TenantDb, email: string): Promise<User | undefined> {
  const key = emailKey(email);
  const [secondary] = await db
    .select({ user: users })
    .from(userEmails)
    .innerJoin(users, eq(users.id, userEmails.userId))
    .where(sql`${userEmails.emailKey} = ${key} AND ${userEmails.confirmedAt} IS NOT NULL`)
    .limit(1);
  if (secondary) return secondary.user;
  return db.query.users.findFirst({ where: sql`lower(${users.email}) = ${key}`, orderBy: asc(users.id) });
}

export interface NewUser {
  username: string;
  email: string;
  passwordHash?: string | null;
  isAdmin?: boolean;
  /** Set when the address is known to be right (an owner created by the platform admin). */
  emailConfirmed?: boolean;
}

export async function createUser(db: TenantDb, input: NewUser): Promise<User> {
  const [row] = await db
    .insert(users)
    .values({
      username: input.username,
      usernameKey: usernameKey(input.username),
      email: input.email,
      passwordHash: input.passwordHash ?? null,
      isAdmin: input.isAdmin ?? false,
      emailConfirmedAt: input.emailConfirmed ? new Date().toISOString() : null,
    })
    .onConflictDoNothing()
    .returning();
  if (!row) throw conflict(`user ${input.username} already exists`);
  return row;
}

export async function listUsers(
  db: TenantDb,
  opts: { offset?: number; limit?: number } = {},
): Promise<{ items: User[]; total: number }> {
  const [items, [count]] = await Promise.all([
    db.query.users.findMany({ orderBy: asc(users.usernameKey), offset: opts.offset ?? 0, limit: opts.limit ?? 100 }),
    db.select({ n: sql<number>`count(*)` }).from(users),
  ]);
  return { items, total: count?.n ?? 0 };
}
