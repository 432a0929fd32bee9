// The digest of a push that closes or mentions many issues: one mail per recipient listing the
// issues they follow (and the push, for its watchers), instead of one mail per issue. The issue
// events of such a push carry `digest: true` and mail nothing themselves.
import { and, eq, inArray } from "drizzle-orm";
import type { EventContext } from "../events/types";
import type { TimelineEvent } from "../timeline";
import { issues } from "../../db/schema";
import { MAX_BOUND_PARAMETERS } from "../../db/tenant-db";
import { chunks } from "../../utils/chunks";
import { parseChanges } from "../issues/model";
import { recipientsOf, type Recipient } from "./recipients";
import type { MailItem } from "./message";

/** From this many issues linked by one push on, their mail is one digest. */
export const DIGEST_MIN_ISSUES = 3;

/** An issue a push's commits closed or referred to (the push event's payload `issues`). */
export interface DigestIssue {
  number: number;
  action: "close" | "ref";
}

/** One line on what a change did: "Status: New → Fixed; Owner: – → bob", or null. */
export function describeChanges(json: string | undefined): string | null {
  if (!json) return null;
  const c = parseChanges(json);
  const parts: string[] = [];
  const pair = (label: string, v?: [string | null, string | null]) => {
    if (v) parts.push(`${label}: ${v[0] || "–"} → ${v[1] || "–"}`);
  };
  pair("Status", c.status);
  pair("Owner", c.owner);
  pair("Summary", c.summary);
  pair("Due", c.due);
  if (c.labels)
    parts.push(`Labels: ${[...c.labels.added.map((l) => `+${l}`), ...c.labels.removed.map((l) => `-${l}`)].join(" ")}`);
  if (c.description) parts.push("Description changed");
  return parts.length ? parts.join("; ") : null;
}

export interface DigestMail {
  recipient: Recipient;
  intro: string;
  items: MailItem[];
  /** The preference the unsubscribe link turns off: push for the push's watchers, else issue. */
  kind: "push" | "issue";
}

/** Per recipient, what a push that linked many issues tells them; null for any other event. */
export async function digestOf(
  ctx: EventContext,
  event: TimelineEvent,
  p: Record<string, unknown>,
  origin: string,
): Promise<DigestMail[] | null> {
  const linked = Array.isArray(p.issues) ? (p.issues as DigestIssue[]).filter((i) => Number.isSafeInteger(i?.number)) : [];
  if (linked.length < DIGEST_MIN_ISSUES) return null;
  const rows = [];
  for (const part of chunks(
    linked.map((i) => i.number),
    MAX_BOUND_PARAMETERS - 10,
  )) {
    rows.push(
      ...(await ctx.db
        .select({ id: issues.id, number: issues.number, summary: issues.summary, status: issues.status })
        .from(issues)
        .where(and(eq(issues.projectId, ctx.project.id), inArray(issues.number, part)))),
    );
  }
  const action = new Map(linked.map((i) => [i.number, i.action]));
  const mails = new Map<string, DigestMail>();
  // Nothing about issues a recipient may not read: each lists only their own.
  const intro = `${event.title}.`;
  const base = `${origin}/p/${encodeURIComponent(ctx.project.name)}`;
  for (const r of await recipientsOf(ctx.db, ctx.project, { kind: "push", actor: event.actor })) {
    mails.set(r.address.toLowerCase(), {
      recipient: r,
      intro,
      items: [{ line: event.title, link: `${base}/source/` }],
      kind: "push",
    });
  }
  for (const issue of rows.sort((a, b) => a.number - b.number)) {
    const item: MailItem = {
      line: `#${issue.number} ${issue.summary}`,
      detail: `${action.get(issue.number) === "close" ? "Closed" : "Referred to"} by a commit of this push`,
      link: `${base}/issues/${issue.number}`,
    };
    for (const r of await recipientsOf(ctx.db, ctx.project, { kind: "issue", issueId: issue.id, actor: event.actor })) {
      const key = r.address.toLowerCase();
      const mail = mails.get(key) ?? { recipient: r, intro, items: [], kind: "issue" as const };
      mail.items.push(item);
      mails.set(key, mail);
    }
  }
  return [...mails.values()];
}
