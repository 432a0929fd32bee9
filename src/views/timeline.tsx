// Timeline entries as links to what they are about (a push → its commits, an issue → the issue or
// the comment, a wiki edit → the page revision, a download → the file): one renderer for the
// timeline page and the project home's recent activity, and the Atom feed's entries.
import type { TimelineEvent, EventKind } from "../services/timeline";
import { SourceUrls } from "./source";
import { issueHref } from "./issues";

export interface EntryView {
  id: number;
  kind: EventKind;
  title: string;
  /** Where the entry leads, absolute path; null when there is nothing left to show. */
  href: string | null;
  actor: string | null;
  /** ISO 8601, as stored. */
  at: string;
}

const ZERO = "0".repeat(40);
const KIND_LABELS: Record<EventKind, string> = {
  push: "Push",
  issue: "Issue",
  wiki: "Wiki",
  download: "Download",
  review: "Review",
};
export const kindLabel = (k: EventKind) => KIND_LABELS[k];

function parsePayload(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : null);

function pushHref(project: string, p: Record<string, unknown>): string | null {
  const urls = new SourceUrls(project);
  const updates = Array.isArray(p.updates) ? (p.updates as { name?: unknown; old?: unknown; new?: unknown }[]) : [];
  const first = updates.find((u) => str(u.name) && str(u.new));
  if (!first) return urls.home();
  const name = str(first.name)!;
  const tag = name.startsWith("refs/tags/");
  const short = name.replace(/^refs\/(heads|tags)\//, "");
  if (updates.length > 1 || typeof p.refs === "number") return tag ? urls.tags() : urls.branches();
  if (first.new === ZERO) return tag ? urls.tags() : urls.branches();
  if (tag) return urls.tree(short);
  if (first.old === ZERO || !str(first.old)) return urls.log(short);
  return urls.compare(str(first.old)!, str(first.new)!);
}

/** Where an event leads, from its kind and payload (unknown shapes lead nowhere, never elsewhere). */
export function eventHref(project: string, e: Pick<TimelineEvent, "kind" | "payload">): string | null {
  const p = parsePayload(e.payload);
  const base = `/p/${encodeURIComponent(project)}`;
  switch (e.kind) {
    case "push":
      return pushHref(project, p);
    case "issue": {
      const n = num(p.number);
      if (!n) return null;
      const comment = num(p.comment);
      return issueHref(project, n) + (comment ? `#c${comment}` : "");
    }
    case "wiki": {
      const page = str(p.page);
      const rev = num(p.revision);
      if (!page) return null;
      return `${base}/wiki/${encodeURIComponent(page)}${rev ? `/revisions/${rev}` : ""}`;
    }
    case "review": {
      const n = num(p.number);
      if (!n) return null;
      const comment = num(p.comment);
      return `${base}/reviews/${n}${comment ? `#c${comment}` : ""}`;
    }
    case "download": {
      const name = str(p.name);
      return name ? `${base}/downloads/${encodeURIComponent(name)}` : null;
    }
    default:
      return null;
  }
}

export function entryView(project: string, e: TimelineEvent): EntryView {
  return {
    id: e.id,
    kind: e.kind as EventKind,
    title: e.title,
    href: eventHref(project, e),
    actor: e.actor,
    at: e.createdAt,
  };
}

/** The entries as a list: kind, the title as a link, who and when. */
export function TimelineEntries(props: { entries: EntryView[] }) {
  return (
    <ol class="timeline">
      {props.entries.map((e) => (
        <li class={`ev-${e.kind}`}>
          <span class="kind">{kindLabel(e.kind) ?? e.kind}</span>{" "}
          {e.href ? <a href={e.href}>{e.title}</a> : <span>{e.title}</span>}{" "}
          <time class="muted" datetime={e.at} title={e.at.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC")}>
            {e.at.slice(0, 10)}
          </time>
        </li>
      ))}
    </ol>
  );
}
