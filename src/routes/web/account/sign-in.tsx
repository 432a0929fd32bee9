// Signing in and out, registering, and the links from mail: confirming an address and
// resetting a password.
import { Hono, type Context } from "hono";
import type { Child } from "hono/jsx";
import type { AppEnv } from "../../context";
import { component } from "../../middleware/guards";
import { showFormErrors } from "../../middleware/errors";
import { clearedSessionCookie } from "../../../auth/session";
import * as accounts from "../../../services/accounts";
import { getSettings } from "../../../services/settings";
import { ForgeError } from "../../../utils/errors";
import { Layout } from "../../../views/layout";
import { Field, Notice, SubmitRow } from "../../../views/forms";
import { clientAddress, mailContext, readForm, safeNext, startSession } from "../helpers";

export const signInRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;

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
        <SubmitRow label="Sign in">
          <a href="/account/reset">Forgot your password?</a>
        </SubmitRow>
      </form>
      <p class="muted">
        New here? <a href="/account/register">Create an account</a>.
      </p>
    </AuthPage>
  );
}

signInRoutes.get("/account/login", component("web.account.login"), async (c) => {
  return c.html(<LoginForm c={c} next={safeNext(c.req.query("next"))} />);
});

signInRoutes.post("/account/login", component("web.account.login"), async (c) => {
  const form = await readForm(c);
  const next = safeNext(form.next);
  showFormErrors(c, async ({ status, message, error: err }) => {
    if (err instanceof ForgeError && err.code === "rate_limited") {
      c.header("Retry-After", String((err.details as { retryAfter: number }).retryAfter));
    }
    return c.html(<LoginForm c={c} login={form.login} next={next} error={message} />, status);
  });
  const user = await accounts.signIn(c.get("db"), {
    login: form.login ?? "",
    password: form.password ?? "",
    address: clientAddress(c),
  });
  await startSession(c, user);
  return c.redirect(next, 303);
});

signInRoutes.post("/account/logout", component("web.account.logout"), async (c) => {
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
        <SubmitRow label="Create account" />
      </form>
      <p class="muted">
        Have an account? <a href="/account/login">Sign in</a>.
      </p>
    </AuthPage>
  );
}

signInRoutes.get("/account/register", component("web.account.register"), async (c) => {
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

signInRoutes.post("/account/register", component("web.account.register"), async (c) => {
  const form = await readForm(c);
  showFormErrors(c, async ({ status, message }) => {
    return c.html(
      <RegisterForm c={c} values={{ username: form.username ?? "", email: form.email ?? "" }} error={message} />,
      status,
    );
  });
  const user = await accounts.register(mailContext(c), c.get("db"), {
    username: form.username ?? "",
    email: form.email ?? "",
    password: form.password ?? "",
    address: clientAddress(c),
  });
  await startSession(c, user);
  return c.redirect("/account?ok=registered", 303);
});

// ---------------------------------------------------------------------------------------------
// Links from mail: confirmation and password reset (GET shows, POST acts)

signInRoutes.get("/account/confirm/:token", component("web.account.confirm"), async (c) => {
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

signInRoutes.post("/account/confirm/:token", component("web.account.confirm"), async (c) => {
  showFormErrors(c, async ({ status, message }) => {
    return c.html(
      <AuthPage c={c} title="Confirm your address">
        <Notice kind="error">{message}</Notice>
      </AuthPage>,
      status,
    );
  });
  const { email } = await accounts.confirmEmail(c.get("db"), c.req.param("token"));
  return c.html(
    <AuthPage c={c} title="Address confirmed">
      <Notice kind="ok">{email} is confirmed.</Notice>
      <p>
        <a href="/account">Go to your account</a>
      </p>
    </AuthPage>,
  );
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
        <SubmitRow label="Send me a link" />
      </form>
    </AuthPage>
  );
}

signInRoutes.get("/account/reset", component("web.account.reset"), (c) => {
  return c.html(<ResetRequestForm c={c} />);
});

signInRoutes.post("/account/reset", component("web.account.reset"), async (c) => {
  const form = await readForm(c);
  showFormErrors(c, async ({ status, message }) => {
    return c.html(<ResetRequestForm c={c} error={message} />, status);
  });
  await accounts.requestPasswordReset(mailContext(c), c.get("db"), { login: form.login ?? "", address: clientAddress(c) });
  return c.html(<ResetRequestForm c={c} sent />);
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
        <SubmitRow label="Set password and sign in" />
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

signInRoutes.get("/account/reset/:token", component("web.account.reset"), async (c) => {
  const token = c.req.param("token");
  const link = await accounts.peekReset(c.get("db"), token);
  return link ? c.html(<NewPasswordForm c={c} token={token} username={link.username} />) : expiredReset(c);
});

signInRoutes.post("/account/reset/:token", component("web.account.reset"), async (c) => {
  const token = c.req.param("token");
  const form = await readForm(c);
  showFormErrors(c, async ({ status, message }) => {
    if (status === 410) return expiredReset(c);
    const link = await accounts.peekReset(c.get("db"), token);
    return c.html(<NewPasswordForm c={c} token={token} username={link?.username ?? ""} error={message} />, status);
  });
  const user = await accounts.resetPassword(c.get("db"), token, form.password ?? "");
  await startSession(c, user);
  return c.redirect("/account?ok=reset", 303);
});
