// Account pages: sign in and out, register, confirm an address, reset a password, and the
// signed-in user's settings (profile, avatar, addresses, password, API tokens, feed token, mail
// notifications), and the unsubscribe links of notification mail.
import { Hono } from "hono";
import type { AppEnv } from "../../context";
import { settingsRoutes } from "./settings";
import { signInRoutes } from "./sign-in";
import { tokenRoutes } from "./tokens";
import { feedTokenRoutes } from "./feed-token";
import { notificationRoutes } from "./notifications";

export const accountRoutes = new Hono<AppEnv>();
accountRoutes.route("/", signInRoutes);
accountRoutes.route("/", settingsRoutes);
accountRoutes.route("/", tokenRoutes);
accountRoutes.route("/", feedTokenRoutes);
accountRoutes.route("/", notificationRoutes);
