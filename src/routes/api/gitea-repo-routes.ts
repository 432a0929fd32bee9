// OpenAPI routes of the Gitea-compatible API's source routes (gitea-repo-api.ts handles them):
// Gitea's commit, branch, tag and contents objects. Contents, raw and archive paths hold slashes,
// so those are only documented here and matched by the handlers themselves.
import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import { GiteaPageQuery, giteaError, jsonResponse, pagedResponse } from "./responses";
import { RepoParams } from "./gitea-schemas";

/** Most commits a commits page walks past (page × limit): deeper pages need a path or a sha. */
export const COMMITS_WALK_MAX = 5000;

const Sig = z.object({ name: z.string(), email: z.string(), date: z.string() });
const CommitSchema = z
  .object({
    url: z.string(),
    sha: z.string(),
    created: z.string(),
    html_url: z.string(),
    commit: z.object({
      url: z.string(),
      author: Sig,
      committer: Sig,
      message: z.string(),
      tree: z.object({ url: z.string(), sha: z.string(), created: z.string() }),
    }),
    author: z.null(),
    committer: z.null(),
    parents: z.array(z.object({ url: z.string(), sha: z.string(), created: z.string() })),
  })
  .openapi("GiteaCommit");
const PayloadCommit = z
  .object({ id: z.string(), message: z.string(), url: z.string(), author: Sig, committer: Sig, timestamp: z.string() })
  .openapi("GiteaPayloadCommit");
const BranchSchema = z
  .object({
    name: z.string(),
    commit: PayloadCommit,
    protected: z.boolean(),
    required_approvals: z.number().int(),
    enable_status_check: z.boolean(),
    status_check_contexts: z.array(z.string()),
    user_can_push: z.boolean(),
    user_can_merge: z.boolean(),
    effective_branch_protection_name: z.string(),
  })
  .openapi("GiteaBranch");
const TagSchema = z
  .object({
    name: z.string(),
    message: z.string(),
    id: z.string(),
    commit: z.object({ url: z.string(), sha: z.string(), created: z.string() }),
    zipball_url: z.string(),
    tarball_url: z.string(),
  })
  .openapi("GiteaTag");

const errors = { 404: giteaError("No such repository, branch or commit, or hidden from the caller") };

/** A GET route of a repository (`path` below /api/v1/repos/{owner}/{repo}), with the 404 every one has. */
const repoGet = <const R extends RouteConfig["request"], const S extends RouteConfig["responses"], const P extends string>(
  path: P,
  operationId: string,
  summary: string,
  request: R,
  responses: S,
) =>
  createRoute({
    method: "get",
    path: `/api/v1/repos/{owner}/{repo}${path}` as const,
    operationId,
    tags: ["Gitea repository"],
    summary,
    request,
    responses: { ...responses, ...errors },
  });
export const routes = {
  branches: repoGet(
    "/branches",
    "repoListBranches",
    "Branches, by name",
    { params: RepoParams, query: GiteaPageQuery },
    { 200: pagedResponse(z.array(BranchSchema), "A page of branches") },
  ),
  branch: repoGet(
    "/branches/{branch}",
    "repoGetBranch",
    "A branch",
    {
      params: RepoParams.extend({ branch: z.string().openapi({ param: { name: "branch", in: "path", required: true } }) }),
    },
    { 200: jsonResponse(BranchSchema, "The branch") },
  ),
  tags: repoGet(
    "/tags",
    "repoListTags",
    "Tags, by name",
    { params: RepoParams, query: GiteaPageQuery },
    { 200: pagedResponse(z.array(TagSchema), "A page of tags") },
  ),
  commits: repoGet(
    "/commits",
    "repoGetAllCommits",
    `Commits, newest first, from a branch, tag or commit (sha), optionally touching a path; at most ${COMMITS_WALK_MAX} deep`,
    {
      params: RepoParams,
      query: GiteaPageQuery.extend({
        sha: z.string().max(255).optional().openapi({ description: "Branch, tag or commit to start from (default branch)" }),
        path: z.string().max(4096).optional().openapi({ description: "Only commits that change this path" }),
      }),
    },
    {
      200: {
        ...pagedResponse(z.array(CommitSchema), "A page of commits"),
        headers: {
          Link: { description: "Links to the first, previous and next pages", schema: { type: "string" } },
          "X-HasMore": { description: "true when there are more commits", schema: { type: "string" } },
        },
      },
    },
  ),
};

const ContentSchema = z
  .object({
    name: z.string(),
    path: z.string(),
    sha: z.string(),
    last_commit_sha: z.string(),
    type: z.enum(["file", "dir", "symlink", "submodule"]),
    size: z.number().int(),
    encoding: z.string().nullable(),
    content: z.string().nullable().openapi({ description: "Base64; null for directories and files over 1 MiB" }),
    target: z.string().nullable(),
    url: z.string(),
    html_url: z.string(),
    git_url: z.string(),
    download_url: z.string().nullable(),
    submodule_git_url: z.string().nullable(),
    _links: z.object({ self: z.string(), git: z.string(), html: z.string() }),
  })
  .openapi("GiteaContents");

const RefQuery = z.object({
  ref: z.string().max(255).optional().openapi({ description: "Branch, tag or commit (default branch)" }),
});
const FileParams = RepoParams.extend({
  filepath: z.string().openapi({ param: { name: "filepath", in: "path", required: true }, example: "README.md" }),
});
/** Documented only: the handlers match paths with slashes (Hono's `{.+}`), which createRoute cannot. */
export const pathRoutes = {
  contents: repoGet(
    "/contents/{filepath}",
    "repoGetContents",
    "A file (with its content in base64) or a directory's entries; `contents` alone lists the root",
    { params: FileParams, query: RefQuery },
    { 200: jsonResponse(z.union([ContentSchema, z.array(ContentSchema)]), "The file or the entries") },
  ),
  contentsRoot: repoGet(
    "/contents",
    "repoGetContentsList",
    "The root directory's entries",
    { params: RepoParams, query: RefQuery },
    { 200: jsonResponse(z.array(ContentSchema), "The entries") },
  ),
  raw: repoGet(
    "/raw/{filepath}",
    "repoGetRawFile",
    "A file's bytes (never rendered as a page of this site)",
    { params: FileParams, query: RefQuery },
    {
      200: {
        description: "The file",
        content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
      },
    },
  ),
  archive: repoGet(
    "/archive/{archive}",
    "repoGetArchive",
    "An archive of a branch, tag or commit: `<ref>.zip` or `<ref>.tar.gz` (streamed)",
    {
      params: RepoParams.extend({
        archive: z.string().openapi({ param: { name: "archive", in: "path", required: true }, example: "main.tar.gz" }),
      }),
    },
    {
      200: {
        description: "The archive",
        content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
      },
    },
  ),
};
