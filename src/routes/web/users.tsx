// A user's public page and avatar.
import { Hono } from "hono";
import type { AppEnv } from "../context";
import { component } from "../middleware/guards";
import { webViewer } from "../middleware/session";
import { projectVisibility } from "../../auth/access";
import { gravatarUrl, readAvatar } from "../../services/avatars";
import { loadViewer } from "../../services/members";
import { findUserByName } from "../../services/users";
import { listVisibleProjects } from "../../services/projects";
import { Layout } from "../../views/layout";
import { notFoundPage } from "./errors";

export const userRoutes = new Hono<AppEnv>();

userRoutes.get("/u/:username", component("web.user"), async (c) => {
  const db = c.get("db");
  const user = await findUserByName(db, c.req.param("username"));
  if (!user?.isActive) return notFoundPage(c);
  const viewer = await webViewer(c);
  // Only the projects both the page's user belongs to and the viewer may see.
  const { items } = await listVisibleProjects(db, projectVisibility(viewer), { limit: 100 });
  const theirs = (await loadViewer(db, user, "read")).roles;
  const projects = items.filter((p) => theirs.has(p.id) && theirs.get(p.id) !== "authorized");
  const avatar = user.avatarKey ? `/u/${encodeURIComponent(user.username)}/avatar` : await gravatarUrl(user.email);
  return c.html(
    <Layout title={user.username} forgeName={c.get("tenant").name} crumbs={[{ label: "People" }, { label: user.username }]}>
      <div class="actions">
        <img class="avatar" src={avatar} width={64} height={64} alt="" />
        <div>
          <h1>{user.displayName || user.username}</h1>
          {user.displayName && <p class="muted">{user.username}</p>}
        </div>
      </div>
      <h2>Projects</h2>
      {projects.length === 0 ? (
        <p class="muted">No projects to show.</p>
      ) : (
        <table class="list">
          <tbody>
            {projects.map((p) => (
              <tr>
                <td>
                  <a href={`/p/${p.name}/`}>{p.name}</a> {p.private && <span class="badge">private</span>}
                </td>
                <td>{theirs.get(p.id)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>,
  );
});

userRoutes.get("/u/:username/avatar", component("web.user.avatar"), async (c) => {
  const user = await findUserByName(c.get("db"), c.req.param("username"));
  if (!user?.isActive) return notFoundPage(c);
  const object = await readAvatar(c.env.OBJECTS, c.get("tenant").id, user);
  if (!object) return c.redirect(await gravatarUrl(user.email), 302);
  return new Response(object.body, {
    headers: {
      "content-type": object.httpMetadata?.contentType ?? "application/octet-stream",
      "cache-control": "public, max-age=300",
      etag: object.httpEtag,
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; sandbox",
    },
  });
});
