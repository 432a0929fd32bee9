// Reading the wiki: pages (current state), their revisions, a diff of two revisions, pages by
// label, the featured pages for the project home, and which linked pages exist.
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import type { TenantDb } from "../../db/tenant-db";
import { users } from "../../db/schema";
import { wikiPages, wikiRevisions } from "../../db/wiki-schema";
import { makeHunks, type Hunk } from "../../git/hunks";
import { splitLines } from "../../git/diff";
import { ForgeError } from "../../utils/errors";
import { labelsOf, nameKey } from "./names";

export type WikiPage = typeof wikiPages.$inferSelect;

export interface PageSummary {
  name: string;
  title: string;
  labels: string[];
  revision: number;
  updatedAt: string;
}

export interface RevisionInfo {
  number: number;
  title: string;
  labels: string[];
  comment: string;
  /** Username of the author (null when the account is gone). */
  author: string | null;
  createdAt: string;
}

export interface Revision extends RevisionInfo {
  body: string;
}

export async function findPage(db: TenantDb, projectId: number, name: string): Promise<WikiPage | undefined> {
  return db.query.wikiPages.findFirst({ where: and(eq(wikiPages.projectId, projectId), eq(wikiPages.nameKey, nameKey(name))) });
}

/** findPage, or a 404 that says which page is missing. */
export async function requirePage(db: TenantDb, projectId: number, name: string): Promise<WikiPage> {
  const page = await findPage(db, projectId, name);
  if (!page) throw new ForgeError("not_found", `There is no wiki page ${name} in this project.`);
  return page;
}

const summaryOf = (p: Pick<WikiPage, "name" | "title" | "labels" | "revision" | "updatedAt">): PageSummary => ({
  name: p.name,
  title: p.title,
  labels: labelsOf(p.labels),
  revision: p.revision,
  updatedAt: p.updatedAt,
});

/** A label test on the stored, space-separated labels (case-insensitive, whole labels only). */
const hasLabel = (label: string) =>
  sql`(' ' || lower(${wikiPages.labels}) || ' ') LIKE ${`% ${label.toLowerCase().replace(/[%_\\]/g, "\\$&")} %`} ESCAPE '\\'`;

/** Every page of the project by title, or those with `label`. */
export async function listPages(db: TenantDb, projectId: number, opts: { label?: string } = {}): Promise<PageSummary[]> {
  const rows = await db
    .select({
      name: wikiPages.name,
      title: wikiPages.title,
      labels: wikiPages.labels,
      revision: wikiPages.revision,
      updatedAt: wikiPages.updatedAt,
    })
    .from(wikiPages)
    .where(and(eq(wikiPages.projectId, projectId), opts.label ? hasLabel(opts.label) : undefined))
    .orderBy(asc(sql`lower(${wikiPages.title})`))
    .limit(5000);
  return rows.map(summaryOf);
}

/** The pages labelled Featured, for the project home (name for the link, title to show). */
export async function featuredWikiPages(db: TenantDb, projectId: number): Promise<{ name: string; title: string }[]> {
  return db
    .select({ name: wikiPages.name, title: wikiPages.title })
    .from(wikiPages)
    .where(and(eq(wikiPages.projectId, projectId), hasLabel("Featured")))
    .orderBy(asc(sql`lower(${wikiPages.title})`))
    .limit(20);
}

/** Which of `names` are pages of the project (as lowercase names), for [[links]]. */
export async function existingPages(db: TenantDb, projectId: number, names: string[]): Promise<Set<string>> {
  const keys = [...new Set(names.map(nameKey))].slice(0, 500);
  if (!keys.length) return new Set();
  const rows = await db
    .select({ key: wikiPages.nameKey })
    .from(wikiPages)
    .where(and(eq(wikiPages.projectId, projectId), inArray(wikiPages.nameKey, keys)));
  return new Set(rows.map((r) => r.key));
}

const revisionFields = {
  number: wikiRevisions.number,
  title: wikiRevisions.title,
  labels: wikiRevisions.labels,
  comment: wikiRevisions.comment,
  author: users.username,
  createdAt: wikiRevisions.createdAt,
};

/** The page's revisions, newest first (without their text). */
export async function listRevisions(db: TenantDb, page: WikiPage): Promise<RevisionInfo[]> {
  const rows = await db
    .select(revisionFields)
    .from(wikiRevisions)
    .leftJoin(users, eq(users.id, wikiRevisions.authorId))
    .where(eq(wikiRevisions.pageId, page.id))
    .orderBy(desc(wikiRevisions.number));
  return rows.map((r) => ({ ...r, labels: labelsOf(r.labels) }));
}

export async function findRevision(db: TenantDb, page: WikiPage, number: number): Promise<Revision | undefined> {
  const [row] = await db
    .select({ ...revisionFields, body: wikiRevisions.body })
    .from(wikiRevisions)
    .leftJoin(users, eq(users.id, wikiRevisions.authorId))
    .where(and(eq(wikiRevisions.pageId, page.id), eq(wikiRevisions.number, number)));
  return row ? { ...row, labels: labelsOf(row.labels) } : undefined;
}

/** findRevision, or a 404 that names the page and the revision. */
export async function requireRevision(db: TenantDb, page: WikiPage, number: number): Promise<Revision> {
  const rev = await findRevision(db, page, number);
  if (!rev) throw new ForgeError("not_found", `Wiki page ${page.name} has no revision ${number} (see its history).`);
  return rev;
}

export interface RevisionDiff {
  from: Revision;
  to: Revision;
  hunks: Hunk[];
  titleChanged: boolean;
}

/** The line diff of two revisions' text (git/hunks.ts, as source compares use). */
export async function diffRevisions(db: TenantDb, page: WikiPage, from: number, to: number): Promise<RevisionDiff> {
  const [a, b] = await Promise.all([requireRevision(db, page, from), requireRevision(db, page, to)]);
  return { from: a, to: b, hunks: makeHunks(splitLines(a.body), splitLines(b.body)), titleChanged: a.title !== b.title };
}
