// The files of a project's downloads area in D1: listing (by label), one file by its name,
// describing a stored file, editing, deleting (row and R2 object), counting downloads.
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { TenantDb } from "../../db/tenant-db";
import { users } from "../../db/schema";
import { downloadLabels, downloads } from "../../db/downloads-schema";
import { r2Keys } from "../../storage/keys";
import { ForgeError, badRequest, conflict } from "../../utils/errors";
import { recordEvent } from "../timeline";
import { DEPRECATED, FEATURED, labelKey, loadLabelChoices, normalizeLabels } from "./labels";
import type { StoredFile } from "./store";

export type DownloadRow = typeof downloads.$inferSelect;

/** A file with its labels and uploader, as pages and the API show it. */
export interface DownloadFile extends DownloadRow {
  labels: string[];
  uploader: string | null;
}

export interface DownloadMeta {
  name: string;
  summary: string;
  changelog: string;
  labels: string[];
}

export interface Actor {
  id: number;
  username: string;
}

export const NAME_MAX = 200;
export const SUMMARY_MAX = 300;
export const CHANGELOG_MAX = 65536;
/** Names the downloads area's own pages use (/p/<project>/downloads/new...). */
const RESERVED = new Set(["new", "admin"]);

/**
 * What is wrong with a file name, or null. The name is the file's URL, so: no slashes or
 * backslashes, no control characters, not `.` or `..`, no spaces at either end, at most 200.
 */
export function nameProblem(name: string): string | null {
  if (!name) return "Name the file (for example app-1.2.0.tar.gz).";
  if (name.length > NAME_MAX) return `A file name has at most ${NAME_MAX} characters.`;
  if (/[/\\]/.test(name)) return "A file name has no slashes: it is the last part of the file's address.";
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return "A file name has no control characters (tabs, line breaks...).";
  if (name !== name.trim()) return "A file name does not start or end with spaces.";
  if (name === "." || name === "..") return `"${name}" is not a file name.`;
  if (RESERVED.has(name.toLowerCase())) return `"${name}" is the name of a page of the downloads area; choose another name.`;
  return null;
}

export function checkName(name: string): string {
  const problem = nameProblem(name);
  if (problem) throw badRequest(problem);
  return name;
}

function checkText(meta: { summary?: string; changelog?: string }): void {
  if (meta.summary !== undefined && meta.summary.length > SUMMARY_MAX)
    throw badRequest(`The summary has at most ${SUMMARY_MAX} characters; put the rest in the changelog.`);
  if (meta.summary !== undefined && /[\r\n]/.test(meta.summary)) throw badRequest("The summary is one line.");
  if (meta.changelog !== undefined && meta.changelog.length > CHANGELOG_MAX)
    throw badRequest(`The changelog has at most ${CHANGELOG_MAX} characters.`);
}

const taken = (name: string) =>
  conflict(`There is already a file named ${name} in this project; choose another name, or delete the old file first.`);

/** Refuses a name that is invalid or taken, before any byte of the file is read. */
export async function checkNewName(db: TenantDb, projectId: number, name: string): Promise<void> {
  checkName(name);
  if (await findDownloadRow(db, projectId, name)) throw taken(name);
}

async function withLabels(db: TenantDb, rows: (DownloadRow & { uploader: string | null })[]): Promise<DownloadFile[]> {
  if (!rows.length) return [];
  const labels = await db
    .select({ downloadId: downloadLabels.downloadId, name: downloadLabels.name })
    .from(downloadLabels)
    .where(
      inArray(
        downloadLabels.downloadId,
        rows.map((r) => r.id),
      ),
    );
  const by = new Map<string, string[]>();
  for (const l of labels) by.set(l.downloadId, [...(by.get(l.downloadId) ?? []), l.name]);
  return rows.map((r) => ({ ...r, labels: (by.get(r.id) ?? []).sort((a, b) => a.localeCompare(b)) }));
}

const selectFiles = (db: TenantDb) =>
  db.select({ row: downloads, uploader: users.username }).from(downloads).leftJoin(users, eq(users.id, downloads.uploaderId));

export async function findDownloadRow(db: TenantDb, projectId: number, name: string): Promise<DownloadRow | undefined> {
  return db.query.downloads.findFirst({ where: and(eq(downloads.projectId, projectId), eq(downloads.name, name)) });
}

export async function findDownload(db: TenantDb, projectId: number, name: string): Promise<DownloadFile | undefined> {
  const rows = await selectFiles(db).where(and(eq(downloads.projectId, projectId), eq(downloads.name, name)));
  const [file] = await withLabels(
    db,
    rows.map((r) => ({ ...r.row, uploader: r.uploader })),
  );
  return file;
}

export const LIST_MAX = 500;

/**
 * The files of a project, newest first, deprecated ones last; with `label`, only those carrying
 * it. At most LIST_MAX (and `total` says how many there are).
 */
export async function listDownloads(
  db: TenantDb,
  projectId: number,
  opts: { label?: string; limit?: number; offset?: number } = {},
): Promise<{ files: DownloadFile[]; total: number }> {
  const where = opts.label
    ? and(
        eq(downloads.projectId, projectId),
        sql`exists (select 1 from ${downloadLabels} where ${downloadLabels.downloadId} = ${downloads.id} and ${downloadLabels.nameKey} = ${labelKey(opts.label)})`,
      )
    : eq(downloads.projectId, projectId);
  const deprecated = sql`exists (select 1 from ${downloadLabels} where ${downloadLabels.downloadId} = ${downloads.id} and ${downloadLabels.nameKey} = ${labelKey(DEPRECATED)})`;
  const [rows, count] = await Promise.all([
    selectFiles(db)
      .where(where)
      .orderBy(deprecated, desc(downloads.createdAt), desc(downloads.name))
      .limit(Math.min(opts.limit ?? LIST_MAX, LIST_MAX))
      .offset(opts.offset ?? 0),
    db.select({ n: sql<number>`count(*)` }).from(downloads).where(where),
  ]);
  return {
    files: await withLabels(
      db,
      rows.map((r) => ({ ...r.row, uploader: r.uploader })),
    ),
    total: count[0]?.n ?? 0,
  };
}

/** For the project's home page: its Featured files that are not Deprecated, newest first. */
export async function featuredDownloads(db: TenantDb, projectId: number, limit = 5): Promise<DownloadFile[]> {
  const { files } = await listDownloads(db, projectId, { label: FEATURED, limit: limit * 2 });
  return files.filter((f) => !f.labels.some((l) => labelKey(l) === labelKey(DEPRECATED))).slice(0, limit);
}

const labelRows = (projectId: number, downloadId: string, labels: string[]) =>
  labels.map((name) => ({ downloadId, projectId, name, nameKey: labelKey(name) }));

/**
 * Describes a file already stored in R2: the row, its labels and the timeline event, in one
 * batch. The caller discards the stored bytes if this throws (a taken name is a 409).
 */
export async function createDownload(
  db: TenantDb,
  projectId: number,
  actor: Actor,
  meta: DownloadMeta,
  stored: StoredFile,
): Promise<DownloadFile> {
  checkName(meta.name);
  checkText(meta);
  const labels = normalizeLabels(await loadLabelChoices(db, projectId), meta.labels);
  if (await findDownloadRow(db, projectId, meta.name)) throw taken(meta.name);
  const row = {
    id: stored.id,
    projectId,
    name: meta.name,
    summary: meta.summary.trim(),
    changelog: meta.changelog,
    size: stored.size,
    sha256: stored.sha256,
    r2Key: stored.r2Key,
    uploaderId: actor.id,
  };
  try {
    await db.batch([
      db.insert(downloads).values(row),
      ...(labels.length ? [db.insert(downloadLabels).values(labelRows(projectId, stored.id, labels))] : []),
    ]);
  } catch (err) {
    // Two uploads of one name at once: the unique index lets one win.
    if (/UNIQUE/i.test(String((err as Error)?.message ?? err)) || /UNIQUE/i.test(String((err as { cause?: Error }).cause)))
      throw taken(meta.name);
    throw err;
  }
  await recordEvent(db, {
    projectId,
    kind: "download",
    actor: actor.username,
    title: `Uploaded ${meta.name}`,
    payload: { action: "upload", name: meta.name, size: stored.size, sha256: stored.sha256 },
    key: `download:${stored.id}:upload`,
  });
  const file = await findDownload(db, projectId, meta.name);
  if (!file) throw new ForgeError("internal", "the new download vanished");
  return file;
}

/** Changes a file's summary, changelog or labels (the bytes and name never change: the URL is stable). */
export async function updateDownload(
  db: TenantDb,
  projectId: number,
  name: string,
  patch: { summary?: string; changelog?: string; labels?: string[] },
): Promise<DownloadFile> {
  checkText(patch);
  const file = await findDownloadRow(db, projectId, name);
  if (!file) throw new ForgeError("not_found", `There is no file named ${name} in this project.`);
  const labels = patch.labels && normalizeLabels(await loadLabelChoices(db, projectId), patch.labels);
  await db.batch([
    db
      .update(downloads)
      .set({
        ...(patch.summary !== undefined ? { summary: patch.summary.trim() } : {}),
        ...(patch.changelog !== undefined ? { changelog: patch.changelog } : {}),
        updatedAt: new Date().toISOString(),
      })
      .where(eq(downloads.id, file.id)),
    ...(labels
      ? [
          db.delete(downloadLabels).where(eq(downloadLabels.downloadId, file.id)),
          ...(labels.length ? [db.insert(downloadLabels).values(labelRows(projectId, file.id, labels))] : []),
        ]
      : []),
  ]);
  return (await findDownload(db, projectId, name))!;
}

/** Deletes a file: its row and labels, then its bytes in R2, and records it in the timeline. */
export async function deleteDownload(
  db: TenantDb,
  bucket: R2Bucket,
  tenantId: string,
  projectId: number,
  actor: Actor,
  name: string,
): Promise<void> {
  const file = await findDownloadRow(db, projectId, name);
  if (!file) throw new ForgeError("not_found", `There is no file named ${name} in this project.`);
  await db.batch([
    db.delete(downloadLabels).where(eq(downloadLabels.downloadId, file.id)),
    db.delete(downloads).where(eq(downloads.id, file.id)),
  ]);
  // The key came from D1; it must still be this tenant's and project's before anything is deleted.
  // The file is gone for everyone once its row is; bytes R2 failed to delete are only logged
  // (the object under the project's downloads prefix has no row left to name it).
  if (file.r2Key.startsWith(r2Keys.downloadPrefix(tenantId, projectId))) {
    await bucket.delete(file.r2Key).catch((err) => {
      console.error(JSON.stringify({ level: "error", message: `download ${file.r2Key} left in R2: ${String(err)}` }));
    });
  }
  await recordEvent(db, {
    projectId,
    kind: "download",
    actor: actor.username,
    title: `Deleted ${name}`,
    payload: { action: "delete", name, size: file.size, sha256: file.sha256 },
    key: `download:${file.id}:delete`,
  });
}

/**
 * Counts one download; run after the response has started (ctx.waitUntil), so a failure only
 * loses one count: it is logged, never thrown.
 */
export async function countDownload(db: TenantDb, id: string): Promise<void> {
  try {
    await db
      .update(downloads)
      .set({ downloadCount: sql`${downloads.downloadCount} + 1` })
      .where(eq(downloads.id, id));
  } catch (err) {
    console.error(JSON.stringify({ level: "error", message: `download ${id} not counted: ${String(err)}` }));
  }
}
