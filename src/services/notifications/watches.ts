// Watching projects and wiki pages (issues are watched with their stars, services/issues), mail
// preferences, unsubscribing, and the notification addresses of a project.
import { and, asc, eq, inArray } from "drizzle-orm";
import { MAX_BOUND_PARAMETERS, type TenantDb } from "../../db/tenant-db";
import { chunks } from "../../utils/chunks";
import { projects } from "../../db/schema";
import { wikiPages } from "../../db/wiki-schema";
import { notificationPrefs, projectNotifyAddresses, watches } from "../../db/notifications-schema";
import type { UnsubscribeClaims } from "../../auth/unsubscribe";
import { ForgeError } from "../../utils/errors";
import { PREF_KINDS, type PrefKind } from "./recipients";

export type WatchKind = "project" | "wiki";

/** Starts or stops watching a project (targetId 0) or one of its wiki pages. */
export async function setWatch(
  db: TenantDb,
  userId: number,
  projectId: number,
  kind: WatchKind,
  targetId: number,
  on: boolean,
): Promise<void> {
  const where = and(
    eq(watches.userId, userId),
    eq(watches.projectId, projectId),
    eq(watches.kind, kind),
    eq(watches.targetId, targetId),
  );
  if (on) await db.insert(watches).values({ userId, projectId, kind, targetId }).onConflictDoNothing();
  else await db.delete(watches).where(where);
}

export async function isWatching(
  db: TenantDb,
  userId: number,
  projectId: number,
  kind: WatchKind,
  targetId = 0,
): Promise<boolean> {
  const [row] = await db
    .select({ userId: watches.userId })
    .from(watches)
    .where(
      and(eq(watches.userId, userId), eq(watches.projectId, projectId), eq(watches.kind, kind), eq(watches.targetId, targetId)),
    )
    .limit(1);
  return !!row;
}

/** The projects and wiki pages a user watches, with the project rows (the caller checks access). */
export async function watchedThings(db: TenantDb, userId: number) {
  const rows = await db
    .select({ project: projects, kind: watches.kind, targetId: watches.targetId })
    .from(watches)
    .innerJoin(projects, eq(projects.id, watches.projectId))
    .where(eq(watches.userId, userId))
    .orderBy(asc(projects.name));
  const pageIds = rows.filter((r) => r.kind === "wiki").map((r) => r.targetId);
  const pages = [];
  for (const part of chunks(pageIds, MAX_BOUND_PARAMETERS - 10)) {
    pages.push(
      ...(await db
        .select({ id: wikiPages.id, name: wikiPages.name, title: wikiPages.title })
        .from(wikiPages)
        .where(inArray(wikiPages.id, part))),
    );
  }
  const pageOf = new Map(pages.map((p) => [p.id, p]));
  return {
    projects: rows.filter((r) => r.kind === "project").map((r) => r.project),
    // A deleted page's watch leads nowhere: left out.
    pages: rows.flatMap((r) => {
      const page = r.kind === "wiki" ? pageOf.get(r.targetId) : undefined;
      return page ? [{ project: r.project, page }] : [];
    }),
  };
}

export type Prefs = { enabled: boolean } & Record<PrefKind, boolean>;
export const DEFAULT_PREFS: Prefs = { enabled: true, issue: true, push: true, wiki: true, download: true };

export async function loadPrefs(db: TenantDb, userId: number): Promise<Prefs> {
  const [row] = await db.select().from(notificationPrefs).where(eq(notificationPrefs.userId, userId));
  return row
    ? { enabled: row.enabled, issue: row.issue, push: row.push, wiki: row.wiki, download: row.download }
    : { ...DEFAULT_PREFS };
}

export async function savePrefs(db: TenantDb, userId: number, prefs: Partial<Prefs>): Promise<void> {
  const set = { ...prefs, updatedAt: new Date().toISOString() };
  await db
    .insert(notificationPrefs)
    .values({ ...DEFAULT_PREFS, ...set, userId })
    .onConflictDoUpdate({ target: notificationPrefs.userId, set });
}

export const isPrefKind = (v: string): v is PrefKind => (PREF_KINDS as readonly string[]).includes(v);

/** What an unsubscribe link stops: the user's mail of that kind, or that address on the project's list. */
export async function unsubscribe(db: TenantDb, claims: UnsubscribeClaims): Promise<void> {
  if (!isPrefKind(claims.k)) throw new ForgeError("bad_request", "This unsubscribe link is not valid.");
  if ("u" in claims) {
    await savePrefs(db, claims.u, { [claims.k]: false });
    return;
  }
  await db
    .delete(projectNotifyAddresses)
    .where(
      and(
        eq(projectNotifyAddresses.projectId, claims.p),
        eq(projectNotifyAddresses.kind, claims.k),
        eq(projectNotifyAddresses.address, claims.a),
      ),
    );
}

/** A project's notification addresses by kind. */
export async function projectAddresses(db: TenantDb, projectId: number): Promise<Record<PrefKind, string[]>> {
  const rows = await db
    .select()
    .from(projectNotifyAddresses)
    .where(eq(projectNotifyAddresses.projectId, projectId))
    .orderBy(asc(projectNotifyAddresses.address));
  const out = Object.fromEntries(PREF_KINDS.map((k) => [k, [] as string[]])) as Record<PrefKind, string[]>;
  for (const r of rows) if (isPrefKind(r.kind)) out[r.kind].push(r.address);
  return out;
}

/** At most this many addresses per kind and project. */
export const MAX_PROJECT_ADDRESSES = 10;
const ADDRESS = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$/;

/** Parses a list of addresses (one per line or separated by commas); throws on a bad one. */
export function parseAddresses(text: string, label: string): string[] {
  const list = [...new Set(text.split(/[\s,]+/).filter(Boolean))];
  for (const a of list) {
    if (a.length > 254 || !ADDRESS.test(a))
      throw new ForgeError("bad_request", `${label}: ${a.slice(0, 80)} is not an email address; write one address a line.`);
  }
  if (list.length > MAX_PROJECT_ADDRESSES)
    throw new ForgeError("bad_request", `${label}: at most ${MAX_PROJECT_ADDRESSES} addresses; use a mailing list for more.`);
  return list;
}

/** Replaces every kind's addresses of a project, in one transaction. */
export async function setProjectAddresses(db: TenantDb, projectId: number, byKind: Record<PrefKind, string[]>): Promise<void> {
  const rows = PREF_KINDS.flatMap((kind) => byKind[kind].map((address) => ({ projectId, kind, address })));
  await db.batch([
    db.delete(projectNotifyAddresses).where(eq(projectNotifyAddresses.projectId, projectId)),
    // Three bound values a row.
    ...chunks(rows, Math.floor(MAX_BOUND_PARAMETERS / 3)).map((part) => db.insert(projectNotifyAddresses).values(part)),
  ]);
}
