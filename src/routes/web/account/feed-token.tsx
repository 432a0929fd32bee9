// The signed-in user's feed token: feed readers have no session, so the Atom feeds of private
// projects and restricted areas are read with ?token=<feed token>. Made (and remade) by a POST;
// shown once, since only its hash is kept.
import { Hono, type Context } from "hono";
import type { AppEnv } from "../../context";
import { component, requireUser } from "../../middleware/guards";
import { feedTokenCreated, resetFeedToken } from "../../../services/feed-tokens";
import type { User } from "../../../services/users";
import { PostButton } from "../../../views/forms";
import { SettingsPage } from "./settings";

export const feedTokenRoutes = new Hono<AppEnv>();

type Ctx = Context<AppEnv>;

async function feedTokenPage(c: Ctx, user: User, minted?: string) {
  const created = await feedTokenCreated(c.get("db"), user.id);
  const origin = new URL(c.req.url).origin;
  return c.html(
    <SettingsPage c={c} user={user} section="/account/feed-token" title="Feed token">
      <p>
        Feed readers cannot sign in. To follow the timeline of a private project (or an area open only to members) in one, add{" "}
        <code>?token=&lt;your feed token&gt;</code> to the feed's address. The token only reads feeds, and only what you may read
        yourself.
      </p>
      {minted && (
        <div class="notice ok" role="status">
          <p>Your new feed token. Copy it now: it is not shown again. The old one no longer works.</p>
          <p class="token">{minted}</p>
          <p>
            For example: <code>{`${origin}/p/<project>/timeline.atom?token=${minted}`}</code>
          </p>
        </div>
      )}
      {created ? (
        <p>
          You have a feed token, made <time datetime={created}>{created.slice(0, 10)}</time>. If a feed address of yours was seen
          by someone else, reset it: every feed address with the old token stops working.
        </p>
      ) : (
        <p class="muted">You have no feed token yet.</p>
      )}
      <PostButton action="/account/feed-token" label={created ? "Reset feed token" : "Make a feed token"} />
    </SettingsPage>,
    minted ? 201 : 200,
  );
}

feedTokenRoutes.get("/account/feed-token", component("web.account.feed-token"), requireUser, (c) =>
  feedTokenPage(c, c.get("user")),
);

feedTokenRoutes.post("/account/feed-token", component("web.account.feed-token"), requireUser, async (c) => {
  const user = c.get("user");
  const token = await resetFeedToken(c.get("db"), user.id);
  // The page shows the token once; it must not be cached.
  c.header("Cache-Control", "no-store");
  return feedTokenPage(c, user, token);
});
