// Drizzle schema of a project's wiki in the tenant's database (beside schema.ts, which holds the
// rest and would pass 400 lines): pages, their revisions, embedded resources, settings.
import { sql } from "drizzle-orm";
import { integer, sqliteTable, text, index, uniqueIndex } from "drizzle-orm/sqlite-core";
import { projects, users } from "./schema";

const now = sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`;

/**
 * Wiki pages of a project. The row carries the current revision's title, body and labels (what
 * pages, lists and the wiki_fts search table read); every saved state is a wiki_revisions row.
 * Full-text search: wiki_fts (migration by hand), kept in step by triggers on this table.
 */
export const wikiPages = sqliteTable(
  "wiki_pages",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** URL name: letters, digits, `-` and `_` (services/wiki/names.ts). */
    name: text("name").notNull(),
    /** Lowercase name: Install and install are one page. */
    nameKey: text("name_key").notNull(),
    title: text("title").notNull(),
    /** Markdown of the current revision. */
    body: text("body").notNull().default(""),
    /** Labels of the current revision, separated by spaces (Featured, Deprecated, Phase:Draft). */
    labels: text("labels").notNull().default(""),
    /** Number of the current revision (the newest one left). */
    revision: integer("revision").notNull(),
    /** Highest revision number ever given: numbers are never reused, even after a deletion. */
    lastNumber: integer("last_number").notNull(),
    /** Random id of the last write: a revision is inserted only beside the page write it belongs to. */
    writeId: text("write_id").notNull(),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("wiki_pages_project_name").on(t.projectId, t.nameKey),
    index("wiki_pages_project_updated").on(t.projectId, t.updatedAt),
  ],
);

/** Every saved state of a wiki page: who, when, why, and the whole text. */
export const wikiRevisions = sqliteTable(
  "wiki_revisions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    pageId: integer("page_id")
      .notNull()
      .references(() => wikiPages.id, { onDelete: "cascade" }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    /** 1, 2, 3... per page. */
    number: integer("number").notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    labels: text("labels").notNull().default(""),
    /** What the author said about the change. */
    comment: text("comment").notNull().default(""),
    authorId: integer("author_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("wiki_revisions_page_number").on(t.pageId, t.number)],
);

/**
 * Files embedded in wiki pages (`![](resource:name.png)`), one row per uploaded revision; the
 * current one is the highest number. The bytes are in R2 (storage/keys.ts wikiResource).
 */
export const wikiResources = sqliteTable(
  "wiki_resources",
  {
    /** Random id, also the last part of the R2 key. */
    id: text("id").primaryKey(),
    pageId: integer("page_id")
      .notNull()
      .references(() => wikiPages.id, { onDelete: "cascade" }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    nameKey: text("name_key").notNull(),
    number: integer("number").notNull(),
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    r2Key: text("r2_key").notNull(),
    comment: text("comment").notNull().default(""),
    uploaderId: integer("uploader_id").references(() => users.id, { onDelete: "set null" }),
    createdAt: text("created_at").notNull().default(now),
  },
  (t) => [uniqueIndex("wiki_resources_page_name_number").on(t.pageId, t.nameKey, t.number)],
);

/** A project's wiki settings; no row: the defaults in services/wiki/labels.ts. */
export const wikiConfig = sqliteTable("wiki_config", {
  projectId: integer("project_id")
    .primaryKey()
    .references(() => projects.id, { onDelete: "cascade" }),
  /** The phases offered as `Phase:<name>` labels, separated by spaces or commas. */
  phases: text("phases").notNull(),
  updatedAt: text("updated_at").notNull().default(now),
});
