// Mail to users: account mail (address confirmation, password reset) and notifications. Every
// message is written to the tenant's outbox table; with a MAIL binding (Cloudflare's email sending,
// docs/deploy.md) it is also sent and marked sent, and without one (local runs) it is logged as one
// structured line the runner prints.
import { and, asc, desc, eq, gt, gte, isNull, lt } from "drizzle-orm";
import type { Env } from "../env";
import { MAX_BOUND_PARAMETERS, type TenantDb } from "../db/tenant-db";
import { chunks } from "../utils/chunks";
import { outbox } from "../db/schema";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** An HTML alternative, escaped by whoever built it. */
  html?: string;
  /** Threading and list headers (Message-ID, In-Reply-To, References, List-Unsubscribe...). */
  headers?: Record<string, string>;
  /** Unique name of the message: writing it again is a no-op (a redelivered event). */
  key?: string;
}

export type OutboxRow = typeof outbox.$inferSelect;

/** The part of Cloudflare's send_email binding we use (structured messages). */
interface MailBinding {
  send(message: {
    from: string;
    to: string;
    subject: string;
    text: string;
    html?: string;
    headers?: Record<string, string>;
  }): Promise<unknown>;
}

const mailBinding = (env: Env): MailBinding | null => {
  const b = env.MAIL as MailBinding | undefined;
  return b && typeof b.send === "function" ? b : null;
};

/**
 * Headers the Email Service sets itself and refuses from callers: Message-ID among them. Ours stays
 * in the outbox row, and replies still thread on In-Reply-To and References (docs/deploy.md).
 */
const PLATFORM_HEADERS = new Set(["message-id", "date", "mime-version", "content-type"]);

const rowValues = (m: MailMessage) => ({
  toAddress: m.to,
  subject: m.subject,
  body: m.text,
  html: m.html ?? null,
  headers: JSON.stringify(m.headers ?? {}),
  key: m.key ?? null,
});

/** Writes one message and sends it at once (account mail: the caller waits for it). */
export async function sendMail(
  env: Env,
  db: TenantDb,
  tenant: { id: string; name: string },
  message: MailMessage,
): Promise<void> {
  const [row] = await db.insert(outbox).values(rowValues(message)).returning();
  await deliver(env, db, tenant, row!);
}

/** Rows a statement writes (six bound values each) and rows a page of unsent mail reads. */
const WRITE_ROWS = Math.floor(MAX_BOUND_PARAMETERS / 6);
const READ_ROWS = 50;

/**
 * Writes messages that are not in the outbox yet (by key), batch by batch as they are made (so
 * memory holds one batch, however many recipients), then sends every message under `keyPrefix`
 * not sent yet: these, and any an earlier attempt left. A send that fails throws, after the
 * others were tried, so the caller's queue retries; what was sent is not sent again.
 */
export async function sendMailOnce(
  env: Env,
  db: TenantDb,
  tenant: { id: string; name: string },
  batches: AsyncIterable<MailMessage[]>,
  keyPrefix: string,
): Promise<void> {
  const binding = mailBinding(env);
  for await (const batch of batches) {
    for (const part of chunks(batch, WRITE_ROWS)) {
      const fresh = await db.insert(outbox).values(part.map(rowValues)).onConflictDoNothing().returning();
      // Locally nothing is ever marked sent: only new rows are logged, so a retry prints nothing twice.
      if (!binding) for (const row of fresh) await deliver(env, db, tenant, row);
    }
  }
  if (!binding) return;
  let failure: unknown = null;
  let after = 0;
  for (;;) {
    const rows = await db
      .select()
      .from(outbox)
      // A range of keys, not LIKE: it reads the key's unique index.
      .where(and(gte(outbox.key, keyPrefix), lt(outbox.key, `${keyPrefix}\uffff`), isNull(outbox.sentAt), gt(outbox.id, after)))
      .orderBy(asc(outbox.id))
      .limit(READ_ROWS);
    for (const row of rows) {
      try {
        await deliver(env, db, tenant, row);
      } catch (err) {
        failure ??= err;
      }
    }
    if (rows.length < READ_ROWS) break;
    after = rows[rows.length - 1]!.id;
  }
  if (failure) throw failure;
}

async function deliver(env: Env, db: TenantDb, tenant: { id: string; name: string }, row: OutboxRow): Promise<void> {
  const headers = JSON.parse(row.headers) as Record<string, string>;
  const binding = mailBinding(env);
  if (!binding) {
    // Local mode: the runner prints this line so a developer can follow the link.
    console.log(
      JSON.stringify({ level: "mail", tenant: tenant.id, message: `to ${row.toAddress}: ${row.subject}\n${row.body}` }),
    );
    return;
  }
  await binding.send({
    from: env.MAIL_FROM ?? "forge@example.com",
    to: row.toAddress,
    subject: `[${tenant.name}] ${row.subject}`,
    text: row.body,
    ...(row.html ? { html: row.html } : {}),
    headers: Object.fromEntries(Object.entries(headers).filter(([name]) => !PLATFORM_HEADERS.has(name.toLowerCase()))),
  });
  await db.update(outbox).set({ sentAt: new Date().toISOString() }).where(eq(outbox.id, row.id));
}

/** The newest messages first, paged by id (the forge admin's outbox page). */
export async function listOutbox(
  db: TenantDb,
  opts: { before?: number; limit: number },
): Promise<{ rows: OutboxRow[]; older: number | null }> {
  const rows = await db
    .select()
    .from(outbox)
    .where(opts.before !== undefined ? lt(outbox.id, opts.before) : undefined)
    .orderBy(desc(outbox.id))
    .limit(opts.limit + 1);
  const more = rows.length > opts.limit;
  const page = more ? rows.slice(0, opts.limit) : rows;
  return { rows: page, older: more ? page[page.length - 1]!.id : null };
}

export async function findOutboxMessage(db: TenantDb, id: number): Promise<OutboxRow | undefined> {
  return (await db.select().from(outbox).where(eq(outbox.id, id)).limit(1))[0];
}
