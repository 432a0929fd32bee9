// Tenant user accounts.
import { eq } from "drizzle-orm";
import type { TenantDb } from "../db/tenant-db";
import { users } from "../db/schema";
import { conflict, notFound } from "../utils/errors";

export type User = typeof users.$inferSelect;

export const usernameKey = (username: string) => username.toLowerCase();

export async function findUserByName(db: TenantDb, username: string): Promise<User | undefined> {
  return db.query.users.findFirst({ where: eq(users.usernameKey, usernameKey(username)) });
}

export async function getUserByName(db: TenantDb, username: string): Promise<User> {
  const user = await findUserByName(db, username);
  if (!user) throw notFound(`user ${username}`);
  return user;
}

export interface NewUser {
  username: string;
  email: string;
  passwordHash?: string | null;
  isAdmin?: boolean;
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
    })
    .onConflictDoNothing()
    .returning();
  if (!row) throw conflict(`user ${input.username} already exists`);
  return row;
}
