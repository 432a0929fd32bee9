// Drizzle schema of the downloads area of a tenant's database (files, their labels, label lists).
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { now, projects, users } from "./schema";

/** Files of a downloads area (bytes in R2: keys.ts `download`); `name` is the URL, unique per project. */
export const downloads = sqliteTable(
  "downloads",
  {
    /** Random id, also the last part of the R2 key. */
    id: text("id").primaryKey(),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    summary: text("summary").notNull().default(""),
    /** Markdown. */
    changelog: text("changelog").notNull().default(""),
    size: integer("size").notNull(),
    /** Hex SHA-256 of the bytes, computed while they streamed in; also the ETag. */
    sha256: text("sha256").notNull(),
    r2Key: text("r2_key").notNull(),
    uploaderId: integer("uploader_id").references(() => users.id, { onDelete: "set null" }),
    downloadCount: integer("download_count").notNull().default(0),
    createdAt: text("created_at").notNull().default(now),
    updatedAt: text("updated_at").notNull().default(now),
  },
  (t) => [
    uniqueIndex("downloads_project_name").on(t.projectId, t.name),
    index("downloads_project_created").on(t.projectId, t.createdAt),
  ],
);

/** Labels on download files (`Featured`, `Type:Archive`...); `name_key` is the lowercase form. */
export const downloadLabels = sqliteTable(
  "download_labels",
  {
    downloadId: text("download_id")
      .notNull()
      .references(() => downloads.id, { onDelete: "cascade" }),
    projectId: integer("project_id")
      .notNull()
      .references(() => projects.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    nameKey: text("name_key").notNull(),
  },
  (t) => [primaryKey({ columns: [t.downloadId, t.nameKey] }), index("download_labels_project").on(t.projectId, t.nameKey)],
);

/** A project's predefined download labels, `Name = description` lines; no row: services/downloads/labels.ts. */
export const downloadConfig = sqliteTable("download_config", {
  projectId: integer("project_id")
    .primaryKey()
    .references(() => projects.id, { onDelete: "cascade" }),
  labels: text("labels").notNull(),
  updatedAt: text("updated_at").notNull().default(now),
});
