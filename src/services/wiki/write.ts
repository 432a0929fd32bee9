// Changing the wiki: saving a page (a new revision), reverting to an old revision (again a new
// one), deleting a revision or a whole page. Each write is one D1 batch that first moves the
// page's write_id from the value it was computed from, and whose other statements only act where
// the new write_id is found: a concurrent change makes it a 409, never half a change.
import { and, desc, eq, lt, sql } from "drizzle-orm";
import type { TenantDb } from "../../db/tenant-db";
import { wikiPages, wikiResources, wikiRevisions } from "../../db/wiki-schema";
import { randomId } from "../../utils/crypto";
import { ForgeError, badRequest } from "../../utils/errors";
import { recordEvent } from "../timeline";
import { MAX_BODY, MAX_COMMENT, MAX_TITLE, defaultTitle, loadPhases, nameKey, normalizeLabels, requirePageName } from "./names";
import { findPage, requireRevision, type WikiPage } from "./pages";

export interface WikiActor {
  id: number;
  username: string;
}

export interface PageInput {
  /** The page's name as typed (spaces become -). */
  name: string;
  title?: string;
  body: string;
  /** Label names; undefined keeps the page's labels. */
  labels?: string[];
  comment?: string;
  /**
   * The revision the edit started from: null creates the page (409 if it exists); a number must
   * still be the current revision (409 if someone saved since).
   */
  baseRevision: number | null;
}

export interface SaveResult {
  page: WikiPage;
  revision: number;
  created: boolean;
}

const nowIso = () => new Date().toISOString();

function checkText(title: string, body: string, comment: string): void {
  if (!title.trim()) throw badRequest("Give the page a title.");
  if (title.length > MAX_TITLE) throw badRequest(`A title has at most ${MAX_TITLE} characters.`);
  if (body.length > MAX_BODY)
    throw new ForgeError("payload_too_large", `A page has at most ${MAX_BODY / 1024} KiB of text; split it.`);
  if (comment.length > MAX_COMMENT) throw badRequest(`A change comment has at most ${MAX_COMMENT} characters.`);
}

/** The revision row of the page state that `writeId` wrote, copied from the page row itself. */
const insertRevisionOf = (db: TenantDb, projectId: number, key: string, writeId: string, comment: string, authorId: number) =>
  db.insert(wikiRevisions).select(
    db
      .select({
        // Every column in the table's order, as drizzle's insert-select wants; NULL picks a new id.
        id: sql<number>`NULL`.as("id"),
        pageId: wikiPages.id,
        projectId: wikiPages.projectId,
        number: wikiPages.revision,
        title: wikiPages.title,
        body: wikiPages.body,
        labels: wikiPages.labels,
        comment: sql<string>`${comment}`.as("comment"),
        authorId: sql<number>`${authorId}`.as("author_id"),
        createdAt: wikiPages.updatedAt,
      })
      .from(wikiPages)
      .where(and(eq(wikiPages.projectId, projectId), eq(wikiPages.nameKey, key), eq(wikiPages.writeId, writeId))),
  );

const staleError = (name: string) =>
  new ForgeError(
    "conflict",
    `Wiki page ${name} was changed by someone else since you started; open it again, then redo your change.`,
  );

const isUniqueViolation = (err: unknown) => /UNIQUE constraint failed/i.test(String((err as Error)?.message ?? err));

async function event(
  db: TenantDb,
  projectId: number,
  actor: WikiActor,
  title: string,
  page: string,
  revision: number,
  key: string,
  // For the event handlers (notifications of the page's watchers, webhooks).
  about: { pageId: number; action: "created" | "edited" | "reverted" | "revision-deleted" | "deleted" },
) {
  await recordEvent(db, { projectId, kind: "wiki", actor: actor.username, title, payload: { page, revision, ...about }, key });
}

/** Creates or updates a page: the new state becomes its newest revision. */
export async function savePage(db: TenantDb, projectId: number, actor: WikiActor, input: PageInput): Promise<SaveResult> {
  const name = requirePageName(input.name);
  const key = nameKey(name);
  const body = input.body.replace(/\r\n/g, "\n");
  const comment = (input.comment ?? "").trim();
  const existing = await findPage(db, projectId, name);
  if (input.baseRevision === null && existing)
    throw new ForgeError("conflict", `Wiki page ${existing.name} already exists; edit it instead.`);
  if (input.baseRevision !== null && !existing)
    throw new ForgeError("not_found", `There is no wiki page ${name} in this project.`);
  if (existing && existing.revision !== input.baseRevision) throw staleError(existing.name);
  const title = (input.title ?? "").trim() || existing?.title || defaultTitle(name);
  checkText(title, body, comment);
  const labels =
    input.labels === undefined ? (existing?.labels ?? "") : normalizeLabels(input.labels, await loadPhases(db, projectId));
  const writeId = randomId(16);
  const now = nowIso();
  const number = (existing?.lastNumber ?? 0) + 1;
  const write = existing
    ? db
        .update(wikiPages)
        .set({ title, body, labels, revision: number, lastNumber: number, writeId, updatedAt: now })
        .where(and(eq(wikiPages.id, existing.id), eq(wikiPages.writeId, existing.writeId)))
    : db.insert(wikiPages).values({
        projectId,
        name,
        nameKey: key,
        title,
        body,
        labels,
        revision: 1,
        lastNumber: 1,
        writeId,
        createdAt: now,
        updatedAt: now,
      });
  try {
    await db.batch([write, insertRevisionOf(db, projectId, key, writeId, comment, actor.id)]);
  } catch (err) {
    if (isUniqueViolation(err))
      throw existing
        ? staleError(existing.name)
        : new ForgeError("conflict", `Wiki page ${name} was just created by someone else; edit it instead.`);
    throw err;
  }
  const page = await findPage(db, projectId, name);
  if (!page || page.writeId !== writeId) throw staleError(existing?.name ?? name);
  const verb = existing ? "edited" : "created";
  await event(
    db,
    projectId,
    actor,
    `Wiki page ${page.name} ${verb} by ${actor.username}`,
    page.name,
    number,
    `wiki:${page.id}:${number}`,
    { pageId: page.id, action: existing ? "edited" : "created" },
  );
  return { page, revision: number, created: !existing };
}

/** Makes revision `number` the page's state again, as a new revision (history keeps everything). */
export async function revertPage(
  db: TenantDb,
  projectId: number,
  actor: WikiActor,
  page: WikiPage,
  number: number,
  baseRevision: number,
): Promise<SaveResult> {
  const old = await requireRevision(db, page, number);
  if (page.revision !== baseRevision) throw staleError(page.name);
  const writeId = randomId(16);
  const next = page.lastNumber + 1;
  const comment = `Reverted to revision ${number}`;
  try {
    await db.batch([
      db
        .update(wikiPages)
        .set({
          title: old.title,
          body: old.body,
          labels: old.labels.join(" "),
          revision: next,
          lastNumber: next,
          writeId,
          updatedAt: nowIso(),
        })
        .where(and(eq(wikiPages.id, page.id), eq(wikiPages.writeId, page.writeId))),
      insertRevisionOf(db, projectId, page.nameKey, writeId, comment, actor.id),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw staleError(page.name);
    throw err;
  }
  const now = await findPage(db, projectId, page.name);
  if (!now || now.writeId !== writeId) throw staleError(page.name);
  await event(
    db,
    projectId,
    actor,
    `Wiki page ${page.name} reverted to revision ${number} by ${actor.username}`,
    page.name,
    next,
    `wiki:${page.id}:${next}`,
    { pageId: page.id, action: "reverted" },
  );
  return { page: now, revision: next, created: false };
}

/**
 * Deletes one revision. The last one left is refused (delete the page instead); deleting the
 * current revision makes the newest remaining one current again.
 */
export async function deleteRevision(
  db: TenantDb,
  projectId: number,
  actor: WikiActor,
  page: WikiPage,
  number: number,
): Promise<WikiPage> {
  await requireRevision(db, page, number);
  const [newest] = await db
    .select({ number: wikiRevisions.number })
    .from(wikiRevisions)
    .where(and(eq(wikiRevisions.pageId, page.id), sql`${wikiRevisions.number} <> ${number}`))
    .orderBy(desc(wikiRevisions.number))
    .limit(1);
  if (!newest)
    throw new ForgeError(
      "conflict",
      `Revision ${number} is the only one of ${page.name}: a page keeps at least one. Delete the page instead.`,
    );
  const writeId = randomId(16);
  const moved = and(eq(wikiPages.id, page.id), eq(wikiPages.writeId, writeId));
  const current = number === page.revision;
  const previous = current
    ? await db.query.wikiRevisions.findFirst({
        where: and(eq(wikiRevisions.pageId, page.id), lt(wikiRevisions.number, number)),
        orderBy: desc(wikiRevisions.number),
      })
    : undefined;
  const pageState = previous
    ? { title: previous.title, body: previous.body, labels: previous.labels, revision: previous.number }
    : {};
  await db.batch([
    db
      .update(wikiPages)
      .set({ ...pageState, writeId, updatedAt: nowIso() })
      .where(and(eq(wikiPages.id, page.id), eq(wikiPages.writeId, page.writeId))),
    db
      .delete(wikiRevisions)
      .where(
        and(
          eq(wikiRevisions.pageId, page.id),
          eq(wikiRevisions.number, number),
          sql`EXISTS (SELECT 1 FROM wiki_pages WHERE ${moved})`,
        ),
      ),
  ]);
  const now = await findPage(db, projectId, page.name);
  if (!now || now.writeId !== writeId) throw staleError(page.name);
  await event(
    db,
    projectId,
    actor,
    `Wiki page ${page.name}: revision ${number} deleted by ${actor.username}`,
    page.name,
    number,
    `wiki:${page.id}:${number}:deleted`,
    { pageId: page.id, action: "revision-deleted" },
  );
  return now;
}

/** Deletes a page with its revisions and resources (rows at once, then the files in R2). */
export async function deletePage(
  db: TenantDb,
  bucket: R2Bucket,
  projectId: number,
  actor: WikiActor,
  page: WikiPage,
): Promise<void> {
  const files = await db.select({ key: wikiResources.r2Key }).from(wikiResources).where(eq(wikiResources.pageId, page.id));
  await db.delete(wikiPages).where(and(eq(wikiPages.id, page.id), eq(wikiPages.projectId, projectId)));
  for (let i = 0; i < files.length; i += 1000) await bucket.delete(files.slice(i, i + 1000).map((f) => f.key));
  await event(
    db,
    projectId,
    actor,
    `Wiki page ${page.name} deleted by ${actor.username}`,
    page.name,
    page.revision,
    `wiki:${page.id}:deleted`,
    { pageId: page.id, action: "deleted" },
  );
}
