// The signed-in user's settings pages: profile and avatar, sessions, addresses and password
// (API tokens are tokens.tsx), in one sectioned frame.
import { Hono, type Context } from "hono";
import type { Child } from "hono/jsx";
import type { AppEnv } from "../../context";
import { component, requireUser } from "../../middleware/guards";
import { showFormErrors } from "../../middleware/errors";
import { clearedSessionCookie } from "../../../auth/session";
import * as accounts from "../../../services/accounts";
import { AVATAR_MAX_BYTES, gravatarUrl, removeAvatar, setAvatar } from "../../../services/avatars";
import { LIMITS, hit, limitKeys } from "../../../services/rate-limits";
import type { User } from "../../../services/users";
import { ForgeError } from "../../../utils/errors";
import { SectionedPage } from "../../../views/layout";
import { Field, Notice, PostButton, SubmitRow } from "../../../views/forms";
import { clientAddress, limitBody, mailContext, readForm, startSession } from "../helpers";

export const settingsRoutes = new Hono<AppEnv>();

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
  notifications: "Notification settings saved.",
};

function done(c: Ctx): string | undefined {
  return DONE[c.req.query("ok") ?? ""];
}

// ---------------------------------------------------------------------------------------------
// Settings of the signed-in user

const SECTIONS = [
  { href: "/account", label: "Profile" },
  { href: "/account/emails", label: "Email addresses" },
  { href: "/account/password", label: "Password" },
  { href: "/account/tokens", label: "API tokens" },
  { href: "/account/feed-token", label: "Feed token" },
  { href: "/account/notifications", label: "Notifications" },
];

export function SettingsPage(props: { c: Ctx; user: User; section: string; title: string; error?: string; children?: Child }) {
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
        <SubmitRow label="Save profile" />
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
        <SubmitRow label="Upload" plain />
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

settingsRoutes.get("/account", component("web.account.profile"), requireUser, (c) => {
  const user = c.get("user");
  return profilePage(c, user);
});

settingsRoutes.post("/account/profile", component("web.account.profile"), requireUser, async (c) => {
  const user = c.get("user");
  const form = await readForm(c);
  showFormErrors(c, async ({ status, message }) => {
    return profilePage(c, user, message, status as 400);
  });
  await accounts.updateProfile(mailContext(c), c.get("db"), user, { displayName: form.display_name ?? "", email: form.email });
  return c.redirect("/account?ok=profile", 303);
});

settingsRoutes.post("/account/confirm-resend", component("web.account.profile"), requireUser, async (c) => {
  const user = c.get("user");
  const limit = await hit(c.get("db"), limitKeys.mailAddress(clientAddress(c)), LIMITS.mailAddress);
  if (!limit.allowed) return profilePage(c, user, accounts.rateLimited(limit.retryAfter).message, 400);
  await accounts.sendConfirmation(mailContext(c), c.get("db"), user, user.email);
  return c.redirect("/account?ok=confirm-sent", 303);
});

settingsRoutes.post("/account/avatar", component("web.account.avatar"), requireUser, async (c) => {
  const user = c.get("user");
  showFormErrors(c, async ({ status, message }) => {
    return profilePage(c, user, message, status as 400);
  });
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
});

settingsRoutes.post("/account/avatar/delete", component("web.account.avatar"), requireUser, async (c) => {
  const user = c.get("user");
  await removeAvatar(c.env.OBJECTS, c.get("db"), user);
  return c.redirect("/account?ok=avatar-removed", 303);
});

settingsRoutes.post("/account/signout-everywhere", component("web.account.sessions"), requireUser, async (c) => {
  const user = c.get("user");
  await accounts.signOutEverywhere(c.get("db"), user.id);
  c.header("Set-Cookie", clearedSessionCookie(), { append: true });
  return c.redirect("/account/login", 303);
});

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
        <SubmitRow label="Add and send confirmation" />
      </form>
    </SettingsPage>,
    status,
  );
}

settingsRoutes.get("/account/emails", component("web.account.emails"), requireUser, (c) => {
  const user = c.get("user");
  return emailsPage(c, user);
});

settingsRoutes.post("/account/emails", component("web.account.emails"), requireUser, async (c) => {
  const user = c.get("user");
  const form = await readForm(c);
  showFormErrors(c, async ({ status, message }) => {
    return emailsPage(c, user, message, status as 400);
  });
  await accounts.addEmail(mailContext(c), c.get("db"), user, form.email ?? "");
  return c.redirect("/account/emails?ok=email-added", 303);
});

settingsRoutes.post("/account/emails/:id/delete", component("web.account.emails"), requireUser, async (c) => {
  const user = c.get("user");
  showFormErrors(c, async ({ status, message }) => {
    return emailsPage(c, user, message, status as 400);
  });
  await accounts.removeEmail(c.get("db"), user.id, Number(c.req.param("id")));
  return c.redirect("/account/emails?ok=email-removed", 303);
});

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
        <SubmitRow label="Change password" />
      </form>
    </SettingsPage>,
    status,
  );
}

settingsRoutes.get("/account/password", component("web.account.password"), requireUser, (c) => {
  const user = c.get("user");
  return passwordPage(c, user);
});

settingsRoutes.post("/account/password", component("web.account.password"), requireUser, async (c) => {
  const user = c.get("user");
  const form = await readForm(c);
  showFormErrors(c, async ({ status, message }) => {
    return passwordPage(c, user, message, status as 400);
  });
  const updated = await accounts.changePassword(c.get("db"), user, form.current ?? "", form.password ?? "");
  // The epoch moved on: this browser gets a fresh cookie, every other one is signed out.
  await startSession(c, updated);
  return c.redirect("/account/password?ok=password", 303);
});
