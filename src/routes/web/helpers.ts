// Shared pieces of the account and admin pages: form parsing, sign-in state, the client address.
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv, FormFailure } from "../context";
import { formFailure } from "../middleware/errors";
import { sessionSecrets } from "../middleware/session";
import { newSessionId, sessionCookie, signSession } from "../../auth/session";
import type { MailContext } from "../../services/accounts";
import type { User } from "../../services/users";
import { ForgeError } from "../../utils/errors";

const FORM_MAX_BYTES = 256 * 1024;

/**
 * Refuses a request body over `maxBytes` (413, with `message`) before it is parsed: by its
 * Content-Length, or while reading one sent without (chunked), which is then held for parsing.
 */
export async function limitBody(c: Context<AppEnv>, maxBytes: number, message: string): Promise<void> {
  await bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ForgeError("payload_too_large", message);
    },
  })(c, async () => {});
}

/** The fields of a submitted form (text fields only; files through readUpload). */
export async function readForm(c: Context<AppEnv>, maxBytes = FORM_MAX_BYTES): Promise<Record<string, string>> {
  await limitBody(c, maxBytes, `This form is over ${maxBytes / 1024} KiB; shorten its text and send it again.`);
  let body: Record<string, string | File | (string | File)[]>;
  try {
    body = await c.req.parseBody();
  } catch {
    throw new ForgeError("bad_request", "This form could not be read; reload the page and send it again.");
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") out[k] = v;
  return out;
}

/** The address a request came from: Cloudflare's CF-Connecting-IP (local runs have none). */
export const clientAddress = (c: Context<AppEnv>) => c.req.header("cf-connecting-ip") ?? "local";

export const mailContext = (c: Context<AppEnv>): MailContext => ({
  env: c.env,
  tenant: c.get("tenant"),
  origin: new URL(c.req.url).origin,
});

/** Only paths on this site (not //other.example) are followed after signing in. */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?!\/)[^\\\s]*$/.test(next) ? next : "/";
}

/** Signs `user` in on this tenant: sets the session cookie. */
export async function startSession(c: Context<AppEnv>, user: User): Promise<void> {
  const secrets = sessionSecrets(c.env);
  if (!secrets) throw new ForgeError("unavailable", "Signing in is not set up on this installation (FORGE_SESSION_SECRET).");
  const value = await signSession(secrets, {
    t: c.get("tenant").id,
    u: user.id,
    n: user.username,
    a: user.isAdmin,
    e: user.sessionEpoch,
    s: newSessionId(),
  });
  c.header("Set-Cookie", sessionCookie(value), { append: true });
}

export function signInRedirect(c: Context<AppEnv>): Response {
  return c.redirect(`/account/login?next=${encodeURIComponent(c.req.path)}`, 303);
}

/**
 * A ForgeError's message for showing on the form that caused it; other errors go on up. For
 * catches that must clean up first; the others declare showFormErrors (middleware/errors.tsx).
 */
export function formError(err: unknown): FormFailure {
  const failure = err instanceof Error ? formFailure(err) : null;
  if (!failure) throw err;
  return failure;
}
