// Mail notifications of events (the FORGE_EVENTS handler): who hears of each event
// (recipients.ts), what they read (message.ts), sent through the outbox once per event and address.
import { and, eq } from "drizzle-orm";
import type { EventContext, EventHandler } from "../events/types";
import type { TimelineEvent } from "../timeline";
import { issueComments, issues } from "../../db/schema";
import { wikiPages } from "../../db/wiki-schema";
import { reviewComments, reviews } from "../../db/reviews-schema";
import { signUnsubscribe, type UnsubscribeClaims } from "../../auth/unsubscribe";
import type { SessionSecrets } from "../../auth/session";
import { sendMailOnce, type MailMessage } from "../outbox";
import { prefKindOf, recipientsOf, type Recipient, type Subject } from "./recipients";
import { linkOrigin, renderMail, type MailItem } from "./message";
import { describeChanges, digestOf, DIGEST_MIN_ISSUES, type DigestIssue, type DigestMail } from "./digest";
import { chunks } from "../../utils/chunks";

type Payload = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const enc = encodeURIComponent;

function parsePayload(text: string): Payload {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" ? (v as Payload) : {};
  } catch {
    return {};
  }
}

const secretsOf = (ctx: EventContext): SessionSecrets | null =>
  ctx.env.FORGE_SESSION_SECRET
    ? { current: ctx.env.FORGE_SESSION_SECRET, previous: ctx.env.FORGE_SESSION_SECRET_PREVIOUS || undefined }
    : null;

/** The thread of an issue: its first mail's Message-ID, which every later mail replies to. */
export const issueThreadId = (tenantId: string, host: string, issueId: number) => `<issue-${issueId}.${tenantId}@${host}>`;
/** The thread of a review, like an issue's: its "opened" mail's Message-ID. */
export const reviewThreadId = (tenantId: string, host: string, reviewId: number) => `<review-${reviewId}.${tenantId}@${host}>`;
export const eventMessageId = (tenantId: string, host: string, eventId: number) => `<event-${eventId}.${tenantId}@${host}>`;

/** What one event mails: its subject and items, who follows it, and its threading. */
interface Draft {
  subject: string;
  items: MailItem[];
  /** Who follows it: recipients.ts. */
  about: Subject;
  messageId: string;
  replyTo: string | null;
}

/**
 * The draft of an event of a thread (an issue's or a review's): the opening event's Message-ID is
 * the thread's own, and every later event's mail replies to it.
 */
function threadDraft(
  ctx: EventContext,
  event: TimelineEvent,
  host: string,
  t: { opened: boolean; thread: string; title: string; item: MailItem; about: Subject },
): Draft {
  return {
    subject: `${t.opened ? "" : "Re: "}[${ctx.project.name}] ${t.title}`,
    items: [t.item],
    about: t.about,
    messageId: t.opened ? t.thread : eventMessageId(ctx.tenant.id, host, event.id),
    replyTo: t.opened ? null : t.thread,
  };
}

async function issueDraft(
  ctx: EventContext,
  event: TimelineEvent,
  p: Payload,
  origin: string,
  host: string,
): Promise<Draft | null> {
  // One push that closes or mentions many issues mails one digest instead (the push event's).
  if (p.digest === true) return null;
  const number = num(p.number);
  if (!number) return null;
  const [issue] = await ctx.db
    .select()
    .from(issues)
    .where(and(eq(issues.projectId, ctx.project.id), eq(issues.number, number)));
  if (!issue) return null;
  const commentId = num(p.comment);
  const [comment] = commentId
    ? await ctx.db
        .select({ body: issueComments.body, changes: issueComments.changes })
        .from(issueComments)
        .where(and(eq(issueComments.id, commentId), eq(issueComments.issueId, issue.id)))
    : [];
  const opened = p.action === "opened";
  const link = `${origin}/p/${enc(ctx.project.name)}/issues/${issue.number}${commentId ? `#c${commentId}` : ""}`;
  const base = `Issue #${issue.number}: ${issue.summary}`;
  const thread = issueThreadId(ctx.tenant.id, host, issue.id);
  return threadDraft(ctx, event, host, {
    opened,
    thread,
    title: base,
    item: {
      line: event.title,
      detail: opened ? `Status: ${issue.status}` : (describeChanges(comment?.changes) ?? undefined),
      quote: (opened ? issue.description : comment?.body) || undefined,
      link,
    },
    about: { kind: "issue", issueId: issue.id, actor: event.actor },
  });
}

async function reviewDraft(
  ctx: EventContext,
  event: TimelineEvent,
  p: Payload,
  origin: string,
  host: string,
): Promise<Draft | null> {
  // Events from before payloads carried reviewId name the review by its number only.
  const reviewId = num(p.reviewId);
  const number = num(p.number);
  if (!reviewId && !number) return null;
  const [review] = await ctx.db
    .select()
    .from(reviews)
    .where(and(eq(reviews.projectId, ctx.project.id), reviewId ? eq(reviews.id, reviewId) : eq(reviews.number, number!)));
  if (!review) return null;
  const commentId = num(p.comment);
  const [comment] = commentId
    ? await ctx.db
        .select({ body: reviewComments.body })
        .from(reviewComments)
        .where(and(eq(reviewComments.id, commentId), eq(reviewComments.reviewId, review.id)))
    : [];
  const opened = p.action === "opened";
  const rev = p.action === "revision" ? num(p.revision) : null;
  const link = `${origin}/p/${enc(ctx.project.name)}/reviews/${review.number}${rev ? `?rev=${rev}` : ""}${comment ? `#c${commentId}` : ""}`;
  const thread = reviewThreadId(ctx.tenant.id, host, review.id);
  return threadDraft(ctx, event, host, {
    opened,
    thread,
    title: `Review ${review.number}: ${review.title}`,
    item: {
      line: event.title,
      detail: opened
        ? `${review.kind === "patches" ? "patches (uploaded)" : review.sourceBranch} into ${review.targetBranch}`
        : undefined,
      quote: (opened ? review.description : comment?.body) || undefined,
      link,
    },
    about: { kind: "review", reviewId: review.id, actor: event.actor },
  });
}

async function otherDraft(
  ctx: EventContext,
  event: TimelineEvent,
  p: Payload,
  origin: string,
  host: string,
): Promise<Draft | null> {
  const base = `${origin}/p/${enc(ctx.project.name)}`;
  const messageId = eventMessageId(ctx.tenant.id, host, event.id);
  const draft = (link: string, subject: Subject): Draft => ({
    subject: `[${ctx.project.name}] ${event.title}`,
    items: [{ line: event.title, link }],
    about: subject,
    messageId,
    replyTo: null,
  });
  switch (event.kind) {
    case "push": {
      const updates = Array.isArray(p.updates) ? (p.updates as { name?: string; old?: string; new?: string }[]) : [];
      const one = updates.length === 1 ? updates[0]! : null;
      const zero = "0".repeat(40);
      const link =
        one?.old && one.new && one.old !== zero && one.new !== zero && one.name?.startsWith("refs/heads/")
          ? `${base}/source/compare/${one.old}...${one.new}`
          : `${base}/source/`;
      const d = draft(link, { kind: "push", actor: event.actor });
      const issuesLinked = Array.isArray(p.issues) ? (p.issues as DigestIssue[]) : [];
      if (issuesLinked.length >= DIGEST_MIN_ISSUES) return null; // the digest covers it (sendNotifications)
      return d;
    }
    case "wiki": {
      const page = str(p.page);
      if (!page) return null;
      const pageId = num(p.pageId) ?? (await pageIdOf(ctx, page));
      const rev = num(p.revision);
      const link = p.action === "deleted" ? `${base}/wiki/` : `${base}/wiki/${enc(page)}${rev ? `/revisions/${rev}` : ""}`;
      return draft(link, { kind: "wiki", pageId: pageId ?? undefined, actor: event.actor });
    }
    case "download": {
      const name = str(p.name);
      const link = name && p.action !== "delete" ? `${base}/downloads/${enc(name)}` : `${base}/downloads/`;
      return draft(link, { kind: "download", actor: event.actor });
    }
    default:
      return null;
  }
}

async function pageIdOf(ctx: EventContext, name: string): Promise<number | null> {
  const [row] = await ctx.db
    .select({ id: wikiPages.id })
    .from(wikiPages)
    .where(and(eq(wikiPages.projectId, ctx.project.id), eq(wikiPages.name, name)));
  return row?.id ?? null;
}

/** The List-Unsubscribe URL of one recipient, or null without a secret to sign it. */
async function unsubscribeUrl(ctx: EventContext, origin: string, r: Recipient, kind: string): Promise<string | null> {
  const secrets = secretsOf(ctx);
  if (!secrets) return null;
  const claims: UnsubscribeClaims =
    r.userId !== null
      ? { t: ctx.tenant.id, u: r.userId, k: kind }
      : { t: ctx.tenant.id, a: r.address, p: ctx.project.id, k: kind };
  return `${origin}/unsubscribe/${await signUnsubscribe(secrets, claims)}`;
}

/** What a user follows besides the project, as the footer of an event's mail names it. */
const FOLLOWED: Partial<Record<string, string>> = { issue: "issue", review: "review", wiki: "page" };

/** One recipient's message. */
async function messageFor(
  ctx: EventContext,
  event: TimelineEvent,
  r: Recipient,
  m: { subject: string; items: MailItem[]; intro?: string; messageId: string; replyTo: string | null; kind?: string },
  origin: string,
  host: string,
): Promise<MailMessage> {
  const kind = m.kind ?? prefKindOf(event.kind as Subject["kind"]);
  const unsubscribe = await unsubscribeUrl(ctx, origin, r, kind);
  const parts = renderMail({
    subject: m.subject,
    intro: m.intro,
    items: m.items,
    why:
      r.userId !== null
        ? `You get this because you follow ${ctx.project.name} or this ${FOLLOWED[event.kind] ?? "page"} on ${ctx.tenant.name}.`
        : `This address is on the ${kind} notification list of ${ctx.project.name}.`,
    unsubscribe,
    settings: `${origin}/account/notifications`,
  });
  const headers: Record<string, string> = {
    "Message-ID": m.messageId,
    "List-Id": `${ctx.project.name} <${enc(ctx.project.name)}.${host}>`,
    "Auto-Submitted": "auto-generated",
  };
  if (m.replyTo) {
    headers["In-Reply-To"] = m.replyTo;
    headers.References = m.replyTo;
  }
  if (unsubscribe) {
    headers["List-Unsubscribe"] = `<${unsubscribe}>`;
    headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click";
  }
  return {
    to: r.address,
    subject: parts.subject,
    text: parts.text,
    html: parts.html,
    headers,
    key: `event:${event.id}:${r.address.toLowerCase()}`,
  };
}

/** Recipients' messages, a few at a time (see sendMailOnce). */
async function* inBatches<T>(items: T[], make: (item: T) => Promise<MailMessage>): AsyncIterable<MailMessage[]> {
  for (const part of chunks(items, 16)) yield await Promise.all(part.map(make));
}

export const sendNotifications: EventHandler = async (ctx, event) => {
  const p = parsePayload(event.payload);
  const origin = linkOrigin(ctx.env, ctx.tenant);
  const host = ctx.tenant.hosts[0] ?? "localhost";
  const prefix = `event:${event.id}:`;
  const digest = event.kind === "push" ? await digestOf(ctx, event, p, origin) : null;
  if (digest) {
    const subject = `[${ctx.project.name}] ${event.title}`;
    const messageId = eventMessageId(ctx.tenant.id, host, event.id);
    const make = ({ recipient, items, intro, kind }: DigestMail) =>
      messageFor(ctx, event, recipient, { subject, items, intro, messageId, replyTo: null, kind }, origin, host);
    await sendMailOnce(ctx.env, ctx.db, ctx.tenant, inBatches(digest, make), prefix);
    return;
  }
  const draft =
    event.kind === "issue"
      ? await issueDraft(ctx, event, p, origin, host)
      : event.kind === "review"
        ? await reviewDraft(ctx, event, p, origin, host)
        : await otherDraft(ctx, event, p, origin, host);
  if (!draft) return;
  const recipients = await recipientsOf(ctx.db, ctx.project, draft.about);
  const make = (r: Recipient) => messageFor(ctx, event, r, draft, origin, host);
  await sendMailOnce(ctx.env, ctx.db, ctx.tenant, inBatches(recipients, make), prefix);
};
