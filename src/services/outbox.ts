// Mail to users (address confirmation, password reset). Every message is written to the tenant's
// outbox table; with a MAIL binding (Cloudflare's email sending, docs/deploy.md) it is also sent,
// and without one (local runs) its text is logged as one structured line the runner prints.
import { eq } from "drizzle-orm";
import type { Env } from "../env";
import type { TenantDb } from "../db/tenant-db";
import { outbox } from "../db/schema";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** The part of Cloudflare's send_email binding we use (structured messages). */
interface MailBinding {
  send(message: { from: string; to: string; subject: string; text: string }): Promise<unknown>;
}

const mailBinding = (env: Env): MailBinding | null => {
  const b = env.MAIL as MailBinding | undefined;
  return b && typeof b.send === "function" ? b : null;
};

export async function sendMail(
  env: Env,
  db: TenantDb,
  tenant: { id: string; name: string },
  message: MailMessage,
): Promise<void> {
  const [row] = await db
    .insert(outbox)
    .values({ toAddress: message.to, subject: message.subject, body: message.text })
    .returning({ id: outbox.id });
  const binding = mailBinding(env);
  if (!binding) {
    // Local mode: the runner prints this line so a developer can follow the link.
    console.log(
      JSON.stringify({ level: "mail", tenant: tenant.id, message: `to ${message.to}: ${message.subject}\n${message.text}` }),
    );
    return;
  }
  await binding.send({
    from: env.MAIL_FROM ?? "forge@example.com",
    to: message.to,
    subject: `[${tenant.name}] ${message.subject}`,
    text: message.text,
  });
  await db.update(outbox).set({ sentAt: new Date().toISOString() }).where(eq(outbox.id, row!.id));
}
