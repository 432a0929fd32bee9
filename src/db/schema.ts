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
  createdAt: text("created_at").notNull().default(now),
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
    /** owner | member */
    role: text("role").notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.userId] }), index("project_members_user").on(t.userId)],
);

/** Forge-wide settings (name shown on pages, registration policy, front page text...). */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});
