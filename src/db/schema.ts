// Drizzle schema of a tenant's database (one D1 database per forge). Migrations live in migrations/.
import { sql } from "drizzle-orm";
import { integer, primaryKey, sqliteTable, text, index } from "drizzle-orm/sqlite-core";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

export const users = sqliteTable("users", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  /** As typed at sign-up; lookups use username_key (lowercase) so Alice and alice are one account. */
  username: text("username").notNull(),
  usernameKey: text("username_key").notNull().unique(),
  email: text("email").notNull(),
  displayName: text("display_name"),
  /** PBKDF2 hash (auth/password.ts), null when the account has no password yet. */
  passwordHash: text("password_hash"),
  isAdmin: integer("is_admin", { mode: "boolean" }).notNull().default(false),
  isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
  /** When the primary address was confirmed (null: not yet). */
  emailConfirmedAt: text("email_confirmed_at"),
  /** R2 key of an uploaded avatar (storage/keys.ts); null: a Gravatar-style image of the email hash. */
  avatarKey: text("avatar_key"),
  /** Bumped to sign the account out everywhere (password change, deactivation): session cookies carry it. */
  sessionEpoch: integer("session_epoch").notNull().default(0),
  createdAt: text("created_at").notNull().default(now),
});

/** Secondary addresses of a user, used to match commit authors once confirmed. */
export const userEmails = sqliteTable(
  "user_emails",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    /** Lowercase address; unique across the forge so one address names one person. */
    emailKey: text("email_key").notNull().unique(),
    confirmedAt: text("confirmed_at"),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("user_emails_user").on(t.userId)],
);

/** One-use links sent by email: address confirmation and password reset (SHA-256 of the token). */
export const accountTokens = sqliteTable(
  "account_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** confirm | reset */
    purpose: text("purpose").notNull(),
    /** The address being confirmed. */
    email: text("email"),
    expiresAt: text("expires_at").notNull(),
    usedAt: text("used_at"),
  },
  (t) => [index("account_tokens_user").on(t.userId)],
);

/** Messages to users. Locally they stay here (the runner prints their links); see docs/deploy.md. */
export const outbox = sqliteTable("outbox", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  toAddress: text("to_address").notNull(),
  subject: text("subject").notNull(),
  body: text("body").notNull(),
  createdAt: text("created_at").notNull().default(now),
  sentAt: text("sent_at"),
});

/** Fixed-window counters (login attempts per account and per address...). */
export const rateLimits = sqliteTable("rate_limits", {
  key: text("key").primaryKey(),
  count: integer("count").notNull(),
  /** Epoch milliseconds when the window ends. */
  resetAt: integer("reset_at").notNull(),
});

export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** SHA-256 of the token; the token itself is shown once and never stored. */
    tokenHash: text("token_hash").notNull().unique(),
    /** read | write */
    scope: text("scope").notNull(),
    createdAt: text("created_at").notNull().default(now),
    lastUsedAt: text("last_used_at"),
  },
  (t) => [index("api_tokens_user").on(t.userId)],
);

export const projects = sqliteTable("projects", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  /** URL name (/p/<name>/, /<name>.git), unique in the forge. */
  name: text("name").notNull().unique(),
  description: text("description").notNull().default(""),
  private: integer("private", { mode: "boolean" }).notNull().default(false),
  /** Stable id of the project's repository in R2 keys and its Durable Object name. */
  repoId: text("repo_id").notNull().unique(),
  /** Who may read each area (auth/access.ts): all | signed-in | members | owners | off. */
  accessSource: text("access_source").notNull().default("all"),
  accessIssues: text("access_issues").notNull().default("all"),
  accessWiki: text("access_wiki").notNull().default("all"),
  accessDownloads: text("access_downloads").notNull().default("all"),
  accessReview: text("access_review").notNull().default("all"),
  /** JSON array of branch names (without refs/heads/) that refuse deletion and non-fast-forward pushes. */
  protectedBranches: text("protected_branches").notNull().default("[]"),
  createdAt: text("created_at").notNull().default(now),
  updatedAt: text("updated_at").notNull().default(now),
});

export const projectMembers = sqliteTable(
  "project_members",
  {
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** owner | member | authorized (may see a private project, is not a member) */
    role: text("role").notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.userId] }), index("project_members_user").on(t.userId)],
);

/** Forge-wide settings (name shown on pages, registration policy, front page text...). */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

/** The timeline: what happened in each project (pushes now; issues, wiki and downloads as they come). */
export const events = sqliteTable(
  "events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** push | issue | wiki | download | review */
    kind: text("kind").notNull(),
    /** Username of who did it (null when unknown). */
    actor: text("actor"),
    /** One line saying what happened. */
    title: text("title").notNull(),
    /** JSON details (a push: the ref updates). */
    payload: text("payload").notNull().default("{}"),
    /** Identifies the happening, so a message delivered twice records one event. */
    key: text("key").unique(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("events_project").on(t.projectId, t.id)],
);
