// Atom feeds of a project's tracker and of one issue: filings and comments, newest first.
import { Hono } from "hono";
import type { AppEnv } from "../../edge/context";
import { issueActivity, type ActivityEntry } from "../../services/issue-lists";
import { findIssue, parseChanges, type IssueChanges } from "../../services/issues";
import { renderMarkdown } from "../../utils/markdown";
import { issueHref, issuesBase } from "../../views/issues";
import { notFoundPage } from "./errors";
import { trackerRoute, type Ctx, type Tracker } from "./issues-helpers";

export const issueFeedRoutes = new Hono<AppEnv>();

const xml = (s: string) =>
  s
    .replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[ch]!)
    // Characters XML 1.0 does not allow at all.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "");

/** What a comment changed, as lines of text. */
export function changeLines(c: IssueChanges): string[] {
  const out: string[] = [];
  const v = (s: string | null) => s ?? "none";
  if (c.summary) out.push(`Summary: ${c.summary[0]} → ${c.summary[1]}`);
  if (c.status) out.push(`Status: ${c.status[0]} → ${c.status[1]}`);
  if (c.owner) out.push(`Owner: ${v(c.owner[0])} → ${v(c.owner[1])}`);
  if (c.labels) out.push(`Labels: ${[...c.labels.added.map((l) => `+${l}`), ...c.labels.removed.map((l) => `-${l}`)].join(" ")}`);
  if (c.due) out.push(`Due date: ${v(c.due[0])} → ${v(c.due[1])}`);
  for (const r of c.relations?.added ?? []) out.push(`Relation added: ${r}`);
  for (const r of c.relations?.removed ?? []) out.push(`Relation removed: ${r}`);
  if (c.description) out.push("Description edited");
  if (c.attachments?.length) out.push(`Attached: ${c.attachments.join(", ")}`);
  return out;
}

function entryXml(origin: string, project: string, e: ActivityEntry): string {
  const link = `${origin}${issueHref(project, e.number)}${e.kind === "comment" ? `#c${e.id}` : ""}`;
  const title = e.kind === "issue" ? `Issue ${e.number} filed: ${e.summary}` : `Issue ${e.number} (${e.status}): ${e.summary}`;
  const lines = changeLines(parseChanges(e.changes));
  const html =
    (lines.length ? `<ul>${lines.map((l) => `<li>${xml(l)}</li>`).join("")}</ul>` : "") +
    (e.body ? renderMarkdown(e.body, { project }) : "");
  return [
    "<entry>",
    `<title>${xml(title)}</title>`,
    `<id>${xml(link)}</id>`,
    `<link rel="alternate" type="text/html" href="${xml(link)}"/>`,
    `<updated>${xml(e.at)}</updated>`,
    `<author><name>${xml(e.author ?? "the forge")}</name></author>`,
    `<content type="html">${xml(html)}</content>`,
    "</entry>",
  ].join("");
}

function feed(c: Ctx, t: Tracker, title: string, alternate: string, entries: ActivityEntry[]): Response {
  const origin = new URL(c.req.url).origin;
  const self = `${origin}${c.req.path}`;
  const updated = entries[0]?.at ?? t.project.updatedAt;
  const body = [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<feed xmlns="http://www.w3.org/2005/Atom" xml:base="${xml(origin)}/">`,
    `<title>${xml(title)}</title>`,
    `<id>${xml(self)}</id>`,
    `<link rel="self" type="application/atom+xml" href="${xml(self)}"/>`,
    `<link rel="alternate" type="text/html" href="${xml(origin + alternate)}"/>`,
    `<updated>${xml(updated)}</updated>`,
    ...entries.map((e) => entryXml(origin, t.project.name, e)),
    "</feed>",
  ].join("\n");
  return c.body(body, 200, { "content-type": "application/atom+xml; charset=utf-8", "cache-control": "private, max-age=60" });
}

issueFeedRoutes.get(
  "/p/:project/feed/issues.atom",
  trackerRoute("web.issues.feed", "read", async (c, t) => {
    const entries = await issueActivity(c.get("db"), t.project.id, { limit: 50 });
    return feed(c, t, `${t.project.name} issues · ${c.get("tenant").name}`, `${issuesBase(t.project.name)}/`, entries);
  }),
);

issueFeedRoutes.get(
  "/p/:project/feed/issues/:file{[0-9]+\\.atom}",
  trackerRoute("web.issues.feed", "read", async (c, t) => {
    const number = Number.parseInt(c.req.param("file") ?? "", 10);
    const issue = await findIssue(c.get("db"), t.project.id, number);
    if (!issue) return notFoundPage(c);
    const entries = await issueActivity(c.get("db"), t.project.id, { number, limit: 100 });
    return feed(c, t, `Issue ${number}: ${issue.summary} · ${t.project.name}`, issueHref(t.project.name, number), entries);
  }),
);
