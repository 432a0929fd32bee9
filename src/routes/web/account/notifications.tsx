// Mail notification settings of the signed-in user (all off, or which kinds), and the unsubscribe
// links of notification mail: GET shows a confirm form, POST (the form, or a mail client's
// RFC 8058 one-click POST) unsubscribes. The signed token is the credential: no session needed.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../../context";
import { component, requireUser } from "../../middleware/guards";
import { sessionSecrets } from "../../middleware/session";
import { verifyUnsubscribe, type UnsubscribeClaims } from "../../../auth/unsubscribe";
import { PREF_KINDS, type PrefKind } from "../../../services/notifications/recipients";
import { loadPrefs, savePrefs, unsubscribe, type Prefs } from "../../../services/notifications/watches";
import { ForgeError } from "../../../utils/errors";
import { Layout } from "../../../views/layout";
import { readForm } from "../helpers";
import { SettingsPage } from "./settings";
import { SubmitRow } from "../../../views/forms";

export const notificationRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;

const KIND_LABELS: Record<PrefKind, string> = {
  issue: "Issues: new issues, comments and changes (and reviews)",
  push: "Pushes to the source",
  wiki: "Wiki page changes",
  download: "Downloads: files uploaded or deleted",
};

const KIND_NAMES: Record<PrefKind, string> = { issue: "issues", push: "pushes", wiki: "wiki pages", download: "downloads" };

notificationRoutes.get("/account/notifications", component("web.account.notifications"), requireUser, async (c) => {
  const user = c.get("user");
  const prefs = await loadPrefs(c.get("db"), user.id);
  return c.html(
    <SettingsPage c={c} user={user} section="/account/notifications" title="Notifications">
      <p>
        The forge mails you about what you follow: issues you filed, own or watch, and the projects and wiki pages you watch (
        <a href="/watchlist">your watch list</a>). It never mails you about what you did yourself, and mails only your confirmed
        address, {user.email}.
      </p>
      <form method="post" action="/account/notifications" class="stack">
        <label class="check">
          <input type="checkbox" name="enabled" value="1" checked={prefs.enabled} /> Send me notification mail
        </label>
        <fieldset>
          <legend>About</legend>
          {PREF_KINDS.map((k) => (
            <label class="check">
              <input type="checkbox" name={k} value="1" checked={prefs[k]} /> {KIND_LABELS[k]}
            </label>
          ))}
        </fieldset>
        <SubmitRow label="Save" />
      </form>
    </SettingsPage>,
  );
});

notificationRoutes.post("/account/notifications", component("web.account.notifications"), requireUser, async (c) => {
  const form = await readForm(c);
  const prefs = { enabled: form.enabled === "1" } as Prefs;
  for (const k of PREF_KINDS) prefs[k] = form[k] === "1";
  await savePrefs(c.get("db"), c.get("user").id, prefs);
  return c.redirect("/account/notifications?ok=notifications", 303);
});

/** The token's claims, or a 404 for a link that is not (or no longer) this forge's. */
async function claimsOf(c: Ctx): Promise<UnsubscribeClaims> {
  const secrets = sessionSecrets(c.env);
  const claims = secrets ? await verifyUnsubscribe(secrets, c.get("tenant").id, c.req.param("token") ?? "") : null;
  if (!claims || !(PREF_KINDS as readonly string[]).includes(claims.k))
    throw new ForgeError("not_found", "This unsubscribe link is not valid. Change what mail you get in your account settings.");
  return claims;
}

const what = (claims: UnsubscribeClaims) =>
  "u" in claims
    ? `mail about ${KIND_NAMES[claims.k as PrefKind]}`
    : `mail about ${KIND_NAMES[claims.k as PrefKind]} to ${claims.a} (a project's notification list)`;

notificationRoutes.get("/unsubscribe/:token", component("web.unsubscribe"), async (c) => {
  const claims = await claimsOf(c);
  // Mail scanners follow links: this page only asks.
  c.header("Cache-Control", "no-store");
  return c.html(
    <Layout title="Unsubscribe" forgeName={c.get("tenant").name} crumbs={[{ label: "Unsubscribe" }]}>
      <h1>Unsubscribe</h1>
      <p>Stop {what(claims)} from this forge?</p>
      <form method="post" action={c.req.path} class="stack">
        <input type="hidden" name="List-Unsubscribe" value="One-Click" />
        <SubmitRow label="Stop these mails" />
      </form>
    </Layout>,
  );
});

notificationRoutes.post("/unsubscribe/:token", component("web.unsubscribe"), async (c) => {
  const claims = await claimsOf(c);
  await unsubscribe(c.get("db"), claims);
  c.header("Cache-Control", "no-store");
  return c.html(
    <Layout title="Unsubscribed" forgeName={c.get("tenant").name} crumbs={[{ label: "Unsubscribe" }]}>
      <h1>Unsubscribed</h1>
      <p role="status">You will get no more {what(claims)}.</p>
      {"u" in claims && (
        <p>
          Changed your mind? <a href="/account/notifications">Choose what mail you get</a>.
        </p>
      )}
    </Layout>,
  );
});
