// Account pages: sign in and out, register, confirm an address, reset a password, and the
// signed-in user's settings (profile, avatar, addresses, password, API tokens).
import { Hono, type Context } from "hono";
import type { Child } from "hono/jsx";
import type { AppEnv } from "../../edge/context";
import { clearedSessionCookie } from "../../auth/session";
import * as accounts from "../../services/accounts";
import { AVATAR_MAX_BYTES, gravatarUrl, removeAvatar, setAvatar } from "../../services/avatars";
import { LIMITS, hit, limitKeys } from "../../services/rate-limits";
import { getSettings } from "../../services/settings";
import { listTokens, mintToken, revokeToken, type MintedToken } from "../../services/tokens";
import type { User } from "../../services/users";
import { ForgeError } from "../../utils/errors";
import { Layout, SectionedPage } from "../../views/layout";
import { Field, Notice, PostButton } from "../../views/forms";
import {
  clientAddress,
  currentUser,
  formError,
  limitBody,
  mailContext,
  readForm,
  safeNext,
  signInRedirect,
  startSession,
} from "./helpers";

export const accountRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;

/** Fixed texts for ?ok= after a redirect (never text from the query itself). */
const DONE: Record<string, string> = {
  profile: "Profile saved.",
  avatar: "Avatar updated.",
  "avatar-removed": "Avatar removed; your Gravatar image shows instead.",
  "email-added": "Address added: we sent a confirmation link to it.",
  "email-removed": "Address removed.",
  "confirm-sent": "We sent a new confirmation link.",
  password: "Password changed. Other sessions are signed out.",
  "signed-out-everywhere": "Every other session is signed out.",
  "token-revoked": "Token revoked.",
  registered: "Welcome! We sent a link to confirm your address.",
  reset: "Your new password is set.",
};

function done(c: Ctx): string | undefined {
  return DONE[c.req.query("ok") ?? ""];
}

function AuthPage(props: { c: Ctx; title: string; children?: Child }) {
  return (
    <Layout title={props.title} forgeName={props.c.get("tenant").name} crumbs={[{ label: props.title }]}>
      <div class="auth">
        <h1>{props.title}</h1>
        {props.children}
      </div>
    </Layout>
  );
}

// ---------------------------------------------------------------------------------------------
// Sign in and out

function LoginForm(props: { c: Ctx; login?: string; next?: string; error?: string }) {
  return (
    <AuthPage c={props.c} title="Sign in">
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action="/account/login" class="stack">
        <input type="hidden" name="next" value={props.next ?? "/"} />
        <Field label="Username or email" name="login" value={props.login} required autocomplete="username" autofocus />
        <Field label="Password" name="password" type="password" required autocomplete="current-password" />
        <div class="actions">
          <button type="submit" class="primary">
            Sign in
          </button>
          <a href="/account/reset">Forgot your password?</a>
        </div>
      </form>
      <p class="muted">
        New here? <a href="/account/register">Create an account</a>.
      </p>
    </AuthPage>
  );
}

accountRoutes.get("/account/login", async (c) => {
  c.get("meter").component = "web.account.login";
  return c.html(<LoginForm c={c} next={safeNext(c.req.query("next"))} />);
});

accountRoutes.post("/account/login", async (c) => {
  c.get("meter").component = "web.account.login";
  const form = await readForm(c);
  const next = safeNext(form.next);
  try {
    const user = await accounts.signIn(c.get("db"), {
      login: form.login ?? "",
      password: form.password ?? "",
      address: clientAddress(c),
    });
    await startSession(c, user);
    return c.redirect(next, 303);
  } catch (err) {
    const { status, message } = formError(err);
    if (err instanceof ForgeError && err.code === "rate_limited") {
      c.header("Retry-After", String((err.details as { retryAfter: number }).retryAfter));
    }
    return c.html(<LoginForm c={c} login={form.login} next={next} error={message} />, status);
  }
});

accountRoutes.post("/account/logout", async (c) => {
  c.get("meter").component = "web.account.logout";
  // Clearing the cookie is not enough: a copy of it would still work until it expires.
  const claims = c.get("session");
  if (claims) await accounts.signOut(c.get("db"), { userId: claims.u, id: claims.s, expiresAt: claims.exp });
  c.header("Set-Cookie", clearedSessionCookie(), { append: true });
  return c.redirect("/", 303);
});

// ---------------------------------------------------------------------------------------------
// Registration

function RegisterForm(props: { c: Ctx; values?: Record<string, string>; error?: string }) {
  const v = props.values ?? {};
  return (
    <AuthPage c={props.c} title="Create an account">
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action="/account/register" class="stack">
        <Field
          label="Username"
          name="username"
          value={v.username}
          required
          maxlength={40}
          autocomplete="username"
          hint="Letters, digits, '.', '_' and '-'. It appears in URLs."
          autofocus
        />
        <Field
          label="Email"
          name="email"
          type="email"
          value={v.email}
          required
          autocomplete="email"
          hint="We send a link to confirm it."
        />
        <Field
          label="Password"
          name="password"
          type="password"
          required
          autocomplete="new-password"
          hint="At least 8 characters."
        />
        <div class="actions">
          <button type="submit" class="primary">
            Create account
          </button>
        </div>
      </form>
      <p class="muted">
        Have an account? <a href="/account/login">Sign in</a>.
      </p>
    </AuthPage>
  );
}

accountRoutes.get("/account/register", async (c) => {
  c.get("meter").component = "web.account.register";
  const settings = await getSettings(c.get("db"));
  if (settings.registration !== "open") {
    return c.html(
      <AuthPage c={c} title="Create an account">
        <Notice>This forge does not take new accounts. Ask one of its admins to add you.</Notice>
      </AuthPage>,
      403,
    );
  }
  return c.html(<RegisterForm c={c} />);
});

accountRoutes.post("/account/register", async (c) => {
  c.get("meter").component = "web.account.register";
  const form = await readForm(c);
  try {
    const user = await accounts.register(mailContext(c), c.get("db"), {
      username: form.username ?? "",
      email: form.email ?? "",
      password: form.password ?? "",
      address: clientAddress(c),
    });
    await startSession(c, user);
    return c.redirect("/account?ok=registered", 303);
  } catch (err) {
    const { status, message } = formError(err);
    return c.html(
      <RegisterForm c={c} values={{ username: form.username ?? "", email: form.email ?? "" }} error={message} />,
      status,
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Links from mail: confirmation and password reset (GET shows, POST acts)

accountRoutes.get("/account/confirm/:token", async (c) => {
  c.get("meter").component = "web.account.confirm";
  const token = c.req.param("token");
  const link = await accounts.peekConfirmation(c.get("db"), token);
  if (!link) {
    return c.html(
      <AuthPage c={c} title="Confirm your address">
        <Notice kind="error">This link is unknown, used or expired. Ask for a new one from your account settings.</Notice>
      </AuthPage>,
      410,
    );
  }
  return c.html(
    <AuthPage c={c} title="Confirm your address">
      <p>
        Confirm that <strong>{link.email}</strong> belongs to <strong>{link.username}</strong>.
      </p>
      <form method="post" action={`/account/confirm/${token}`}>
        <button type="submit" class="primary">
          Confirm
        </button>
      </form>
    </AuthPage>,
  );
});

accountRoutes.post("/account/confirm/:token", async (c) => {
  c.get("meter").component = "web.account.confirm";
  try {
    const { email } = await accounts.confirmEmail(c.get("db"), c.req.param("token"));
    return c.html(
      <AuthPage c={c} title="Address confirmed">
        <Notice kind="ok">{email} is confirmed.</Notice>
        <p>
          <a href="/account">Go to your account</a>
        </p>
      </AuthPage>,
    );
  } catch (err) {
    const { status, message } = formError(err);
    return c.html(
      <AuthPage c={c} title="Confirm your address">
        <Notice kind="error">{message}</Notice>
      </AuthPage>,
      status,
    );
  }
});

function ResetRequestForm(props: { c: Ctx; sent?: boolean; error?: string }) {
  return (
    <AuthPage c={props.c} title="Reset your password">
      {props.sent && (
        <Notice kind="ok">If an account matches, we sent it a link to choose a new password. It works for one hour.</Notice>
      )}
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action="/account/reset" class="stack">
        <Field label="Username or email" name="login" required autocomplete="username" autofocus />
        <div class="actions">
          <button type="submit" class="primary">
            Send me a link
          </button>
        </div>
      </form>
    </AuthPage>
  );
}

accountRoutes.get("/account/reset", (c) => {
  c.get("meter").component = "web.account.reset";
  return c.html(<ResetRequestForm c={c} />);
});

accountRoutes.post("/account/reset", async (c) => {
  c.get("meter").component = "web.account.reset";
  const form = await readForm(c);
  try {
    await accounts.requestPasswordReset(mailContext(c), c.get("db"), { login: form.login ?? "", address: clientAddress(c) });
    return c.html(<ResetRequestForm c={c} sent />);
  } catch (err) {
    const { status, message } = formError(err);
    return c.html(<ResetRequestForm c={c} error={message} />, status);
  }
});

function NewPasswordForm(props: { c: Ctx; token: string; username: string; error?: string }) {
  return (
    <AuthPage c={props.c} title="Choose a new password">
      {props.error && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action={`/account/reset/${props.token}`} class="stack">
        <p>
          For <strong>{props.username}</strong>.
        </p>
        <Field
          label="New password"
          name="password"
          type="password"
          required
          autocomplete="new-password"
          hint="At least 8 characters."
          autofocus
        />
        <div class="actions">
          <button type="submit" class="primary">
            Set password and sign in
          </button>
        </div>
      </form>
    </AuthPage>
  );
}

const expiredReset = (c: Ctx) =>
  c.html(
    <AuthPage c={c} title="Choose a new password">
      <Notice kind="error">This link is unknown, used or expired.</Notice>
      <p>
        <a href="/account/reset">Ask for a new one</a>
      </p>
    </AuthPage>,
    410,
  );

accountRoutes.get("/account/reset/:token", async (c) => {
  c.get("meter").component = "web.account.reset";
  const token = c.req.param("token");
  const link = await accounts.peekReset(c.get("db"), token);
  return link ? c.html(<NewPasswordForm c={c} token={token} username={link.username} />) : expiredReset(c);
});

accountRoutes.post("/account/reset/:token", async (c) => {
  c.get("meter").component = "web.account.reset";
  const token = c.req.param("token");
  const form = await readForm(c);
  try {
    const user = await accounts.resetPassword(c.get("db"), token, form.password ?? "");
    await startSession(c, user);
    return c.redirect("/account?ok=reset", 303);
  } catch (err) {
    const { status, message } = formError(err);
    if (status === 410) return expiredReset(c);
    const link = await accounts.peekReset(c.get("db"), token);
    return c.html(<NewPasswordForm c={c} token={token} username={link?.username ?? ""} error={message} />, status);
  }
});

// ---------------------------------------------------------------------------------------------
// Settings of the signed-in user

const SECTIONS = [
  { href: "/account", label: "Profile" },
  { href: "/account/emails", label: "Email addresses" },
  { href: "/account/password", label: "Password" },
  { href: "/account/tokens", label: "API tokens" },
];

function SettingsPage(props: { c: Ctx; user: User; section: string; title: string; error?: string; children?: Child }) {
  return (
    <SectionedPage
      title={props.title}
      forgeName={props.c.get("tenant").name}
      menu={{ label: "Settings", href: "/account", sections: SECTIONS }}
      current={props.section}
      ok={done(props.c)}
      error={props.error}
    >
      {props.children}
    </SectionedPage>
  );
}

/** Runs `page` with the signed-in user, or sends the browser to sign in first. */
function signedIn(page: (c: Ctx, user: User) => Response | Promise<Response>) {
  return async (c: Ctx) => {
    const user = await currentUser(c);
    return user ? page(c, user) : signInRedirect(c);
  };
}

async function profilePage(c: Ctx, user: User, error?: string, status: 200 | 400 | 409 | 413 | 415 = 200) {
  const avatar = user.avatarKey ? `/u/${encodeURIComponent(user.username)}/avatar` : await gravatarUrl(user.email);
  return c.html(
    <SettingsPage c={c} user={user} section="/account" title="Profile" error={error}>
      {!user.emailConfirmedAt && (
        <Notice>
          Your address {user.email} is not confirmed yet.{" "}
          <PostButton action="/account/confirm-resend" label="Send the link again" />
        </Notice>
      )}
      <form method="post" action="/account/profile" class="stack">
        <div class="field">
          <span class="label">Username</span>
          <span>
            <strong>{user.username}</strong> <span class="hint">(usernames do not change: they are in URLs)</span>
          </span>
        </div>
        <Field label="Display name" name="display_name" value={user.displayName ?? ""} maxlength={100} autocomplete="name" />
        <Field
          label="Primary email"
          name="email"
          type="email"
          value={user.email}
          required
          autocomplete="email"
          hint="Changing it sends a confirmation link."
        />
        <div class="actions">
          <button type="submit" class="primary">
            Save profile
          </button>
        </div>
      </form>
      <h2>Avatar</h2>
      <p>
        <img class="avatar" src={avatar} width={80} height={80} alt="" />
      </p>
      <form method="post" action="/account/avatar" enctype="multipart/form-data" class="stack">
        <div class="field">
          <label for="f-avatar">Upload a picture</label>
          <input id="f-avatar" type="file" name="avatar" accept="image/png,image/jpeg,image/gif,image/webp" required />
          <span class="hint">
            PNG, JPEG, GIF or WebP, at most {AVATAR_MAX_BYTES / 1024} KiB. Without one, your Gravatar image shows.
          </span>
        </div>
        <div class="actions">
          <button type="submit">Upload</button>
        </div>
      </form>
      {user.avatarKey && (
        <p>
          <PostButton action="/account/avatar/delete" label="Remove the uploaded picture" danger />
        </p>
      )}
      <h2>Sessions</h2>
      <p class="muted">Signed in somewhere you should not be? This signs out every browser, this one included.</p>
      <PostButton action="/account/signout-everywhere" label="Sign out everywhere" danger />
    </SettingsPage>,
    status,
  );
}

accountRoutes.get(
  "/account",
  signedIn((c, user) => {
    c.get("meter").component = "web.account.profile";
    return profilePage(c, user);
  }),
);

accountRoutes.post(
  "/account/profile",
  signedIn(async (c, user) => {
    c.get("meter").component = "web.account.profile";
    const form = await readForm(c);
    try {
      await accounts.updateProfile(mailContext(c), c.get("db"), user, {
        displayName: form.display_name ?? "",
        email: form.email,
      });
      return c.redirect("/account?ok=profile", 303);
    } catch (err) {
      const { status, message } = formError(err);
      return profilePage(c, user, message, status as 400);
    }
  }),
);

accountRoutes.post(
  "/account/confirm-resend",
  signedIn(async (c, user) => {
    c.get("meter").component = "web.account.profile";
    const limit = await hit(c.get("db"), limitKeys.mailAddress(clientAddress(c)), LIMITS.mailAddress);
    if (!limit.allowed) return profilePage(c, user, accounts.rateLimited(limit.retryAfter).message, 400);
    await accounts.sendConfirmation(mailContext(c), c.get("db"), user, user.email);
    return c.redirect("/account?ok=confirm-sent", 303);
  }),
);

accountRoutes.post(
  "/account/avatar",
  signedIn(async (c, user) => {
    c.get("meter").component = "web.account.avatar";
    try {
      // Room for the multipart framing around the picture.
      await limitBody(
        c,
        AVATAR_MAX_BYTES + 16 * 1024,
        `An avatar is at most ${AVATAR_MAX_BYTES / 1024} KiB; choose a smaller picture.`,
      );
      const body = await c.req.parseBody().catch(() => {
        throw new ForgeError("bad_request", "The upload could not be read; try again.");
      });
      const file = body.avatar;
      if (!(file instanceof File)) throw new ForgeError("bad_request", "Choose a picture to upload.");
      await setAvatar(c.env.OBJECTS, c.get("db"), c.get("tenant").id, user, new Uint8Array(await file.arrayBuffer()));
      return c.redirect("/account?ok=avatar", 303);
    } catch (err) {
      const { status, message } = formError(err);
      return profilePage(c, user, message, status as 400);
    }
  }),
);

accountRoutes.post(
  "/account/avatar/delete",
  signedIn(async (c, user) => {
    c.get("meter").component = "web.account.avatar";
    await removeAvatar(c.env.OBJECTS, c.get("db"), user);
    return c.redirect("/account?ok=avatar-removed", 303);
  }),
);

accountRoutes.post(
  "/account/signout-everywhere",
  signedIn(async (c, user) => {
    c.get("meter").component = "web.account.sessions";
    await accounts.signOutEverywhere(c.get("db"), user.id);
    c.header("Set-Cookie", clearedSessionCookie(), { append: true });
    return c.redirect("/account/login", 303);
  }),
);

async function emailsPage(c: Ctx, user: User, error?: string, status: 200 | 400 | 409 = 200) {
  const emails = await accounts.listEmails(c.get("db"), user.id);
  return c.html(
    <SettingsPage c={c} user={user} section="/account/emails" title="Email addresses" error={error}>
      <p class="muted">Commits whose author address is one of your confirmed addresses are shown as yours.</p>
      <table class="list">
        <thead>
          <tr>
            <th scope="col">Address</th>
            <th scope="col">Status</th>
            <th scope="col"></th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <td>{user.email}</td>
            <td>
              <span class="badge">primary</span> {user.emailConfirmedAt ? "confirmed" : "not confirmed"}
            </td>
            <td></td>
          </tr>
          {emails.map((e) => (
            <tr>
              <td>{e.email}</td>
              <td>{e.confirmedAt ? "confirmed" : "waiting for confirmation"}</td>
              <td>
                <PostButton action={`/account/emails/${e.id}/delete`} label="Remove" danger />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Add an address</h2>
      <form method="post" action="/account/emails" class="stack">
        <Field label="Email" name="email" type="email" required autocomplete="email" />
        <div class="actions">
          <button type="submit" class="primary">
            Add and send confirmation
          </button>
        </div>
      </form>
    </SettingsPage>,
    status,
  );
}

accountRoutes.get(
  "/account/emails",
  signedIn((c, user) => {
    c.get("meter").component = "web.account.emails";
    return emailsPage(c, user);
  }),
);

accountRoutes.post(
  "/account/emails",
  signedIn(async (c, user) => {
    c.get("meter").component = "web.account.emails";
    const form = await readForm(c);
    try {
      await accounts.addEmail(mailContext(c), c.get("db"), user, form.email ?? "");
      return c.redirect("/account/emails?ok=email-added", 303);
    } catch (err) {
      const { status, message } = formError(err);
      return emailsPage(c, user, message, status as 400);
    }
  }),
);

accountRoutes.post(
  "/account/emails/:id/delete",
  signedIn(async (c, user) => {
    c.get("meter").component = "web.account.emails";
    try {
      await accounts.removeEmail(c.get("db"), user.id, Number(c.req.param("id")));
      return c.redirect("/account/emails?ok=email-removed", 303);
    } catch (err) {
      const { status, message } = formError(err);
      return emailsPage(c, user, message, status as 400);
    }
  }),
);

function passwordPage(c: Ctx, user: User, error?: string, status: 200 | 400 | 403 = 200) {
  return c.html(
    <SettingsPage c={c} user={user} section="/account/password" title="Password" error={error}>
      <form method="post" action="/account/password" class="stack">
        <input type="hidden" name="username" value={user.username} autocomplete="username" />
        {user.passwordHash && (
          <Field label="Current password" name="current" type="password" required autocomplete="current-password" />
        )}
        <Field
          label="New password"
          name="password"
          type="password"
          required
          autocomplete="new-password"
          hint="At least 8 characters. Other sessions are signed out."
        />
        <div class="actions">
          <button type="submit" class="primary">
            Change password
          </button>
        </div>
      </form>
    </SettingsPage>,
    status,
  );
}

accountRoutes.get(
  "/account/password",
  signedIn((c, user) => {
    c.get("meter").component = "web.account.password";
    return passwordPage(c, user);
  }),
);

accountRoutes.post(
  "/account/password",
  signedIn(async (c, user) => {
    c.get("meter").component = "web.account.password";
    const form = await readForm(c);
    try {
      const updated = await accounts.changePassword(c.get("db"), user, form.current ?? "", form.password ?? "");
      // The epoch moved on: this browser gets a fresh cookie, every other one is signed out.
      await startSession(c, updated);
      return c.redirect("/account/password?ok=password", 303);
    } catch (err) {
      const { status, message } = formError(err);
      return passwordPage(c, user, message, status as 400);
    }
  }),
);

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
        <div class="actions">
          <button type="submit" class="primary">
            Create token
          </button>
        </div>
      </form>
    </SettingsPage>,
    opts.status ?? 200,
  );
}

accountRoutes.get(
  "/account/tokens",
  signedIn((c, user) => {
    c.get("meter").component = "web.account.tokens";
    return tokensPage(c, user);
  }),
);

accountRoutes.post(
  "/account/tokens",
  signedIn(async (c, user) => {
    c.get("meter").component = "web.account.tokens";
    const form = await readForm(c);
    const name = (form.name ?? "").trim();
    if (!name || name.length > 100)
      return tokensPage(c, user, { error: "Give the token a name of 1 to 100 characters.", status: 400 });
    const minted = await mintToken(c.get("db"), user, name, form.scope === "write" ? "write" : "read");
    // The page shows the token once; it must not be cached or kept in history as a GET.
    c.header("Cache-Control", "no-store");
    return tokensPage(c, user, { minted, status: 201 });
  }),
);

accountRoutes.post(
  "/account/tokens/:id/revoke",
  signedIn(async (c, user) => {
    c.get("meter").component = "web.account.tokens";
    const ok = await revokeToken(c.get("db"), user.id, Number(c.req.param("id")));
    if (!ok) return tokensPage(c, user, { error: "There is no such token of yours.", status: 400 });
    return c.redirect("/account/tokens?ok=token-revoked", 303);
  }),
);
