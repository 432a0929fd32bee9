// Drizzle schema of a tenant's database (one D1 database per forge). Migrations live in migrations/.
import { sql } from "drizzle-orm";
import { integer, primaryKey, sqliteTable, text, index, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Default of every timestamp column: now, in UTC ISO 8601 with milliseconds. */
export const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

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

/**
 * Sessions signed out before their cookie expires (POST /account/logout), by the cookie's session
 * id: a copy of the cookie then stops working. Checked in the query that loads the signed-in user.
 */
export const revokedSessions = sqliteTable(
  "revoked_sessions",
  {
    /** The cookie's session id (claim `s`, auth/session.ts). */
    id: text("id").primaryKey(),
    /** The cookie's expiry, epoch seconds: past it the cookie is refused anyway and the row goes. */
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("revoked_sessions_expiry").on(t.expiresAt)],
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

/**
 * A user's feed token: lets a feed reader (which has no session) read the Atom feeds the user may
 * read. One per user; the token is shown once and only its SHA-256 is kept. Resetting replaces it.
 */
export const feedTokens = sqliteTable("feed_tokens", {
  userId: integer("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  tokenHash: text("token_hash").notNull().unique(),
  createdAt: text("created_at").notNull().default(now),
});

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
    /**
     * 1 until the event's message is on the FORGE_EVENTS queue (services/events/fanout.ts): a send
     * that failed or never ran is sent again by a later recordEvent. Rows from before: 0.
     */
    pending: integer("pending").notNull().default(0),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("events_project").on(t.projectId, t.id), index("events_pending").on(t.id).where(sql`${t.pending} = 1`)],
);

/**
 * Tracker configuration of a project, in InDefero's text format (one `Name = description` a line);
 * no row: the defaults in services/issues/config.ts.
 */
export const issueConfig = sqliteTable("issue_config", {
  projectId: integer("project_id")
    .primaryKey()
    .references(() => projects.id, { onDelete: "cascade" }),
  openStatuses: text("open_statuses").notNull(),
  closedStatuses: text("closed_statuses").notNull(),
  /** Predefined labels, `Class:Name = description` or `Name = description`. */
  labels: text("labels").notNull(),
  /** Classes of which an issue carries at most one label, separated by commas or spaces. */
  oneValueClasses: text("one_value_classes").notNull(),
  updatedAt: text("updated_at").notNull().default(now),
});

/** Issues; `number` counts per project. Full-text search: the issues_fts table (migration 0003, by hand). */
export const issues = sqliteTable(
  "issues",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    number: integer("number").notNull(),
    summary: text("summary").notNull(),
    /** Markdown. */
    description: text("description").notNull().default(""),
    status: text("status").notNull(),
    /** open | closed: whether `status` is in the project's closed list (kept in step when the lists change). */
    state: text("state").notNull().default("open"),
    submitterId: integer("submitter_id").references(() => users.id, { onDelete: "set null" }),
    ownerId: integer("owner_id").references(() => users.id, { onDelete: "set null" }),
    /** YYYY-MM-DD. */
    dueDate: text("due_date"),
    commentCount: integer("comment_count").notNull().default(0),
    /** Bumped by every change: writes are conditional on the version they were computed from. */
    version: integer("version").notNull().default(0),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
    closedAt: text("closed_at"),
  },
  (t) => [
    uniqueIndex("issues_project_number").on(t.projectId, t.number),
    index("issues_project_state").on(t.projectId, t.state, t.updatedAt),
    index("issues_project_due").on(t.projectId, t.state, t.dueDate),
    index("issues_owner").on(t.ownerId, t.state),
    index("issues_submitter").on(t.submitterId, t.state),
  ],
);

/** Labels on issues: `Class:Name` or `Name` as shown; `name_key` is its lowercase form. */
export const issueLabels = sqliteTable(
  "issue_labels",
  {
    issueId: integer("issue_id")
      .notNull()
      .references(() => issues.id, { onDelete: "cascade" }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    nameKey: text("name_key").notNull(),
  },
  (t) => [primaryKey({ columns: [t.issueId, t.nameKey] }), index("issue_labels_project").on(t.projectId, t.nameKey)],
);

/** Comments, each with what it changed (JSON: status, labels, owner, summary, due date, relations). */
export const issueComments = sqliteTable(
  "issue_comments",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    issueId: integer("issue_id")
      .notNull()
      .references(() => issues.id, { onDelete: "cascade" }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** null: written by the forge itself (e.g. a commit link whose pusher is gone). */
    authorId: integer("author_id").references(() => users.id, { onDelete: "set null" }),
    /** Markdown, may be empty when the comment only records changes. */
    body: text("body").notNull().default(""),
    changes: text("changes").notNull().default("{}"),
    /** Identifies the happening (commit:<sha>:<issue id>), so a queue message seen twice comments once. */
    key: text("key").unique(),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("issue_comments_issue").on(t.issueId, t.id), index("issue_comments_project").on(t.projectId, t.id)],
);

/** Interested users (InDefero's stars): their watch list across the forge. */
export const issueStars = sqliteTable(
  "issue_stars",
  {
    issueId: integer("issue_id")
      .notNull()
      .references(() => issues.id, { onDelete: "cascade" }),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [primaryKey({ columns: [t.issueId, t.userId] }), index("issue_stars_user").on(t.userId)],
);

/**
 * Relations, stored once in their active form: relates (kept with issue_id < other_id), blocks,
 * duplicates. The other side reads them inverted (blocked by, duplicated by).
 */
export const issueRelations = sqliteTable(
  "issue_relations",
  {
    issueId: integer("issue_id")
      .notNull()
      .references(() => issues.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
    otherId: integer("other_id")
      .notNull()
      .references(() => issues.id, { onDelete: "cascade" }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
  },
  (t) => [primaryKey({ columns: [t.issueId, t.kind, t.otherId] }), index("issue_relations_other").on(t.otherId)],
);

/** Files attached to issues and comments; the bytes are in R2 (storage/keys.ts issueAttachment). */
export const issueAttachments = sqliteTable(
  "issue_attachments",
  {
    /** Random id, also the last part of the R2 key. */
    id: text("id").primaryKey(),
    issueId: integer("issue_id")
      .notNull()
      .references(() => issues.id, { onDelete: "cascade" }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    commentId: integer("comment_id").references(() => issueComments.id, { onDelete: "set null" }),
    filename: text("filename").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    r2Key: text("r2_key").notNull(),
    uploaderId: integer("uploader_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [index("issue_attachments_issue").on(t.issueId)],
);

/** Issue templates offered on the new-issue page. */
export const issueTemplates = sqliteTable(
  "issue_templates",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    summary: text("summary").notNull().default(""),
    body: text("body").notNull().default(""),
    /** Labels the template suggests, separated by spaces. */
    labels: text("labels").notNull().default(""),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("issue_templates_project_name").on(t.projectId, t.name)],
);
