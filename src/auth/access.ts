// The one permission check of the forge: who may read or write which area of which project.
// Web pages, the REST API, git transport, feeds and search all ask canAccess; nothing else decides.
import type { TokenScope } from "./tokens";

/** The areas of a project, as InDefero had them, plus the project itself and its admin pages. */
export type Area = "project" | "source" | "issues" | "wiki" | "downloads" | "review" | "admin";
export type Mode = "read" | "write";
export type ProjectRole = "owner" | "member" | "authorized";
/** Who may read an area. */
export type AccessLevel = "all" | "signed-in" | "members" | "owners" | "off";

export const AREAS_WITH_LEVELS = ["source", "issues", "wiki", "downloads", "review"] as const;
export type LeveledArea = (typeof AREAS_WITH_LEVELS)[number];
export const ACCESS_LEVELS: readonly AccessLevel[] = ["all", "signed-in", "members", "owners", "off"];

export const isAccessLevel = (value: unknown): value is AccessLevel => ACCESS_LEVELS.includes(value as AccessLevel);

/** What canAccess needs of a project: a projects row (db/schema.ts) has all of it. */
export interface ProjectAccess {
  id: number;
  private: boolean;
  accessSource: string;
  accessIssues: string;
  accessWiki: string;
  accessDownloads: string;
  accessReview: string;
}

/**
 * Who is asking. Built once per request (loadViewer) and then checked synchronously, so a list
 * (search results, a feed, the project list) can be filtered without a query per item.
 */
export interface Viewer {
  /** null for anonymous requests. */
  user: { id: number; username: string; isAdmin: boolean } | null;
  /** The viewer's role in each project they belong to (project id -> role). */
  roles: ReadonlyMap<number, ProjectRole>;
  /** What the credential allows: a read token never writes, even for an owner. Sessions are "write". */
  scope: TokenScope;
}

export const ANONYMOUS: Viewer = Object.freeze({ user: null, roles: new Map(), scope: "read" as const });

export function levelOf(project: ProjectAccess, area: LeveledArea): AccessLevel {
  const value = {
    source: project.accessSource,
    issues: project.accessIssues,
    wiki: project.accessWiki,
    downloads: project.accessDownloads,
    review: project.accessReview,
  }[area];
  // An unknown value (a newer schema, a bad edit) fails closed.
  return isAccessLevel(value) ? value : "owners";
}

const isMember = (role: ProjectRole | undefined) => role === "owner" || role === "member";

/** May the viewer see that the project exists at all? (Private projects: admins, members, authorized users.) */
function canSeeProject(viewer: Viewer, project: ProjectAccess, role: ProjectRole | undefined): boolean {
  if (!project.private) return true;
  return !!viewer.user?.isAdmin || role !== undefined;
}

function meetsLevel(viewer: Viewer, role: ProjectRole | undefined, level: AccessLevel): boolean {
  if (viewer.user?.isAdmin) return level !== "off";
  switch (level) {
    case "all":
      return true;
    case "signed-in":
      return viewer.user !== null;
    case "members":
      return isMember(role);
    case "owners":
      return role === "owner";
    case "off":
      return false;
  }
}

/**
 * May `viewer` read or write `area` of `project`?
 *
 * - read: the project must be visible to the viewer (public, or the viewer is a tenant admin,
 *   a member or an authorized user), and the viewer must meet the area's level. `project` and
 *   `admin` have no level: anyone who sees the project reads `project`; owners read `admin`.
 * - write: needs read, a write-scoped credential and a signed-in user; then members write source,
 *   wiki and downloads; any signed-in reader writes issues and review (files issues, comments);
 *   owners write `project` and `admin` (settings, members, access levels). Tenant admins are
 *   owners of every project. An area that is `off` is off for everyone.
 *
 * Callers answer a denied read with 404 (the same page as a missing thing), see deniedStatus.
 */
export function canAccess(viewer: Viewer, project: ProjectAccess, area: Area, mode: Mode): boolean {
  const role = viewer.roles.get(project.id);
  if (!canSeeProject(viewer, project, role)) return false;
  const owner = role === "owner" || !!viewer.user?.isAdmin;
  let readable: boolean;
  if (area === "project") readable = true;
  else if (area === "admin") readable = owner;
  else readable = meetsLevel(viewer, role, levelOf(project, area));
  if (mode === "read" || !readable) return readable;
  if (viewer.user === null || viewer.scope !== "write") return false;
  switch (area) {
    case "project":
    case "admin":
      return owner;
    case "source":
    case "wiki":
    case "downloads":
      return owner || isMember(role);
    case "issues":
    case "review":
      return true;
  }
}

/**
 * The status of a denied request, so every route answers alike: 404 when the viewer may not read
 * it (hidden and missing look the same); 401 when signing in could help a write (or, for a
 * hidden thing, when the caller prefers asking anonymous clients for credentials, as git must);
 * 403 when the viewer reads it but may not write it.
 */
export function deniedStatus(
  viewer: Viewer,
  project: ProjectAccess | undefined,
  area: Area,
  mode: Mode,
  opts: { challengeAnonymous?: boolean } = {},
): 401 | 403 | 404 {
  const readable = project !== undefined && canAccess(viewer, project, area, "read");
  if (!readable) return opts.challengeAnonymous && viewer.user === null ? 401 : 404;
  if (mode === "write" && viewer.user === null) return 401;
  return 403;
}

/** Visible projects for list queries: everything for tenant admins, else public ones plus these ids. */
export function projectVisibility(viewer: Viewer): { all: boolean; privateIds: number[] } {
  return { all: !!viewer.user?.isAdmin, privateIds: [...viewer.roles.keys()] };
}

/**
 * Who may create projects on this forge: tenant admins always; any signed-in user when the
 * forge's setting (services/settings.ts `projectCreation`) says "users".
 */
export function mayCreateProjects(user: { isAdmin: boolean } | null, projectCreation: "admins" | "users"): boolean {
  return !!user && (user.isAdmin || projectCreation === "users");
}
