// The REST API of a forge, on its own hosts under /api/v1: the signed-in user, their API tokens,
// projects. Authenticated by `Authorization: token <t>` (or the session cookie, writes then only
// from this site); every project answer goes through canAccess.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../context";
import { apiIdentity } from "../middleware/session";
import { component } from "../middleware/guards";
import { requireApiProject, requireApiUser } from "../middleware/api-guards";
import { canAccess, levelOf, mayCreateProjects, projectVisibility, type Viewer } from "../../auth/access";
import { PROJECT_NAME, createProject, listVisibleProjects, protectedRefs, type Project } from "../../services/projects";
import { getSettings } from "../../services/settings";
import { listTokens, mintToken, revokeToken } from "../../services/tokens";
import type { User } from "../../services/users";
import { ForgeError } from "../../utils/errors";
import { updateProjectSettings } from "../../services/members";
import { listBranches, setDefaultBranch } from "../../services/repositories";
import { refNameProblem } from "../../git/ref-names";
import {
  apiApp,
  apiBodyLimit,
  errorResponse,
  PageQuery,
  setPaginationHeaders,
  jsonBody,
  jsonResponse,
  pagedResponse,
  locationHeader,
} from "./responses";
import { registerIssueApi } from "./issues-api";
import { isDownloadUpload, registerDownloadsApi } from "./downloads-api";
import { registerWikiApi } from "./wiki-api";
import { registerReviewsApi } from "./reviews-api";
import { giteaSite, registerGiteaApi } from "./gitea-api";
import { registerGiteaRepoApi } from "./gitea-repo-api";
import { registerGiteaIssuesApi } from "./gitea-issues-api";
import { registerGiteaLabelsApi } from "./gitea-labels-api";
import { registerGiteaHooksApi } from "./gitea-hooks-api";
import { GiteaUserSchema } from "./gitea-schemas";
import { giteaUser } from "../../services/gitea/model";
import { registerHooksApi } from "./hooks-api";

const LevelSchema = z.enum(["all", "signed-in", "members", "owners", "off"]);

/** Gitea's user object (the same as GET /api/v1/users/{username}) and the forge's own fields. */
const UserSchema = GiteaUserSchema.extend({
  display_name: z.string().nullable(),
  email_confirmed: z.boolean(),
  created_at: z.string(),
}).openapi("User");

const TokenSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    scope: z.enum(["read", "write"]),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
  })
  .openapi("Token");

const NewTokenSchema = TokenSchema.extend({ token: z.string().openapi({ description: "Shown once, never again" }) }).openapi(
  "NewToken",
);

const ProjectSchema = z
  .object({
    id: z.number(),
    name: z.string().openapi({ example: "website" }),
    description: z.string().openapi({ description: "Markdown" }),
    private: z.boolean(),
    access: z.object({
      source: LevelSchema,
      issues: LevelSchema,
      wiki: LevelSchema,
      downloads: LevelSchema,
      review: LevelSchema,
    }),
    role: z.enum(["owner", "member", "authorized"]).nullable().openapi({ description: "The caller's role in the project" }),
    clone_url: z.string(),
    protected_branches: z.array(z.string()).openapi({ description: "Branches that refuse deletion and non-fast-forward pushes" }),
    default_branch: z.string().optional().openapi({ description: "Where HEAD points (single-project answers only)" }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Project");

const authErrors = {
  401: errorResponse("Missing or wrong credentials"),
  403: errorResponse("Not allowed (e.g. a read-only token used to write)"),
};

const NameParam = z.object({ name: z.string().openapi({ param: { name: "name", in: "path" }, example: "website" }) });
const IdParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "id", in: "path" } }),
});

const routes = {
  user: createRoute({
    operationId: "userGetCurrent",
    method: "get",
    path: "/api/v1/user",
    summary: "The authenticated user",
    responses: { 200: jsonResponse(UserSchema, "The user the credential belongs to"), ...authErrors },
  }),
  listTokens: createRoute({
    operationId: "forgeListTokens",
    method: "get",
    path: "/api/v1/user/tokens",
    summary: "The authenticated user's API tokens (without the secrets)",
    responses: { 200: jsonResponse(z.array(TokenSchema), "Tokens, newest first"), ...authErrors },
  }),
  createToken: createRoute({
    operationId: "forgeCreateToken",
    method: "post",
    path: "/api/v1/user/tokens",
    summary: "Create an API token (needs a write credential)",
    request: {
      body: jsonBody(
        z
          .object({ name: z.string().trim().min(1).max(100), scope: z.enum(["read", "write"]).default("read") })
          .openapi("NewTokenRequest"),
      ),
    },
    responses: {
      201: jsonResponse(NewTokenSchema, "The token, shown once"),
      400: errorResponse("Invalid request"),
      ...authErrors,
    },
  }),
  revokeToken: createRoute({
    operationId: "forgeRevokeToken",
    method: "delete",
    path: "/api/v1/user/tokens/{id}",
    summary: "Revoke one of the authenticated user's tokens (needs a write credential)",
    request: { params: IdParam },
    responses: { 204: { description: "Revoked" }, 404: errorResponse("No such token of yours"), ...authErrors },
  }),
  listProjects: createRoute({
    operationId: "forgeListProjects",
    method: "get",
    path: "/api/v1/projects",
    summary: "Projects the caller may see (paginated; Link and X-Total-Count headers)",
    request: { query: PageQuery },
    responses: { 200: pagedResponse(z.array(ProjectSchema), "A page of projects"), 401: errorResponse("Wrong credentials") },
  }),
  getProject: createRoute({
    operationId: "forgeGetProject",
    method: "get",
    path: "/api/v1/projects/{name}",
    summary: "A project (404 when missing or hidden from the caller)",
    request: { params: NameParam },
    responses: {
      200: jsonResponse(ProjectSchema, "The project"),
      404: errorResponse("No such project"),
      401: errorResponse("Wrong credentials"),
    },
  }),
  updateProject: createRoute({
    operationId: "forgeUpdateProject",
    method: "patch",
    path: "/api/v1/projects/{name}",
    summary: "Change a project's settings (owners): description, privacy, default branch, protected branches",
    request: {
      params: NameParam,
      body: jsonBody(
        z
          .object({
            description: z.string().max(2000).optional(),
            private: z.boolean().optional(),
            default_branch: z.string().min(1).max(255).optional(),
            protected_branches: z.array(z.string().min(1).max(255)).max(100).optional(),
          })
          .openapi("ProjectPatch"),
      ),
    },
    responses: {
      200: jsonResponse(ProjectSchema, "The project"),
      400: errorResponse("Invalid request (e.g. no such branch)"),
      404: errorResponse("No such project"),
      ...authErrors,
    },
  }),
  createProject: createRoute({
    operationId: "forgeCreateProject",
    method: "post",
    path: "/api/v1/projects",
    summary: "Create a project, owned by the caller (admins, or anyone if the forge allows it)",
    request: {
      body: jsonBody(
        z
          .object({
            name: z.string().regex(PROJECT_NAME, "lowercase letters, digits, '.', '_' and '-'"),
            description: z.string().max(2000).optional(),
            private: z.boolean().optional(),
          })
          .openapi("NewProject"),
      ),
    },
    responses: {
      201: { ...jsonResponse(ProjectSchema, "The project"), headers: locationHeader },
      400: errorResponse("Invalid request"),
      409: errorResponse("A project of that name exists"),
      ...authErrors,
    },
  }),
};

async function userJson(c: Context<AppEnv>, user: User): Promise<z.infer<typeof UserSchema>> {
  return {
    ...giteaUser(await giteaSite(c), user),
    display_name: user.displayName,
    email_confirmed: !!user.emailConfirmedAt,
    created_at: user.createdAt,
  };
}

function projectJson(c: Context<AppEnv>, viewer: Viewer, p: Project): z.infer<typeof ProjectSchema> {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    private: p.private,
    access: {
      source: levelOf(p, "source"),
      issues: levelOf(p, "issues"),
      wiki: levelOf(p, "wiki"),
      downloads: levelOf(p, "downloads"),
      review: levelOf(p, "review"),
    },
    role: viewer.roles.get(p.id) ?? null,
    clone_url: `${new URL(c.req.url).origin}/${p.name}.git`,
    protected_branches: protectedRefs(p).map((r) => r.slice(11)),
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

/** Gitea's other ways to send the same credential (routes/middleware/session.ts reads them all). */
const extraSchemes = {
  AccessToken: { type: "apiKey", in: "query", name: "access_token", description: "An API token" },
  TokenQuery: { type: "apiKey", in: "query", name: "token", description: "An API token" },
  Basic: { type: "http", scheme: "basic", description: "Username and an API token or the account's password" },
  Bearer: { type: "http", scheme: "bearer", description: "An API token" },
} as const;

export function tenantApi() {
  const app = apiApp();
  app.openAPIRegistry.registerComponent("securitySchemes", "Token", {
    type: "apiKey",
    in: "header",
    name: "Authorization",
    description: "`token <API token>`; tokens are made on the account's API tokens page",
  });
  for (const [name, scheme] of Object.entries(extraSchemes))
    app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  app.doc31("/api/v1/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Edgeforge forge API",
      version: "1",
      description:
        "The forge's own API (/api/v1/projects/...) and a Gitea-compatible subset (/api/v1/repos/..., /orgs, /users, /version): docs/api.md in the repository lists what each supports.",
      // OpenAPI 3.1's SPDX `identifier` (redocly's recommended rules want a license named
      // precisely); the generator's types know only 3.0's name and url.
      license: { name: "Proprietary", identifier: "LicenseRef-Proprietary" } as { name: string },
    },
    // Every forge serves this document from its own hosts: "/" is the host it was read from.
    servers: [{ url: "/", description: "This forge: the host that serves this document" }],
    security: ["Token", "AccessToken", "TokenQuery", "Basic", "Bearer"].map((name): Record<string, string[]> => ({ [name]: [] })),
  });
  // Only under /api: this app's middleware would otherwise run for every page of the forge too.
  // What each group meters as, and who may call it.
  app.use("/api/v1/user", component("api.user"), requireApiUser);
  app.use("/api/v1/user/tokens/*", component("api.tokens"), requireApiUser);
  app.use("/api/v1/projects/*", component("api.projects"));
  app.on(["POST", "PATCH"], ["/api/v1/projects", "/api/v1/projects/:name"], requireApiUser);
  app.on(["GET", "PATCH"], "/api/v1/projects/:name", requireApiProject);
  app.use(
    "/api/*",
    apiBodyLimit(
      (method, path) =>
        (method === "POST" &&
          (/^\/api\/v1\/projects\/[^/]+\/issues\/\d+\/attachments$/.test(path) ||
            /^\/api\/v1\/projects\/[^/]+\/wiki\/pages\/[^/]+\/resources$/.test(path))) ||
        isDownloadUpload(method, path),
    ),
  );

  app.openapi(routes.user, async (c) => {
    const user = c.get("user");
    return c.json(await userJson(c, user), 200);
  });

  app.openapi(routes.listTokens, async (c) => {
    const user = c.get("user");
    const tokens = await listTokens(c.get("db"), user.id);
    return c.json(
      tokens.map((t) => ({ id: t.id, name: t.name, scope: t.scope, created_at: t.createdAt, last_used_at: t.lastUsedAt })),
      200,
    );
  });

  app.openapi(routes.createToken, async (c) => {
    const user = c.get("user");
    const body = c.req.valid("json");
    const t = await mintToken(c.get("db"), user, body.name, body.scope);
    c.header("Cache-Control", "no-store");
    return c.json({ id: t.id, name: t.name, scope: t.scope, created_at: t.createdAt, last_used_at: null, token: t.token }, 201);
  });

  app.openapi(routes.revokeToken, async (c) => {
    const user = c.get("user");
    if (!(await revokeToken(c.get("db"), user.id, c.req.valid("param").id))) {
      throw new ForgeError("not_found", "You have no token with this id.");
    }
    return c.body(null, 204);
  });

  app.openapi(routes.listProjects, async (c) => {
    const { viewer } = await apiIdentity(c);
    const { page, limit } = c.req.valid("query");
    const { items, total } = await listVisibleProjects(c.get("db"), projectVisibility(viewer), {
      offset: (page - 1) * limit,
      limit,
    });
    setPaginationHeaders(c, total, page, limit);
    return c.json(
      items.filter((p) => canAccess(viewer, p, "project", "read")).map((p) => projectJson(c, viewer, p)),
      200,
    );
  });

  app.openapi(routes.getProject, async (c) => {
    const viewer = c.get("viewer");
    const project = c.get("project");
    const { head } = await listBranches(c.env, { tenantId: c.get("tenant").id, repoId: project.repoId });
    return c.json({ ...projectJson(c, viewer, project), default_branch: head }, 200);
  });

  app.openapi(routes.updateProject, async (c) => {
    const viewer = c.get("viewer");
    const project = c.get("project");
    const body = c.req.valid("json");
    for (const b of body.protected_branches ?? []) {
      if (refNameProblem(`refs/heads/${b}`)) throw new ForgeError("bad_request", `"${b}" is not a valid branch name`);
    }
    const repo = { tenantId: c.get("tenant").id, repoId: project.repoId };
    if (body.default_branch !== undefined) await setDefaultBranch(c.env, repo, body.default_branch);
    const updated = await updateProjectSettings(c.get("db"), c.get("tenant").id, project, {
      description: body.description,
      private: body.private,
      protectedBranches: body.protected_branches,
    });
    const { head } = await listBranches(c.env, repo);
    return c.json({ ...projectJson(c, viewer, updated), default_branch: head }, 200);
  });

  app.openapi(routes.createProject, async (c) => {
    const user = c.get("user");
    const viewer = c.get("viewer");
    if (!mayCreateProjects(user, (await getSettings(c.get("db"))).projectCreation)) {
      throw new ForgeError("forbidden", "On this forge, only admins create projects.");
    }
    const body = c.req.valid("json");
    const project = await createProject(c.get("db"), { ...body, ownerId: user.id });
    const roles = new Map(viewer.roles).set(project.id, "owner");
    c.header("Location", `/api/v1/projects/${project.name}`);
    return c.json(projectJson(c, { ...viewer, roles }, project), 201);
  });

  registerGiteaApi(app);
  registerGiteaRepoApi(app);
  registerGiteaIssuesApi(app);
  registerGiteaLabelsApi(app);
  registerGiteaHooksApi(app);
  registerIssueApi(app);
  registerDownloadsApi(app);
  registerWikiApi(app);
  registerReviewsApi(app);
  registerHooksApi(app);
  return app;
}
