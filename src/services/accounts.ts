// Account use-cases of a forge's users: sign-up, sign-in with rate limits, address confirmation,
// password reset and change, profile, secondary addresses, activation and admin rights.
import { and, asc, eq, isNull, lt, sql } from "drizzle-orm";
import type { Env } from "../env";
import type { TenantDb } from "../db/tenant-db";
import { accountTokens, revokedSessions, userEmails, users } from "../db/schema";
import { hashPassword, verifyPassword } from "../auth/password";
import { base64url, randomBytes, sha256Hex } from "../utils/crypto";
import { ForgeError, badRequest, conflict, notFound } from "../utils/errors";
import { sendMail } from "./outbox";
import { LIMITS, hit, limitKeys, reset } from "./rate-limits";
import { getSettings } from "./settings";
import { USERNAME } from "./tenants";
import { createUser, emailKey, findUserByEmail, findUserById, findUserByName, usernameKey, type User } from "./users";

export const EMAIL = /^[^\s@<>"'(),;:\\[\]]+@[^\s@<>"'(),;:\\[\]]+\.[^\s@<>"'(),;:\\[\]]+$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 200;
const CONFIRM_TTL_MS = 7 * 24 * 3600_000;
const RESET_TTL_MS = 3600_000;

interface Tenant {
  id: string;
  name: string;
}

/** Where links in mail point: the origin the request came to (one of the tenant's own hosts). */
export interface MailContext {
  env: Env;
  tenant: Tenant;
  origin: string;
}

export function checkUsername(username: string): string {
  if (!USERNAME.test(username)) {
    throw badRequest("A username has 1 to 40 letters, digits, '.', '_' or '-', and starts and ends with a letter or digit.");
  }
  return username;
}

export function checkEmail(email: string): string {
  const e = email.trim();
  if (e.length > 254 || !EMAIL.test(e)) throw badRequest(`"${e}" is not an email address.`);
  return e;
}

export function checkPassword(password: string): string {
  if (password.length < PASSWORD_MIN) throw badRequest(`A password has at least ${PASSWORD_MIN} characters.`);
  if (password.length > PASSWORD_MAX) throw badRequest(`A password has at most ${PASSWORD_MAX} characters.`);
  return password;
}

export function checkDisplayName(name: string): string {
  // Control characters (and bidi overrides) only ever serve to confuse readers of a name.
  const clean = name.replace(/[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, "").trim();
  if (clean.length > 100) throw badRequest("A display name has at most 100 characters.");
  return clean;
}

async function addressTaken(db: TenantDb, email: string, exceptUserId?: number): Promise<boolean> {
  const owner = await findUserByEmail(db, email);
  return !!owner && owner.id !== exceptUserId;
}

// ---------------------------------------------------------------------------------------------
// One-use links

async function issueLink(db: TenantDb, userId: number, purpose: "confirm" | "reset", email: string, ttlMs: number) {
  const token = base64url(randomBytes(32));
  await db.insert(accountTokens).values({
    tokenHash: await sha256Hex(token),
    userId,
    purpose,
    email,
    expiresAt: new Date(Date.now() + ttlMs).toISOString(),
  });
  return token;
}

/** The unexpired, unused link behind `token`, or null. Looked up by hash (no comparison to time). */
async function findLink(db: TenantDb, token: string, purpose: "confirm" | "reset") {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const row = await db.query.accountTokens.findFirst({
    where: and(eq(accountTokens.tokenHash, await sha256Hex(token)), eq(accountTokens.purpose, purpose)),
  });
  if (!row || row.usedAt || row.expiresAt <= new Date().toISOString()) return null;
  return row;
}

async function useLink(db: TenantDb, tokenHash: string): Promise<boolean> {
  const used = await db
    .update(accountTokens)
    .set({ usedAt: new Date().toISOString() })
    .where(and(eq(accountTokens.tokenHash, tokenHash), isNull(accountTokens.usedAt)))
    .returning({ h: accountTokens.tokenHash });
  return used.length > 0;
}

export async function sendConfirmation(mail: MailContext, db: TenantDb, user: User, email: string): Promise<void> {
  const token = await issueLink(db, user.id, "confirm", email, CONFIRM_TTL_MS);
  await sendMail(mail.env, db, mail.tenant, {
    to: email,
    subject: "Confirm your email address",
    text: `Hello ${user.username},\n\nconfirm that ${email} is yours on ${mail.tenant.name}:\n${mail.origin}/account/confirm/${token}\n\nThe link works for 7 days. If you did not ask for this, ignore this message.\n`,
  });
}

/** Who a confirmation link is for, to show before confirming (GET never changes anything). */
export async function peekConfirmation(db: TenantDb, token: string): Promise<{ email: string; username: string } | null> {
  const link = await findLink(db, token, "confirm");
  const user = link && (await findUserById(db, link.userId));
  return link && user ? { email: link.email ?? user.email, username: user.username } : null;
}

export async function confirmEmail(db: TenantDb, token: string): Promise<{ email: string; user: User }> {
  const link = await findLink(db, token, "confirm");
  const user = link && (await findUserById(db, link.userId));
  if (!link || !user || !(await useLink(db, link.tokenHash))) {
    throw new ForgeError("gone", "This confirmation link is unknown, used or expired. Ask for a new one from your account page.");
  }
  const email = link.email ?? user.email;
  const now = new Date().toISOString();
  if (emailKey(email) === emailKey(user.email)) {
    await db.update(users).set({ emailConfirmedAt: now }).where(eq(users.id, user.id));
  } else {
    if (await addressTaken(db, email, user.id)) throw conflict(`${email} already belongs to another account.`);
    await db
      .update(userEmails)
      .set({ confirmedAt: now })
      .where(and(eq(userEmails.userId, user.id), eq(userEmails.emailKey, emailKey(email))));
  }
  return { email, user };
}

// ---------------------------------------------------------------------------------------------
// Sign-up and sign-in

export interface Registration {
  username: string;
  email: string;
  password: string;
  /** Client address, for the sign-up rate limit. */
  address: string;
}

export async function register(mail: MailContext, db: TenantDb, input: Registration): Promise<User> {
  const settings = await getSettings(db);
  if (settings.registration !== "open") {
    throw new ForgeError("forbidden", "This forge does not take new accounts; ask one of its admins to add you.");
  }
  const username = checkUsername(input.username.trim());
  const email = checkEmail(input.email);
  checkPassword(input.password);
  if (await findUserByName(db, username)) throw conflict(`The username ${username} is taken.`);
  if (await addressTaken(db, email)) throw conflict(`${email} already belongs to an account; reset its password instead.`);
  const limit = await hit(db, limitKeys.mailAddress(input.address), LIMITS.mailAddress);
  if (!limit.allowed) throw rateLimited(limit.retryAfter);
  const user = await createUser(db, { username, email, passwordHash: await hashPassword(input.password) });
  await sendConfirmation(mail, db, user, email);
  return user;
}

/** A user an admin adds (closed registration): no password; they get a link to choose one. */
export async function addUserByAdmin(mail: MailContext, db: TenantDb, input: { username: string; email: string }): Promise<User> {
  const username = checkUsername(input.username.trim());
  const email = checkEmail(input.email);
  if (await findUserByName(db, username)) throw conflict(`The username ${username} is taken.`);
  if (await addressTaken(db, email)) throw conflict(`${email} already belongs to an account.`);
  const user = await createUser(db, { username, email });
  const token = await issueLink(db, user.id, "reset", email, CONFIRM_TTL_MS);
  await sendMail(mail.env, db, mail.tenant, {
    to: email,
    subject: "Your new account",
    text: `Hello ${username},\n\nan admin of ${mail.tenant.name} made you an account. Choose your password here:\n${mail.origin}/account/reset/${token}\n\nThe link works for 7 days.\n`,
  });
  return user;
}

export function rateLimited(retryAfter: number): ForgeError {
  const minutes = Math.ceil(retryAfter / 60);
  return new ForgeError("rate_limited", `Too many attempts. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`, {
    retryAfter,
  });
}

/**
 * A well-formed hash that no password matches, to verify against when there is no such user (or
 * no password): a miss then costs one PBKDF2 run, like a wrong password.
 */
const DECOY_HASH = `pbkdf2-sha256$100000$${"A".repeat(22)}$${"A".repeat(43)}`;

/**
 * Checks a username (or primary address) and password. Counts every attempt per client address
 * and per account (a success clears the account's count, so it limits failures); past either
 * limit it answers rate_limited before hashing anything.
 * Unknown users cost one PBKDF2 run like known ones, and get the same answer as a wrong password.
 */
export async function signIn(db: TenantDb, input: { login: string; password: string; address: string }): Promise<User> {
  const login = input.login.trim();
  const byAddress = await hit(db, limitKeys.loginAddress(input.address), LIMITS.loginAddress);
  if (!byAddress.allowed) throw rateLimited(byAddress.retryAfter);
  // Counted before the password is checked, in the one statement that also reads the count:
  // looking first and counting after a failure let concurrent tries all pass the look.
  const accountKey = limitKeys.loginAccount(usernameKey(login));
  const byAccount = await hit(db, accountKey, LIMITS.loginAccount);
  if (!byAccount.allowed) throw rateLimited(byAccount.retryAfter);
  const user = login.includes("@") ? await findUserByEmail(db, login) : await findUserByName(db, login);
  const ok = await verifyPassword(input.password.slice(0, PASSWORD_MAX), user?.passwordHash ?? DECOY_HASH);
  if (!ok || !user?.passwordHash) throw new ForgeError("unauthorized", "Wrong username or password.");
  if (!user.isActive) throw new ForgeError("forbidden", "This account is deactivated. Ask an admin of this forge.");
  await reset(db, accountKey);
  return user;
}

// ---------------------------------------------------------------------------------------------
// Passwords

export async function requestPasswordReset(
  mail: MailContext,
  db: TenantDb,
  input: { login: string; address: string },
): Promise<void> {
  const limit = await hit(db, limitKeys.mailAddress(input.address), LIMITS.mailAddress);
  if (!limit.allowed) throw rateLimited(limit.retryAfter);
  const login = input.login.trim();
  const user = login.includes("@") ? await findUserByEmail(db, login) : await findUserByName(db, login);
  // The answer is the same whether or not an account matched: no way to probe for accounts.
  if (!user?.isActive) return;
  const token = await issueLink(db, user.id, "reset", user.email, RESET_TTL_MS);
  await sendMail(mail.env, db, mail.tenant, {
    to: user.email,
    subject: "Reset your password",
    text: `Hello ${user.username},\n\nsomeone (hopefully you) asked to reset your password on ${mail.tenant.name}. Choose a new one here:\n${mail.origin}/account/reset/${token}\n\nThe link works for one hour. If you did not ask for this, ignore this message.\n`,
  });
}

export async function peekReset(db: TenantDb, token: string): Promise<{ username: string } | null> {
  const link = await findLink(db, token, "reset");
  const user = link && (await findUserById(db, link.userId));
  return user?.isActive ? { username: user.username } : null;
}

/** Sets the password from a reset link; signs out every other session; the mail proved the address. */
export async function resetPassword(db: TenantDb, token: string, password: string): Promise<User> {
  checkPassword(password);
  const link = await findLink(db, token, "reset");
  const user = link && (await findUserById(db, link.userId));
  if (!link || !user?.isActive || !(await useLink(db, link.tokenHash))) {
    throw new ForgeError("gone", "This reset link is unknown, used or expired. Ask for a new one.");
  }
  const confirmsPrimary = emailKey(link.email ?? "") === emailKey(user.email);
  const [updated] = await db
    .update(users)
    .set({
      passwordHash: await hashPassword(password),
      sessionEpoch: sql`${users.sessionEpoch} + 1`,
      ...(confirmsPrimary && !user.emailConfirmedAt ? { emailConfirmedAt: new Date().toISOString() } : {}),
    })
    .where(eq(users.id, user.id))
    .returning();
  return updated!;
}

export async function changePassword(db: TenantDb, user: User, current: string, next: string): Promise<User> {
  checkPassword(next);
  if (!user.passwordHash || !(await verifyPassword(current.slice(0, PASSWORD_MAX), user.passwordHash))) {
    throw new ForgeError("forbidden", "The current password is wrong.");
  }
  const [updated] = await db
    .update(users)
    .set({ passwordHash: await hashPassword(next), sessionEpoch: sql`${users.sessionEpoch} + 1` })
    .where(eq(users.id, user.id))
    .returning();
  return updated!;
}

// ---------------------------------------------------------------------------------------------
// Profile and addresses

export async function updateProfile(
  mail: MailContext,
  db: TenantDb,
  user: User,
  patch: { displayName?: string; email?: string },
): Promise<User> {
  const displayName = patch.displayName !== undefined ? checkDisplayName(patch.displayName) : undefined;
  const email = patch.email !== undefined ? checkEmail(patch.email) : undefined;
  const emailChanged = email !== undefined && emailKey(email) !== emailKey(user.email);
  if (emailChanged && (await addressTaken(db, email, user.id))) throw conflict(`${email} already belongs to another account.`);
  const [updated] = await db
    .update(users)
    .set({
      ...(displayName !== undefined ? { displayName: displayName || null } : {}),
      ...(emailChanged ? { email, emailConfirmedAt: null } : {}),
    })
    .where(eq(users.id, user.id))
    .returning();
  if (emailChanged) await sendConfirmation(mail, db, updated!, email);
  return updated!;
}

export type UserEmail = typeof userEmails.$inferSelect;

export async function listEmails(db: TenantDb, userId: number): Promise<UserEmail[]> {
  return db.query.userEmails.findMany({ where: eq(userEmails.userId, userId), orderBy: asc(userEmails.id) });
}

export async function addEmail(mail: MailContext, db: TenantDb, user: User, address: string): Promise<UserEmail> {
  const email = checkEmail(address);
  if (emailKey(email) === emailKey(user.email)) throw conflict("That is already your primary address.");
  if ((await listEmails(db, user.id)).length >= 20) throw badRequest("An account has at most 20 extra addresses.");
  if (await addressTaken(db, email, user.id)) throw conflict(`${email} already belongs to another account.`);
  const [row] = await db
    .insert(userEmails)
    .values({ userId: user.id, email, emailKey: emailKey(email) })
    .onConflictDoNothing()
    .returning();
  // Someone else added it without confirming: the address stays with whoever confirms first.
  if (!row) throw conflict(`${email} is waiting for confirmation on another account or yours.`);
  await sendConfirmation(mail, db, user, email);
  return row;
}

export async function removeEmail(db: TenantDb, userId: number, emailId: number): Promise<void> {
  const deleted = await db
    .delete(userEmails)
    .where(and(eq(userEmails.id, emailId), eq(userEmails.userId, userId)))
    .returning({ id: userEmails.id });
  if (deleted.length === 0) throw notFound("address");
}

// ---------------------------------------------------------------------------------------------
// Administration

/** Activates or deactivates an account; deactivating signs it out everywhere and its tokens stop working. */
export async function setActive(db: TenantDb, actor: User, userId: number, active: boolean): Promise<User> {
  if (actor.id === userId && !active) throw badRequest("You cannot deactivate your own account.");
  const [row] = await db
    .update(users)
    .set({ isActive: active, ...(active ? {} : { sessionEpoch: sql`${users.sessionEpoch} + 1` }) })
    .where(eq(users.id, userId))
    .returning();
  if (!row) throw notFound("user");
  return row;
}

export async function setAdmin(db: TenantDb, actor: User, userId: number, admin: boolean): Promise<User> {
  if (actor.id === userId && !admin) throw badRequest("You cannot remove your own admin rights; ask another admin.");
  const [row] = await db.update(users).set({ isAdmin: admin }).where(eq(users.id, userId)).returning();
  if (!row) throw notFound("user");
  return row;
}

/**
 * Ends one sign-in for good: its id is revoked until the cookie would expire, so a copy of the
 * cookie stops working too. Expired revocations go in the same batch (they are never needed again).
 * A cookie without an id (issued before ids) can only be ended with every other one.
 */
export async function signOut(
  db: TenantDb,
  session: { userId: number; id?: string; expiresAt: number },
  now = Date.now(),
): Promise<void> {
  if (!session.id) return signOutEverywhere(db, session.userId);
  await db.batch([
    db.delete(revokedSessions).where(lt(revokedSessions.expiresAt, Math.floor(now / 1000))),
    db.insert(revokedSessions).values({ id: session.id, expiresAt: session.expiresAt }).onConflictDoNothing(),
  ]);
}

export async function signOutEverywhere(db: TenantDb, userId: number): Promise<void> {
  await db
    .update(users)
    .set({ sessionEpoch: sql`${users.sessionEpoch} + 1` })
    .where(eq(users.id, userId));
}
