// The Gitea-compatible API's forge-wide routes: version, settings, users, the organization (the
// tenant), its repositories (the projects) and repository search; the repository routes are
// registered from gitea-repo-api.ts and gitea-issues-api.ts.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { component } from "../middleware/guards";
import { requireGiteaRepo } from "../middleware/api-guards";
import { apiIdentity } from "../middleware/session";
import { canAccess, projectVisibility } from "../../auth/access";
import type { Project } from "../../services/projects";
import { listBranches } from "../../services/repositories";
import { findUserByName } from "../../services/users";
import { giteaOrg, giteaRepo, giteaUser, type GiteaSite } from "../../services/gitea/model";
import { openIssueCounts, searchProjects } from "../../services/gitea/repos";
import { ForgeError } from "../../utils/errors";
import {
  DEFAULT_PAGING_NUM,
  GiteaPageQuery,
  MAX_RESPONSE_ITEMS,
  giteaError,
  jsonResponse,
  pageOf,
  pagedResponse,
  setPaginationHeaders,
} from "./responses";
import { GiteaOrgSchema, GiteaRepoSchema, GiteaUserSchema, RepoParams } from "./gitea-schemas";

/** The Gitea API version this subset follows (semver, so clients that compare versions can). */
export const GITEA_VERSION = "1.23.0+edgeforge";

/** Who and where, for the mappers of services/gitea/model.ts. */
export async function giteaSite(c: Context<AppEnv>): Promise<GiteaSite> {
  const url = new URL(c.req.url);
  const tenant = c.get("tenant");
  const { viewer } = await apiIdentity(c);
  return { origin: url.origin, host: url.hostname, org: { slug: tenant.slug, name: tenant.name }, viewer };
}

/** Gitea's repository objects of projects, with their default branches and open issue counts. */
export async function giteaRepos(c: Context<AppEnv>, site: GiteaSite, items: Project[]) {
  const counts = await openIssueCounts(
    c.get("db"),
    items.filter((p) => canAccess(site.viewer, p, "issues", "read")).map((p) => p.id),
  );
  return Promise.all(
    items.map(async (p) => {
      const readsSource = canAccess(site.viewer, p, "source", "read");
      const refs = readsSource ? await listBranches(c.env, { tenantId: c.get("tenant").id, repoId: p.repoId }) : null;
      return giteaRepo(site, p, {
        defaultBranch: refs ? refs.head : "main",
        empty: refs ? refs.branches.length === 0 : true,
        openIssues: counts.get(p.id) ?? 0,
        permissions: {
          admin: canAccess(site.viewer, p, "admin", "write"),
          push: canAccess(site.viewer, p, "source", "write"),
          pull: readsSource,
        },
      });
    }),
  );
}

const tag = ["Gitea"];
const errors = {
  401: giteaError("Wrong credentials"),
  404: giteaError("Not found, or hidden from the caller"),
};

const OrgParam = z.object({ org: z.string().openapi({ param: { name: "org", in: "path", required: true }, example: "acme" }) });

const routes = {
  version: createRoute({
    method: "get",
    path: "/api/v1/version",
    operationId: "getVersion",
    tags: tag,
    summary: "The Gitea API version this forge follows",
    security: [],
    responses: {
      200: jsonResponse(z.object({ version: z.string() }).openapi("ServerVersion"), "The version"),
      404: giteaError("No forge at this address"),
    },
  }),
  settings: createRoute({
    method: "get",
    path: "/api/v1/settings/api",
    operationId: "getGeneralAPISettings",
    tags: tag,
    summary: "Paging limits of the API",
    security: [],
    responses: {
      200: jsonResponse(
        z
          .object({
            max_response_items: z.number().int(),
            default_paging_num: z.number().int(),
            default_git_trees_per_page: z.number().int(),
            default_max_blob_size: z.number().int(),
          })
          .openapi("GeneralAPISettings"),
        "The settings",
      ),
      404: giteaError("No forge at this address"),
    },
  }),
  user: createRoute({
    method: "get",
    path: "/api/v1/users/{username}",
    operationId: "userGet",
    tags: tag,
    summary: "A user of this forge",
    request: {
      params: z.object({ username: z.string().openapi({ param: { name: "username", in: "path", required: true } }) }),
    },
    responses: { 200: jsonResponse(GiteaUserSchema, "The user"), ...errors },
  }),
  org: createRoute({
    method: "get",
    path: "/api/v1/orgs/{org}",
    operationId: "orgGet",
    tags: tag,
    summary: "The organization: this forge (its slug is the org's name)",
    request: { params: OrgParam },
    responses: { 200: jsonResponse(GiteaOrgSchema, "The organization"), ...errors },
  }),
  orgRepos: createRoute({
    method: "get",
    path: "/api/v1/orgs/{org}/repos",
    operationId: "orgListRepos",
    tags: tag,
    summary: "The forge's repositories (projects) the caller may see, by name",
    request: { params: OrgParam, query: GiteaPageQuery },
    responses: { 200: pagedResponse(z.array(GiteaRepoSchema), "A page of repositories"), ...errors },
  }),
  search: createRoute({
    method: "get",
    path: "/api/v1/repos/search",
    operationId: "repoSearch",
    tags: tag,
    summary: "Search the repositories the caller may see by name (and description with includeDesc)",
    request: {
      query: GiteaPageQuery.extend({
        q: z.string().max(200).optional().openapi({ description: "Part of the name" }),
        includeDesc: z.enum(["true", "false"]).optional(),
        is_private: z.enum(["true", "false"]).optional(),
      }),
    },
    responses: {
      200: pagedResponse(
        z.object({ ok: z.boolean(), data: z.array(GiteaRepoSchema) }).openapi("SearchResults"),
        "A page of repositories",
      ),
      ...errors,
    },
  }),
  repo: createRoute({
    method: "get",
    path: "/api/v1/repos/{owner}/{repo}",
    operationId: "repoGet",
    tags: tag,
    summary: "A repository (project)",
    request: { params: RepoParams },
    responses: { 200: jsonResponse(GiteaRepoSchema, "The repository"), ...errors },
  }),
};

const requireOrg = (c: Context<AppEnv>, org: string) => {
  if (org.toLowerCase() !== c.get("tenant").slug.toLowerCase())
    throw new ForgeError("not_found", `organization ${org} not found`);
};

export function registerGiteaApi(app: OpenAPIHono<AppEnv>): void {
  app.use("/api/v1/version", component("api.gitea.meta"));
  app.use("/api/v1/settings/*", component("api.gitea.meta"));
  app.use("/api/v1/users/*", component("api.gitea.users"));
  app.use("/api/v1/orgs/*", component("api.gitea.orgs"));
  app.use("/api/v1/repos/search", component("api.gitea.repos"));
  app.use("/api/v1/repos/:owner/:repo", component("api.gitea.repos"), requireGiteaRepo("project"));

  app.openapi(routes.version, (c) => c.json({ version: GITEA_VERSION }, 200));

  app.openapi(routes.settings, (c) =>
    c.json(
      {
        max_response_items: MAX_RESPONSE_ITEMS,
        default_paging_num: DEFAULT_PAGING_NUM,
        default_git_trees_per_page: 1000,
        default_max_blob_size: 1024 * 1024,
      },
      200,
    ),
  );

  app.openapi(routes.user, async (c) => {
    const site = await giteaSite(c);
    const user = await findUserByName(c.get("db"), c.req.valid("param").username);
    if (!user?.isActive) throw new ForgeError("not_found", `user ${c.req.valid("param").username} not found`);
    return c.json(giteaUser(site, user), 200);
  });

  app.openapi(routes.org, async (c) => {
    requireOrg(c, c.req.valid("param").org);
    return c.json(giteaOrg(await giteaSite(c)), 200);
  });

  app.openapi(routes.orgRepos, async (c) => {
    requireOrg(c, c.req.valid("param").org);
    const site = await giteaSite(c);
    const { page, limit } = pageOf(c.req.valid("query"));
    const { items, total } = await searchProjects(c.get("db"), projectVisibility(site.viewer), {
      offset: (page - 1) * limit,
      limit,
    });
    setPaginationHeaders(c, total, page, limit);
    return c.json(await giteaRepos(c, site, items), 200);
  });

  app.openapi(routes.search, async (c) => {
    const site = await giteaSite(c);
    const q = c.req.valid("query");
    const { page, limit } = pageOf(q);
    const { items, total } = await searchProjects(c.get("db"), projectVisibility(site.viewer), {
      q: q.q,
      inDescription: q.includeDesc === "true",
      private: q.is_private === undefined ? undefined : q.is_private === "true",
      offset: (page - 1) * limit,
      limit,
    });
    setPaginationHeaders(c, total, page, limit);
    return c.json({ ok: true, data: await giteaRepos(c, site, items) }, 200);
  });

  app.openapi(routes.repo, async (c) => {
    const site = await giteaSite(c);
    const [repo] = await giteaRepos(c, site, [c.get("project")]);
    return c.json(repo!, 200);
  });
}
