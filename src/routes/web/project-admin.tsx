// A project's admin pages (owners and tenant admins): description, visibility, per-area access
// levels, members and authorized users; its webhooks pages (project-hooks.tsx) are mounted here.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../context";
import { component, requireProjectAdmin } from "../middleware/guards";
import { showFormErrors } from "../middleware/errors";
import {
  ACCESS_LEVELS,
  AREAS_WITH_LEVELS,
  isAccessLevel,
  levelOf,
  type AccessLevel,
  type LeveledArea,
  type ProjectRole,
} from "../../auth/access";
import { PROJECT_ROLES, listMembers, removeMember, setMember, updateProjectSettings } from "../../services/members";
import { protectedRefs, type Project } from "../../services/projects";
import { listBranches, purgeUnreachable, setDefaultBranch } from "../../services/repositories";
import type { PurgeResult } from "../../repo/repo-object";
import { refNameProblem } from "../../git/ref-names";
import { findUserByName } from "../../services/users";
import { ForgeError, badRequest } from "../../utils/errors";
import { Layout } from "../../views/layout";
import { Field, Notice, PostButton, SubmitRow, TextArea } from "../../views/forms";
import { readForm } from "./helpers";
import { webViewer } from "../middleware/session";
import { projectHookRoutes } from "./project-hooks";

export const projectAdminRoutes = new Hono<AppEnv>();
projectAdminRoutes.route("/", projectHookRoutes);

type Ctx = Context<AppEnv>;

const DONE: Record<string, string> = {
  settings: "Settings saved.",
  members: "Members updated.",
  repository: "Repository settings saved.",
  purged: "Objects no branch or tag reaches were removed: pages, archives and clones no longer have them.",
  clean: "Nothing to remove: the repository holds only what its branches and tags reach.",
};

const LEVEL_LABELS: Record<AccessLevel, string> = {
  all: "everyone",
  "signed-in": "signed-in users",
  members: "members",
  owners: "owners",
  off: "off",
};

const ROLE_LABELS: Record<ProjectRole, string> = {
  owner: "owner",
  member: "member",
  authorized: "authorized (sees a private project)",
};

async function adminPage(c: Ctx, project: Project, error?: string, status: 200 | 400 | 404 | 409 = 200) {
  const members = await listMembers(c.get("db"), project.id);
  const { head, branches } = await listBranches(c.env, { tenantId: c.get("tenant").id, repoId: project.repoId });
  const protectedBranches = protectedRefs(project).map((r) => r.slice(11));
  const ok = DONE[c.req.query("ok") ?? ""];
  const base = `/p/${project.name}/admin`;
  return c.html(
    <Layout
      title={`${project.name} settings`}
      forgeName={c.get("tenant").name}
      crumbs={[{ label: project.name, href: `/p/${project.name}/` }, { label: "Admin" }]}
      project={{ project, viewer: await webViewer(c), current: "admin" }}
    >
      <h1>{project.name} · settings</h1>
      <p>
        <a href={`${base}/notifications`}>Notification addresses</a>: mail this project's news to a list.
      </p>
      {ok && <Notice kind="ok">{ok}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      <form method="post" action={`${base}/settings`} class="stack wide">
        <TextArea label="Description" name="description" value={project.description} maxlength={2000} hint="Markdown." />
        <label class="check">
          <input type="checkbox" name="private" value="1" checked={project.private} /> Private: only members and authorized users
          see the project at all
        </label>
        <fieldset>
          <legend>Who may read each area</legend>
          <table class="list access">
            <thead>
              <tr>
                <th scope="col">Area</th>
                <th scope="col">Readable by</th>
              </tr>
            </thead>
            <tbody>
              {AREAS_WITH_LEVELS.map((area) => (
                <tr>
                  <td>
                    <label for={`f-access-${area}`}>{area}</label>
                  </td>
                  <td>
                    <select id={`f-access-${area}`} name={`access_${area}`}>
                      {ACCESS_LEVELS.map((level) => (
                        <option value={level} selected={levelOf(project, area) === level}>
                          {LEVEL_LABELS[level]}
                        </option>
                      ))}
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="hint muted">Members push, edit the wiki and upload files; signed-in readers file issues and comment.</p>
        </fieldset>
        <SubmitRow label="Save settings" />
      </form>

      <h2>Repository</h2>
      <form method="post" action={`${base}/repository`} class="stack wide">
        {branches.length > 0 ? (
          <div class="field">
            <label for="f-default-branch">Default branch</label>
            <select id="f-default-branch" name="default_branch">
              {branches.map((b) => (
                <option value={b} selected={b === head}>
                  {b}
                </option>
              ))}
            </select>
          </div>
        ) : (
          <p class="muted">The repository is empty: its first push sets the default branch.</p>
        )}
        <Field
          label="Protected branches"
          name="protected_branches"
          value={protectedBranches.join(" ")}
          maxlength={2000}
          hint="Branch names separated by spaces: pushes may not delete them or rewrite their history."
        />
        <label class="check">
          <input type="checkbox" name="protected_need_approval" value="1" checked={project.protectedNeedApproval} /> Reviews merge
          into a protected branch only once someone other than their author approves them
        </label>
        <SubmitRow label="Save repository settings" />
      </form>

      <h2>Unreachable objects</h2>
      <p class="muted">
        Commits of deleted or rewritten branches stay stored (though never shown or served) until the repository is compacted. If
        one held something that must go now, such as a password, remove it at once. Clones in progress are not interrupted.
      </p>
      <PostButton action={`${base}/purge`} label="Remove unreachable objects now" danger />

      <h2>Webhooks</h2>
      <p>
        <a href={`${base}/hooks`}>Webhooks</a>: signed POSTs to your CI or chat on pushes, issues, comments, wiki edits, downloads
        and reviews, with a log of each delivery.
      </p>

      <h2>Members</h2>
      <table class="list">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Role</th>
            <th scope="col"></th>
          </tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr>
              <td>
                <a href={`/u/${encodeURIComponent(m.username)}`}>{m.username}</a>
                {m.displayName && <span class="muted"> · {m.displayName}</span>}
              </td>
              <td>{ROLE_LABELS[m.role]}</td>
              <td>
                <PostButton action={`${base}/members/${m.userId}/delete`} label="Remove" danger />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Add someone or change a role</h2>
      <form method="post" action={`${base}/members`} class="stack">
        <Field label="Username" name="username" required maxlength={40} />
        <div class="field">
          <label for="f-role">Role</label>
          <select id="f-role" name="role">
            {PROJECT_ROLES.map((r) => (
              <option value={r} selected={r === "member"}>
                {ROLE_LABELS[r]}
              </option>
            ))}
          </select>
        </div>
        <SubmitRow label="Save member" />
      </form>
    </Layout>,
    status,
  );
}

projectAdminRoutes.get("/p/:project/admin", component("web.project.admin"), requireProjectAdmin("read"), (c) => {
  const project = c.get("project");
  return adminPage(c, project);
});

projectAdminRoutes.post("/p/:project/admin/settings", component("web.project.admin"), requireProjectAdmin("write"), async (c) => {
  const project = c.get("project");
  const form = await readForm(c);
  showFormErrors(c, async ({ message }) => {
    return adminPage(c, project, message, 400);
  });
  const description = form.description ?? "";
  if (description.length > 2000) throw badRequest("A description has at most 2,000 characters.");
  const access: Partial<Record<LeveledArea, AccessLevel>> = {};
  for (const area of AREAS_WITH_LEVELS) {
    const value = form[`access_${area}`];
    if (value === undefined) continue;
    if (!isAccessLevel(value)) throw badRequest(`Unknown access level for ${area}.`);
    access[area] = value;
  }
  await updateProjectSettings(c.get("db"), c.get("tenant").id, project, { description, private: form.private === "1", access });
  return c.redirect(`/p/${project.name}/admin?ok=settings`, 303);
});

projectAdminRoutes.post(
  "/p/:project/admin/repository",
  component("web.project.admin"),
  requireProjectAdmin("write"),
  async (c) => {
    const project = c.get("project");
    const form = await readForm(c);
    showFormErrors(c, async ({ message }) => {
      return adminPage(c, project, message, 400);
    });
    const names = [...new Set((form.protected_branches ?? "").split(/[\s,]+/).filter(Boolean))];
    for (const name of names) {
      if (refNameProblem(`refs/heads/${name}`)) throw badRequest(`"${name}" is not a valid branch name.`);
    }
    if (names.length > 100) throw badRequest("Protect at most 100 branches.");
    await updateProjectSettings(c.get("db"), c.get("tenant").id, project, {
      protectedBranches: names,
      protectedNeedApproval: form.protected_need_approval === "1",
    });
    if (form.default_branch) {
      await setDefaultBranch(c.env, { tenantId: c.get("tenant").id, repoId: project.repoId }, form.default_branch);
    }
    return c.redirect(`/p/${project.name}/admin?ok=repository`, 303);
  },
);

projectAdminRoutes.post("/p/:project/admin/purge", component("web.project.admin"), requireProjectAdmin("write"), async (c) => {
  const project = c.get("project");
  let result: PurgeResult;
  try {
    result = await purgeUnreachable(c.env, { tenantId: c.get("tenant").id, repoId: project.repoId });
  } catch (err) {
    if (!/kept changing/.test(String((err as Error)?.message))) throw err;
    return adminPage(
      c,
      project,
      "Pushes kept arriving while the repository was being rewritten: nothing was removed. Try again.",
      409,
    );
  }
  return c.redirect(`/p/${project.name}/admin?ok=${result.purged ? "purged" : "clean"}`, 303);
});

projectAdminRoutes.post("/p/:project/admin/members", component("web.project.admin"), requireProjectAdmin("write"), async (c) => {
  const project = c.get("project");
  const form = await readForm(c);
  showFormErrors(c, async ({ status, message }) => {
    return adminPage(c, project, message, status as 400);
  });
  const user = await findUserByName(c.get("db"), (form.username ?? "").trim());
  if (!user) throw new ForgeError("not_found", `There is no user ${form.username ?? ""}.`);
  const role = form.role as ProjectRole;
  if (!PROJECT_ROLES.includes(role)) throw badRequest("Unknown role.");
  const members = await listMembers(c.get("db"), project.id);
  const current = members.find((m) => m.userId === user.id);
  if (current?.role === "owner" && role !== "owner" && members.filter((m) => m.role === "owner").length === 1) {
    throw badRequest("A project keeps at least one owner: make someone else owner first.");
  }
  await setMember(c.get("db"), project.id, user.id, role);
  return c.redirect(`/p/${project.name}/admin?ok=members`, 303);
});

projectAdminRoutes.post(
  "/p/:project/admin/members/:userId/delete",
  component("web.project.admin"),
  requireProjectAdmin("write"),
  async (c) => {
    const project = c.get("project");
    showFormErrors(c, async ({ status, message }) => {
      return adminPage(c, project, message, status as 400);
    });
    await removeMember(c.get("db"), project.id, Number(c.req.param("userId")));
    return c.redirect(`/p/${project.name}/admin?ok=members`, 303);
  },
);
