// The forge in Gitea's words: a tenant is an organization (its slug the org name), its users
// Gitea users, a project a repository owned by the org, an issue a Gitea issue. Plain mappers
// from the forge's rows to Gitea's JSON fields and formats (RFC 3339 times, html_url and url).
import { levelOf, type Viewer } from "../../auth/access";
import type { Project } from "../projects";
import type { IssueRow } from "../issues/lists";
import type { IssueDetail, UserRef } from "../issues";
import type { TextComment } from "../issues/comments";
import type { GiteaLabelInfo } from "./labels";

/** What every mapper needs of the request: where the forge is, which org it is, who asks. */
export interface GiteaSite {
  /** https://forge.example, no trailing slash. */
  origin: string;
  host: string;
  org: { slug: string; name: string };
  viewer: Viewer;
}

/** The fields of a user the mappers read (a users row has them; an issue's UserRef has the first three). */
export interface UserLike {
  id: number;
  username: string;
  displayName: string | null;
  email?: string;
  isAdmin?: boolean;
  createdAt?: string;
}

/** SQLite's and the forge's stored times are UTC ISO 8601 already; RFC 3339 needs the zone. */
export const rfc3339 = (t: string) => (t.includes("T") ? (t.endsWith("Z") ? t : `${t}Z`) : `${t.replace(" ", "T")}Z`);
/** A due date (YYYY-MM-DD) as Gitea's date-time: the end of nothing, the start of that day in UTC. */
export const dueDateTime = (d: string | null) => (d ? `${d}T00:00:00Z` : null);
const EPOCH = "1970-01-01T00:00:00Z";

const api = (s: GiteaSite, path: string) => `${s.origin}/api/v1${path}`;
const seg = encodeURIComponent;

/**
 * Gitea's user object. The email address is shown to the user themselves and to admins; others
 * see Gitea's private form, `<login>@noreply.<host>` (Gitea's keep-email-private).
 */
export function giteaUser(s: GiteaSite, u: UserLike) {
  const own = s.viewer.user?.id === u.id || !!s.viewer.user?.isAdmin;
  return {
    id: u.id,
    login: u.username,
    login_name: "",
    full_name: u.displayName ?? "",
    email: own && u.email ? u.email : `${u.username.toLowerCase()}@noreply.${s.host}`,
    avatar_url: `${s.origin}/u/${seg(u.username)}/avatar`,
    html_url: `${s.origin}/u/${seg(u.username)}`,
    language: "",
    is_admin: own ? !!u.isAdmin : false,
    last_login: EPOCH,
    created: u.createdAt ? rfc3339(u.createdAt) : EPOCH,
    restricted: false,
    active: true,
    prohibit_login: false,
    location: "",
    website: "",
    description: "",
    visibility: "public",
    followers_count: 0,
    following_count: 0,
    starred_repos_count: 0,
    username: u.username,
  };
}

export const giteaUserOrNull = (s: GiteaSite, u: UserRef | null) => (u ? giteaUser(s, u) : null);

/** The tenant as a Gitea organization; as a repository's owner, as a user object with the org's login. */
export function giteaOrg(s: GiteaSite) {
  return {
    id: 0,
    name: s.org.slug,
    username: s.org.slug,
    full_name: s.org.name,
    email: "",
    avatar_url: `${s.origin}/favicon.ico`,
    description: "",
    website: s.origin,
    location: "",
    visibility: "public",
    repo_admin_change_team_access: false,
  };
}

function orgAsOwner(s: GiteaSite) {
  return { ...giteaUser(s, { id: 0, username: s.org.slug, displayName: s.org.name }), html_url: s.origin };
}

export interface RepoExtras {
  defaultBranch: string;
  openIssues: number;
  empty: boolean;
  permissions: { admin: boolean; push: boolean; pull: boolean };
}

/** Gitea's repository object of a project. */
export function giteaRepo(s: GiteaSite, p: Project, x: RepoExtras) {
  const html = `${s.origin}/p/${seg(p.name)}`;
  return {
    id: p.id,
    owner: orgAsOwner(s),
    name: p.name,
    full_name: `${s.org.slug}/${p.name}`,
    description: p.description,
    empty: x.empty,
    private: p.private,
    fork: false,
    template: false,
    parent: null,
    mirror: false,
    size: 0,
    language: "",
    languages_url: api(s, `/repos/${seg(s.org.slug)}/${seg(p.name)}/languages`),
    html_url: html,
    url: api(s, `/repos/${seg(s.org.slug)}/${seg(p.name)}`),
    link: "",
    ssh_url: "",
    clone_url: `${s.origin}/${seg(p.name)}.git`,
    original_url: "",
    website: "",
    stars_count: 0,
    forks_count: 0,
    watchers_count: 0,
    open_issues_count: x.openIssues,
    open_pr_counter: 0,
    release_counter: 0,
    default_branch: x.defaultBranch,
    archived: false,
    created_at: rfc3339(p.createdAt),
    updated_at: rfc3339(p.updatedAt),
    archived_at: EPOCH,
    permissions: x.permissions,
    has_issues: levelOf(p, "issues") !== "off",
    has_wiki: levelOf(p, "wiki") !== "off",
    has_pull_requests: false,
    has_projects: false,
    has_releases: levelOf(p, "downloads") !== "off",
    has_packages: false,
    has_actions: false,
    internal: false,
    mirror_interval: "",
    object_format_name: "sha1",
    avatar_url: "",
  };
}

const repoUrl = (s: GiteaSite, p: Project) => `/repos/${seg(s.org.slug)}/${seg(p.name)}`;

export function giteaLabel(s: GiteaSite, p: Project, l: GiteaLabelInfo) {
  return {
    id: l.id,
    name: l.name,
    exclusive: l.exclusive,
    is_archived: false,
    color: l.color,
    description: l.description,
    url: api(s, `${repoUrl(s, p)}/labels/${l.id}`),
  };
}

type LabelOf = (name: string) => GiteaLabelInfo;

interface IssueFields {
  id: number;
  number: number;
  summary: string;
  description: string;
  state: string;
  commentCount: number;
  dueDate: string | null;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
}

function giteaIssueOf(
  s: GiteaSite,
  p: Project,
  labelOf: LabelOf,
  i: IssueFields,
  labels: string[],
  submitter: UserRef | null,
  owner: UserRef | null,
) {
  const assignee = giteaUserOrNull(s, owner);
  return {
    id: i.id,
    url: api(s, `${repoUrl(s, p)}/issues/${i.number}`),
    html_url: `${s.origin}/p/${seg(p.name)}/issues/${i.number}`,
    number: i.number,
    user: giteaUserOrNull(s, submitter),
    original_author: "",
    original_author_id: 0,
    title: i.summary,
    body: i.description,
    ref: "",
    assets: [] as never[],
    labels: labels.map((l) => giteaLabel(s, p, labelOf(l))),
    milestone: null,
    assignee,
    assignees: assignee ? [assignee] : null,
    state: i.state === "closed" ? ("closed" as const) : ("open" as const),
    is_locked: false,
    comments: i.commentCount,
    created_at: rfc3339(i.createdAt),
    updated_at: rfc3339(i.updatedAt),
    closed_at: i.closedAt ? rfc3339(i.closedAt) : null,
    due_date: dueDateTime(i.dueDate),
    pull_request: null,
    repository: { id: p.id, name: p.name, owner: s.org.slug, full_name: `${s.org.slug}/${p.name}` },
    pin_order: 0,
  };
}

const ref = (id: number | null, username: string | null, displayName: string | null): UserRef | null =>
  id !== null && username ? { id, username, displayName } : null;

export const giteaIssueFromRow = (s: GiteaSite, p: Project, labelOf: LabelOf, r: IssueRow) =>
  giteaIssueOf(
    s,
    p,
    labelOf,
    r,
    r.labels,
    ref(r.submitterId, r.submitter, r.submitterDisplayName),
    ref(r.ownerId, r.owner, r.ownerDisplayName),
  );

export const giteaIssueFromDetail = (s: GiteaSite, p: Project, labelOf: LabelOf, d: IssueDetail) =>
  giteaIssueOf(s, p, labelOf, d.issue, d.labels, d.submitter, d.owner);

export function giteaComment(s: GiteaSite, p: Project, c: TextComment) {
  return {
    id: c.id,
    html_url: `${s.origin}/p/${seg(p.name)}/issues/${c.issueNumber}#c${c.id}`,
    pull_request_url: "",
    issue_url: api(s, `${repoUrl(s, p)}/issues/${c.issueNumber}`),
    user: giteaUserOrNull(s, c.author),
    original_author: "",
    original_author_id: 0,
    body: c.body,
    assets: [] as never[],
    created_at: rfc3339(c.createdAt),
    updated_at: rfc3339(c.createdAt),
  };
}
