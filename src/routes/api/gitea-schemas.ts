// OpenAPI schemas of the Gitea-compatible API: Gitea's object shapes (services/gitea/model.ts
// fills them) and the parameters its routes share.
import { z } from "@hono/zod-openapi";

const time = () => z.string().openapi({ format: "date-time" });

export const GiteaUserSchema = z
  .object({
    id: z.number().int(),
    login: z.string(),
    login_name: z.string(),
    full_name: z.string(),
    email: z.string().openapi({ description: "The address to the user and admins; `<login>@noreply.<host>` to others" }),
    avatar_url: z.string(),
    html_url: z.string(),
    language: z.string(),
    is_admin: z.boolean(),
    last_login: time(),
    created: time(),
    restricted: z.boolean(),
    active: z.boolean(),
    prohibit_login: z.boolean(),
    location: z.string(),
    website: z.string(),
    description: z.string(),
    visibility: z.string(),
    followers_count: z.number().int(),
    following_count: z.number().int(),
    starred_repos_count: z.number().int(),
    username: z.string(),
  })
  .openapi("GiteaUser");

export const GiteaOrgSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    username: z.string(),
    full_name: z.string(),
    email: z.string(),
    avatar_url: z.string(),
    description: z.string(),
    website: z.string(),
    location: z.string(),
    visibility: z.string(),
    repo_admin_change_team_access: z.boolean(),
  })
  .openapi("GiteaOrganization");

export const GiteaRepoSchema = z
  .object({
    id: z.number().int(),
    owner: GiteaUserSchema,
    name: z.string(),
    full_name: z.string(),
    description: z.string(),
    empty: z.boolean(),
    private: z.boolean(),
    fork: z.boolean(),
    template: z.boolean(),
    parent: z.null(),
    mirror: z.boolean(),
    size: z.number().int(),
    language: z.string(),
    languages_url: z.string(),
    html_url: z.string(),
    url: z.string(),
    link: z.string(),
    ssh_url: z.string(),
    clone_url: z.string(),
    original_url: z.string(),
    website: z.string(),
    stars_count: z.number().int(),
    forks_count: z.number().int(),
    watchers_count: z.number().int(),
    open_issues_count: z.number().int(),
    open_pr_counter: z.number().int(),
    release_counter: z.number().int(),
    default_branch: z.string(),
    archived: z.boolean(),
    created_at: time(),
    updated_at: time(),
    archived_at: time(),
    permissions: z.object({ admin: z.boolean(), push: z.boolean(), pull: z.boolean() }),
    has_issues: z.boolean(),
    has_wiki: z.boolean(),
    has_pull_requests: z.boolean(),
    has_projects: z.boolean(),
    has_releases: z.boolean(),
    has_packages: z.boolean(),
    has_actions: z.boolean(),
    internal: z.boolean(),
    mirror_interval: z.string(),
    object_format_name: z.string(),
    avatar_url: z.string(),
  })
  .openapi("GiteaRepository");

export const GiteaLabelSchema = z
  .object({
    id: z.number().int().openapi({ description: "Stable: derived from the label's lowercase name" }),
    name: z.string().openapi({ example: "Type:Defect" }),
    exclusive: z.boolean().openapi({ description: "Its class (before the colon) is a one-value class" }),
    is_archived: z.boolean(),
    color: z.string().openapi({ example: "e11d21" }),
    description: z.string(),
    url: z.string(),
  })
  .openapi("GiteaLabel");

export const GiteaIssueSchema = z
  .object({
    id: z.number().int(),
    url: z.string(),
    html_url: z.string(),
    number: z.number().int(),
    user: GiteaUserSchema.nullable(),
    original_author: z.string(),
    original_author_id: z.number().int(),
    title: z.string(),
    body: z.string(),
    ref: z.string(),
    assets: z.array(z.unknown()).openapi({ description: "Always empty: no attachments here" }),
    labels: z.array(GiteaLabelSchema),
    milestone: z.null(),
    assignee: GiteaUserSchema.nullable(),
    assignees: z.array(GiteaUserSchema).nullable(),
    state: z.enum(["open", "closed"]),
    is_locked: z.boolean(),
    comments: z.number().int().openapi({ description: "Comments with text: as many as /comments lists" }),
    created_at: time(),
    updated_at: time(),
    closed_at: time().nullable(),
    due_date: time().nullable(),
    pull_request: z.null(),
    repository: z.object({ id: z.number().int(), name: z.string(), owner: z.string(), full_name: z.string() }),
    pin_order: z.number().int(),
  })
  .openapi("GiteaIssue");

export const GiteaCommentSchema = z
  .object({
    id: z.number().int(),
    html_url: z.string(),
    pull_request_url: z.string(),
    issue_url: z.string(),
    user: GiteaUserSchema.nullable(),
    original_author: z.string(),
    original_author_id: z.number().int(),
    body: z.string(),
    assets: z.array(z.unknown()).openapi({ description: "Always empty: no attachments here" }),
    created_at: time(),
    updated_at: time(),
  })
  .openapi("GiteaComment");

const path = (name: string, example?: string) =>
  z.string().openapi({ param: { name, in: "path", required: true }, ...(example ? { example } : {}) });

export const RepoParams = z.object({ owner: path("owner", "acme"), repo: path("repo", "website") });
export const IssueParams = RepoParams.extend({
  index: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "index", in: "path", required: true }, example: 1 }),
});
export const idParam = (name: string) =>
  z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name, in: "path", required: true }, example: 1 });

export const GiteaHookSchema = z
  .object({
    id: z.number().int(),
    type: z.literal("gitea"),
    branch_filter: z.string().openapi({ description: "Always empty: every branch" }),
    config: z
      .object({ url: z.string(), content_type: z.enum(["json", "form"]) })
      .openapi({ description: "The secret is write-only: never returned" }),
    events: z.array(z.string()).openapi({ example: ["push", "issues"] }),
    authorization_header: z.string().openapi({ description: "Always empty (not supported)" }),
    active: z.boolean(),
    created_at: time(),
    updated_at: time(),
  })
  .openapi("GiteaHook");
