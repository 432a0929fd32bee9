// The signed-in user's API tokens: minting (the secret is shown once) and revoking.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../../context";
import { component, requireUser } from "../../middleware/guards";
import { listTokens, mintToken, revokeToken, type MintedToken } from "../../../services/tokens";
import type { User } from "../../../services/users";
import { Field, PostButton, SubmitRow } from "../../../views/forms";
import { readForm } from "../helpers";
import { SettingsPage } from "./settings";

export const tokenRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;

async function tokensPage(c: Ctx, user: User, opts: { minted?: MintedToken; error?: string; status?: 200 | 201 | 400 } = {}) {
  const tokens = await listTokens(c.get("db"), user.id);
  const origin = new URL(c.req.url).origin;
  return c.html(
    <SettingsPage c={c} user={user} section="/account/tokens" title="API tokens" error={opts.error}>
      {opts.minted && (
        <div class="notice ok" role="status">
          <p>
            New token <strong>{opts.minted.name}</strong> ({opts.minted.scope}). Copy it now: it is not shown again.
          </p>
          <p class="token">{opts.minted.token}</p>
        </div>
      )}
      <p class="muted">
        Use a token as <code>Authorization: token &lt;token&gt;</code> on <a href="/api/v1/openapi.json">the API</a>, or as the
        password when git asks (user name <code>{user.username}</code>), e.g. <code>git clone {origin}/&lt;project&gt;.git</code>.
      </p>
      {tokens.length === 0 ? (
        <p class="muted">You have no tokens.</p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scope</th>
              <th scope="col" class="opt">
                Created
              </th>
              <th scope="col"></th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr>
                <td>{t.name}</td>
                <td>{t.scope === "write" ? "read and write" : "read"}</td>
                <td class="opt">
                  <time datetime={t.createdAt}>{t.createdAt.slice(0, 10)}</time>
                </td>
                <td>
                  <PostButton action={`/account/tokens/${t.id}/revoke`} label="Revoke" danger />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>New token</h2>
      <form method="post" action="/account/tokens" class="stack">
        <Field label="Name" name="name" required maxlength={100} hint="What it is for, e.g. laptop or CI." />
        <fieldset>
          <legend>Scope</legend>
          <label class="check">
            <input type="radio" name="scope" value="read" checked /> read: clone and read the API
          </label>
          <label class="check">
            <input type="radio" name="scope" value="write" /> read and write: push, and change things through the API
          </label>
        </fieldset>
        <SubmitRow label="Create token" />
      </form>
    </SettingsPage>,
    opts.status ?? 200,
  );
}

tokenRoutes.get("/account/tokens", component("web.account.tokens"), requireUser, (c) => {
  const user = c.get("user");
  return tokensPage(c, user);
});

tokenRoutes.post("/account/tokens", component("web.account.tokens"), requireUser, async (c) => {
  const user = c.get("user");
  const form = await readForm(c);
  const name = (form.name ?? "").trim();
  if (!name || name.length > 100)
    return tokensPage(c, user, { error: "Give the token a name of 1 to 100 characters.", status: 400 });
  const minted = await mintToken(c.get("db"), user, name, form.scope === "write" ? "write" : "read");
  // The page shows the token once; it must not be cached or kept in history as a GET.
  c.header("Cache-Control", "no-store");
  return tokensPage(c, user, { minted, status: 201 });
});

tokenRoutes.post("/account/tokens/:id/revoke", component("web.account.tokens"), requireUser, async (c) => {
  const user = c.get("user");
  const ok = await revokeToken(c.get("db"), user.id, Number(c.req.param("id")));
  if (!ok) return tokensPage(c, user, { error: "There is no such token of yours.", status: 400 });
  return c.redirect("/account/tokens?ok=token-revoked", 303);
});
