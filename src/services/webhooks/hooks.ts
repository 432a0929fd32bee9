// A project's webhooks: the service API the web pages, the REST API and Gitea's /repos/{o}/{r}/hooks
// (services/gitea/hooks.ts maps its options) share: list, create, get, update, delete, deliveries.
// URLs pass the SSRF guard when saved (and again at each delivery); secrets are sealed (secret.ts),
// never shown back.
import { and, desc, eq, lt } from "drizzle-orm";
import type { Env } from "../../env";
import type { TenantDb } from "../../db/tenant-db";
import { webhookDeliveries, webhooks } from "../../db/webhooks-schema";
import { parseAllowList } from "../../utils/ssrf";
import { assertTargetAllowed, BlockedTarget } from "../../utils/ssrf-fetch";
import { badRequest, ForgeError } from "../../utils/errors";
import { sealSecret } from "./secret";

/** What a hook may subscribe to (a comment is an issue comment with text). */
export const HOOK_EVENTS = ["push", "issue", "comment", "wiki", "download", "review"] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];
export const CONTENT_TYPES = ["json", "form"] as const;
export type HookContentType = (typeof CONTENT_TYPES)[number];

export const isHookEvent = (v: string): v is HookEvent => (HOOK_EVENTS as readonly string[]).includes(v);

/** Hooks per project at most: each event costs one delivery per hook. */
export const MAX_HOOKS_PER_PROJECT = 20;
const MAX_URL = 2000;
const MAX_SECRET = 200;

type Row = typeof webhooks.$inferSelect;
export type Delivery = typeof webhookDeliveries.$inferSelect;

/** A hook as callers see it: the secret is never returned, only whether there is one. */
export interface Hook {
  id: number;
  projectId: number;
  url: string;
  events: HookEvent[];
  contentType: HookContentType;
  active: boolean;
  hasSecret: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface HookInput {
  url: string;
  /** undefined: unchanged (updates) or none (creation); "": remove it. */
  secret?: string;
  events: string[];
  contentType: string;
  active: boolean;
}

export const toHook = (r: Row): Hook => ({
  id: r.id,
  projectId: r.projectId,
  url: r.url,
  events: r.events.split(" ").filter(isHookEvent),
  contentType: r.contentType === "form" ? "form" : "json",
  active: r.active,
  hasSecret: r.secret !== "",
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

/** The hook settings the guard reads: allow-list, resolver (docs/deploy.md). */
export const guardSettings = (env: Env) => ({
  allow: parseAllowList(env.WEBHOOK_ALLOWLIST as string | undefined),
  resolver: (env.WEBHOOK_DNS_RESOLVER as string | undefined) || undefined,
});

/** Checks the input; the URL through the SSRF guard (its host resolved where a resolver is set). */
async function validate(env: Env, input: HookInput, fetchFn: typeof fetch = fetch) {
  const url = input.url.trim();
  if (!url) throw badRequest("Give the URL the hook posts to.");
  if (url.length > MAX_URL) throw badRequest(`A hook URL has at most ${MAX_URL} characters.`);
  try {
    await assertTargetAllowed(url, { ...guardSettings(env), fetch: fetchFn, maxRedirects: 0 });
  } catch (err) {
    if (err instanceof BlockedTarget) throw badRequest(err.message);
    throw badRequest(`The URL's host could not be checked (${(err as Error).message}); try again.`);
  }
  const events = [...new Set(input.events)];
  const unknown = events.find((e) => !isHookEvent(e));
  if (unknown !== undefined) throw badRequest(`Unknown event "${unknown}": choose among ${HOOK_EVENTS.join(", ")}.`);
  if (events.length === 0) throw badRequest("Choose at least one event for the hook.");
  if (!(CONTENT_TYPES as readonly string[]).includes(input.contentType)) {
    throw badRequest('The content type is "json" (application/json) or "form" (application/x-www-form-urlencoded).');
  }
  if (input.secret !== undefined && input.secret.length > MAX_SECRET) {
    throw badRequest(`A hook secret has at most ${MAX_SECRET} characters.`);
  }
  return { url, events: HOOK_EVENTS.filter((e) => events.includes(e)).join(" "), contentType: input.contentType };
}

export async function listHooks(db: TenantDb, projectId: number): Promise<Hook[]> {
  const rows = await db.select().from(webhooks).where(eq(webhooks.projectId, projectId)).orderBy(webhooks.id);
  return rows.map(toHook);
}

async function findRow(db: TenantDb, projectId: number, id: number): Promise<Row> {
  const row = Number.isSafeInteger(id)
    ? await db.query.webhooks.findFirst({ where: and(eq(webhooks.projectId, projectId), eq(webhooks.id, id)) })
    : undefined;
  if (!row) throw new ForgeError("not_found", `This project has no hook ${id}.`);
  return row;
}

export const getHook = async (db: TenantDb, projectId: number, id: number): Promise<Hook> =>
  toHook(await findRow(db, projectId, id));

/** The hook's row with its sealed secret (deliveries only). */
export const hookRow = findRow;

export async function createHook(env: Env, db: TenantDb, projectId: number, input: HookInput): Promise<Hook> {
  const v = await validate(env, input);
  const existing = await db.select({ id: webhooks.id }).from(webhooks).where(eq(webhooks.projectId, projectId));
  if (existing.length >= MAX_HOOKS_PER_PROJECT) {
    throw badRequest(`A project has at most ${MAX_HOOKS_PER_PROJECT} hooks: delete one first.`);
  }
  const [row] = await db
    .insert(webhooks)
    .values({ projectId, ...v, active: input.active, secret: await sealSecret(env, input.secret ?? "") })
    .returning();
  return toHook(row!);
}

export async function updateHook(env: Env, db: TenantDb, projectId: number, id: number, input: HookInput): Promise<Hook> {
  await findRow(db, projectId, id);
  const v = await validate(env, input);
  const [row] = await db
    .update(webhooks)
    .set({
      ...v,
      active: input.active,
      ...(input.secret !== undefined ? { secret: await sealSecret(env, input.secret) } : {}),
      updatedAt: new Date().toISOString(),
    })
    .where(and(eq(webhooks.projectId, projectId), eq(webhooks.id, id)))
    .returning();
  return toHook(row!);
}

export async function deleteHook(db: TenantDb, projectId: number, id: number): Promise<void> {
  await findRow(db, projectId, id);
  await db.delete(webhooks).where(and(eq(webhooks.projectId, projectId), eq(webhooks.id, id)));
}

/** A hook's delivery attempts, newest first, paged by id. */
export async function listDeliveries(
  db: TenantDb,
  projectId: number,
  hookId: number,
  opts: { limit: number; before?: number },
): Promise<Delivery[]> {
  await findRow(db, projectId, hookId);
  return db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.projectId, projectId),
        eq(webhookDeliveries.hookId, hookId),
        opts.before !== undefined ? lt(webhookDeliveries.id, opts.before) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.id))
    .limit(opts.limit);
}

export async function getDelivery(db: TenantDb, projectId: number, hookId: number, id: number): Promise<Delivery> {
  const row = Number.isSafeInteger(id)
    ? await db.query.webhookDeliveries.findFirst({
        where: and(
          eq(webhookDeliveries.projectId, projectId),
          eq(webhookDeliveries.hookId, hookId),
          eq(webhookDeliveries.id, id),
        ),
      })
    : undefined;
  if (!row) throw new ForgeError("not_found", `This hook has no delivery ${id}.`);
  return row;
}
