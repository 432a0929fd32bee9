// Tenant admin pages: forge settings, people, projects; and creating a project (the outbox: admin-outbox.tsx).
import { Hono, type Context } from "hono";
import type { Child } from "hono/jsx";
import type { AppEnv } from "../context";
import { component, requireAdmin, requireProjectCreator } from "../middleware/guards";
import { showFormErrors } from "../middleware/errors";
import * as accounts from "../../services/accounts";
import { getSettings, updateSettings } from "../../services/settings";
import { ensureControl, updateTenant } from "../../services/tenants";
import { PROJECT_NAME, createProject, listVisibleProjects } from "../../services/projects";
import { listUsers, type User } from "../../services/users";
import { badRequest } from "../../utils/errors";
import { Layout, SectionedPage } from "../../views/layout";
import { Field, Notice, PostButton, SubmitRow, TextArea } from "../../views/forms";
import { mailContext, readForm } from "./helpers";

export const adminRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;

const DONE: Record<string, string> = {
  settings: "Settings saved.",
  user: "Account updated.",
  "user-added": "Account added: we sent them a link to choose a password.",
};

const SECTIONS = [
  { href: "/admin", label: "Forge settings" },
  { href: "/admin/users", label: "People" },
  { href: "/admin/projects", label: "Projects" },
  { href: "/admin/outbox", label: "Outbox" },
];

export function AdminPage(props: { c: Ctx; section: string; title: string; error?: string; children?: Child }) {
  return (
    <SectionedPage
      title={props.title}
      forgeName={props.c.get("tenant").name}
      menu={{ label: "Admin", href: "/admin", sections: SECTIONS }}
      current={props.section}
      ok={DONE[props.c.req.query("ok") ?? ""]}
      error={props.error}
    >
      {props.children}
    </SectionedPage>
  );
}

// ---------------------------------------------------------------------------------------------
// Forge settings

async function settingsPage(c: Ctx, error?: string, status: 200 | 400 = 200) {
  const s = await getSettings(c.get("db"));
  return c.html(
    <AdminPage c={c} section="/admin" title="Forge settings" error={error}>
      <form method="post" action="/admin/settings" class="stack wide">
        <Field
          label="Forge name"
          name="name"
          value={c.get("tenant").name}
          required
          maxlength={100}
          hint="Shown at the top of every page."
        />
        <fieldset>
          <legend>Registration</legend>
          <label class="check">
            <input type="radio" name="registration" value="open" checked={s.registration === "open"} /> open: anyone may create an
            account
          </label>
          <label class="check">
            <input type="radio" name="registration" value="closed" checked={s.registration === "closed"} /> closed: admins add
            people
          </label>
        </fieldset>
        <fieldset>
          <legend>Who creates projects</legend>
          <label class="check">
            <input type="radio" name="project_creation" value="admins" checked={s.projectCreation === "admins"} /> admins
          </label>
          <label class="check">
            <input type="radio" name="project_creation" value="users" checked={s.projectCreation === "users"} /> any signed-in
            user
          </label>
        </fieldset>
        <TextArea
          label="Front page text"
          name="front_page"
          value={s.frontPage}
          maxlength={20000}
          hint="Markdown, shown above the project list."
        />
        <SubmitRow label="Save settings" />
      </form>
    </AdminPage>,
    status,
  );
}

adminRoutes.get("/admin", component("web.admin.settings"), requireAdmin, (c) => {
  return settingsPage(c);
});

adminRoutes.post("/admin/settings", component("web.admin.settings"), requireAdmin, async (c) => {
  const admin = c.get("user");
  const form = await readForm(c);
  showFormErrors(c, async ({ message }) => {
    return settingsPage(c, message, 400);
  });
  const name = accounts.checkDisplayName(form.name ?? "");
  if (!name) throw badRequest("The forge needs a name.");
  const frontPage = form.front_page ?? "";
  if (frontPage.length > 20000) throw badRequest("The front page text has at most 20,000 characters.");
  await updateSettings(c.get("db"), {
    registration: form.registration === "closed" ? "closed" : "open",
    projectCreation: form.project_creation === "users" ? "users" : "admins",
    frontPage,
  });
  const tenant = c.get("tenant");
  if (name !== tenant.name) {
    // The name lives in the tenant record (CONTROL and KV), so every page and host sees it.
    await ensureControl(c.env);
    await updateTenant(c.env, tenant.slug, { name }, `tenant-admin:${tenant.id}:${admin.username}`);
  }
  return c.redirect("/admin?ok=settings", 303);
});

// ---------------------------------------------------------------------------------------------
// People

async function usersPage(c: Ctx, admin: User, error?: string, status: 200 | 400 | 409 = 200) {
  const page = Math.max(1, Number(c.req.query("page")) || 1);
  const { items, total } = await listUsers(c.get("db"), { offset: (page - 1) * 100, limit: 100 });
  return c.html(
    <AdminPage c={c} section="/admin/users" title="People" error={error}>
      <table class="list">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col" class="opt">
              Email
            </th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {items.map((u) => (
            <tr>
              <td>
                <a href={`/u/${encodeURIComponent(u.username)}`}>{u.username}</a>
                {u.displayName && <span class="muted"> · {u.displayName}</span>}
              </td>
              <td class="opt">{u.email}</td>
              <td>
                {u.isActive ? "active" : "deactivated"}
                {u.isAdmin && (
                  <>
                    {" "}
                    <span class="badge">admin</span>
                  </>
                )}
              </td>
              <td>
                {u.id === admin.id && <span class="muted">you</span>}
                {u.id !== admin.id && (
                  <div class="actions">
                    <PostButton
                      action={`/admin/users/${u.id}`}
                      name="action"
                      value={u.isActive ? "deactivate" : "activate"}
                      label={u.isActive ? "Deactivate" : "Activate"}
                      danger={u.isActive}
                    />
                    <PostButton
                      action={`/admin/users/${u.id}`}
                      name="action"
                      value={u.isAdmin ? "unadmin" : "admin"}
                      label={u.isAdmin ? "Remove admin" : "Make admin"}
                    />
                  </div>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {total > page * 100 && (
        <p>
          <a href={`/admin/users?page=${page + 1}`}>Next page</a>
        </p>
      )}
      <h2>Add someone</h2>
      <form method="post" action="/admin/users" class="stack">
        <Field label="Username" name="username" required maxlength={40} />
        <Field label="Email" name="email" type="email" required hint="They get a link to choose their password." />
        <SubmitRow label="Add account" />
      </form>
    </AdminPage>,
    status,
  );
}

adminRoutes.get("/admin/users", component("web.admin.users"), requireAdmin, (c) => {
  const admin = c.get("user");
  return usersPage(c, admin);
});

adminRoutes.post("/admin/users", component("web.admin.users"), requireAdmin, async (c) => {
  const admin = c.get("user");
  const form = await readForm(c);
  showFormErrors(c, async ({ status, message }) => {
    return usersPage(c, admin, message, status as 400);
  });
  await accounts.addUserByAdmin(mailContext(c), c.get("db"), { username: form.username ?? "", email: form.email ?? "" });
  return c.redirect("/admin/users?ok=user-added", 303);
});

adminRoutes.post("/admin/users/:id", component("web.admin.users"), requireAdmin, async (c) => {
  const admin = c.get("user");
  const form = await readForm(c);
  const id = Number(c.req.param("id"));
  showFormErrors(c, async ({ status, message }) => {
    return usersPage(c, admin, message, status as 400);
  });
  const db = c.get("db");
  switch (form.action) {
    case "activate":
    case "deactivate":
      await accounts.setActive(db, admin, id, form.action === "activate");
      break;
    case "admin":
    case "unadmin":
      await accounts.setAdmin(db, admin, id, form.action === "admin");
      break;
    default:
      throw badRequest("Unknown action.");
  }
  return c.redirect("/admin/users?ok=user", 303);
});

// ---------------------------------------------------------------------------------------------
// Projects

adminRoutes.get("/admin/projects", component("web.admin.projects"), requireAdmin, async (c) => {
  const { items } = await listVisibleProjects(c.get("db"), { all: true, privateIds: [] }, { limit: 1000 });
  return c.html(
    <AdminPage c={c} section="/admin/projects" title="Projects">
      <p>
        <a class="button" href="/projects/new">
          New project
        </a>
      </p>
      {items.length === 0 ? (
        <p class="muted">No projects yet.</p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Visibility</th>
              <th scope="col">Manage</th>
            </tr>
          </thead>
          <tbody>
            {items.map((p) => (
              <tr>
                <td>
                  <a href={`/p/${p.name}/`}>{p.name}</a>
                </td>
                <td>{p.private ? "private" : "public"}</td>
                <td>
                  <a href={`/p/${p.name}/admin`}>settings, members, access</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </AdminPage>,
  );
});

function NewProjectPage(props: { c: Ctx; values?: Record<string, string>; error?: string }) {
  const v = props.values ?? {};
  return (
    <Layout
      title="New project"
      forgeName={props.c.get("tenant").name}
      crumbs={[{ label: "Projects", href: "/" }, { label: "New project" }]}
    >
      <h1>New project</h1>
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action="/projects/new" class="stack wide">
        <Field
          label="Name"
          name="name"
          value={v.name}
          required
          maxlength={63}
          hint="Lowercase letters, digits, '.', '_' and '-'. It is in the project's URLs and clone address."
          autofocus
        />
        <TextArea label="Description" name="description" value={v.description} maxlength={2000} hint="Markdown." />
        <label class="check">
          <input type="checkbox" name="private" value="1" checked={v.private === "1"} /> Private: only members and authorized
          users see it
        </label>
        <SubmitRow label="Create project" />
      </form>
      <p class="muted">You become its owner.</p>
    </Layout>
  );
}

adminRoutes.get("/projects/new", component("web.project.new"), requireProjectCreator, async (c) => {
  return c.html(<NewProjectPage c={c} />);
});

adminRoutes.post("/projects/new", component("web.project.new"), requireProjectCreator, async (c) => {
  const user = c.get("user");
  const form = await readForm(c);
  const values = { name: form.name ?? "", description: form.description ?? "", private: form.private ?? "" };
  showFormErrors(c, async ({ status, message }) => {
    return c.html(<NewProjectPage c={c} values={values} error={message} />, status);
  });
  const name = values.name.trim();
  if (!PROJECT_NAME.test(name))
    throw badRequest("A project name has lowercase letters, digits, '.', '_' and '-', and starts with a letter or digit.");
  if (values.description.length > 2000) throw badRequest("A description has at most 2,000 characters.");
  const project = await createProject(c.get("db"), {
    name,
    description: values.description,
    private: values.private === "1",
    ownerId: user.id,
  });
  return c.redirect(`/p/${project.name}/`, 303);
});
