// The JSON each hook event carries, built from a timeline event (services/timeline.ts): push (one
// delivery per ref: ref, before, after, commits), issue (action, issue, sender), comment (action,
// issue, comment, sender), wiki, download, review, and the "Send a test" ping. Their OpenAPI
// schemas are in routes/api/hooks-api-routes.ts.
import { eq } from "drizzle-orm";
import type { Env } from "../../env";
import type { TenantDb } from "../../db/tenant-db";
import { issueComments, projects } from "../../db/schema";
import type { TenantRecord } from "../../storage/directory";
import { parseCommit } from "../../git/objects";
import { ZERO_OID, type Oid } from "../../git/oid";
import type { TimelineEvent } from "../timeline";
import { findIssue } from "../issues";
import { currentSnapshot } from "../repositories";
import { openStore } from "../../storage/pack-store";
import type { Hook, HookEvent } from "./hooks";

/** Commits listed in a push payload at most (newest first), as other forges do. */
export const MAX_PUSH_COMMITS = 20;
/** Characters of a commit message a push payload carries at most (the rest is cut). */
const MAX_MESSAGE = 16 * 1024;
/** Ref updates of one push event turned into deliveries at most. */
const MAX_PUSH_REFS = 50;

export interface HookPayload {
  event: HookEvent | "ping";
  body: Record<string, unknown>;
}

type Project = typeof projects.$inferSelect;

/** The forge's address in links (the tenant's first host; https, as deployed). */
export const forgeOrigin = (tenant: TenantRecord) => `https://${tenant.hosts[0] ?? `${tenant.slug}.invalid`}`;

const projectJson = (tenant: TenantRecord, p: Project) => ({
  name: p.name,
  private: p.private,
  html_url: `${forgeOrigin(tenant)}/p/${encodeURIComponent(p.name)}/`,
  clone_url: `${forgeOrigin(tenant)}/${encodeURIComponent(p.name)}.git`,
});

const senderJson = (actor: string | null) => (actor ? { username: actor } : null);

interface Update {
  name: string;
  old: Oid;
  new: Oid;
}

/** Commits reachable from `tip` and not past `stop`, newest first (by committer time), at most MAX_PUSH_COMMITS. */
async function pushedCommits(env: Env, tenant: TenantRecord, repoId: string, u: Update, origin: string, project: Project) {
  if (u.new === ZERO_OID) return [];
  const repo = { tenantId: tenant.id, repoId };
  const store = await openStore(env.OBJECTS, repo, await currentSnapshot(env, repo));
  const found: { id: Oid; time: number; json: Record<string, unknown> }[] = [];
  const seen = new Set<Oid>([u.old]);
  let frontier: Oid[] = [u.new];
  while (frontier.length > 0 && found.length < MAX_PUSH_COMMITS) {
    const next: Oid[] = [];
    for (const oid of frontier) {
      if (seen.has(oid) || found.length >= MAX_PUSH_COMMITS) continue;
      seen.add(oid);
      const obj = await store.read(oid).catch(() => null);
      if (obj?.type !== "commit") continue;
      const c = parseCommit(obj.data);
      found.push({
        id: oid,
        time: c.committer.time,
        json: {
          id: oid,
          message: c.message.length > MAX_MESSAGE ? c.message.slice(0, MAX_MESSAGE) : c.message,
          timestamp: new Date(c.author.time * 1000).toISOString(),
          author: { name: c.author.name, email: c.author.email },
          committer: { name: c.committer.name, email: c.committer.email },
          url: `${origin}/p/${encodeURIComponent(project.name)}/source/commit/${oid}`,
        },
      });
      next.push(...c.parents);
    }
    frontier = next;
  }
  return found.sort((a, b) => b.time - a.time).map((c) => c.json);
}

function eventPayload(e: TimelineEvent): Record<string, unknown> {
  try {
    return JSON.parse(e.payload) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * The deliveries an event makes for hooks subscribed to their kind: a push gives one per ref; an
 * issue change gives "issue" (unless it is only a comment) and "comment" (when it has text).
 */
export async function payloadsOf(
  ctx: { env: Env; tenant: TenantRecord; db: TenantDb },
  event: TimelineEvent,
  wanted: ReadonlySet<HookEvent>,
): Promise<HookPayload[]> {
  const { env, tenant, db } = ctx;
  const project = await db.query.projects.findFirst({ where: eq(projects.id, event.projectId) });
  if (!project) return [];
  const data = eventPayload(event);
  const base = { project: projectJson(tenant, project), sender: senderJson(event.actor) };
  const origin = forgeOrigin(tenant);
  switch (event.kind) {
    case "push": {
      if (!wanted.has("push") || !project.repoId) return [];
      const updates = ((data.updates as Update[] | undefined) ?? []).slice(0, MAX_PUSH_REFS);
      const out: HookPayload[] = [];
      for (const u of updates) {
        out.push({
          event: "push",
          body: {
            ref: u.name,
            before: u.old,
            after: u.new,
            created: u.old === ZERO_OID,
            deleted: u.new === ZERO_OID,
            commits: await pushedCommits(env, tenant, project.repoId, u, origin, project),
            ...base,
          },
        });
      }
      return out;
    }
    case "issue": {
      const issue = await findIssue(db, project.id, Number(data.number));
      if (!issue) return [];
      const issueJson = {
        number: issue.number,
        title: issue.summary,
        body: issue.description,
        status: issue.status,
        state: issue.state,
        comments: issue.commentCount,
        created_at: issue.createdAt,
        updated_at: issue.updatedAt,
        html_url: `${origin}/p/${encodeURIComponent(project.name)}/issues/${issue.number}`,
      };
      const action = String(data.action ?? "updated");
      const changes = (data.changes ?? {}) as Record<string, unknown>;
      const comment =
        typeof data.comment === "number"
          ? await db.query.issueComments.findFirst({ where: eq(issueComments.id, data.comment) })
          : undefined;
      const out: HookPayload[] = [];
      const onlyComment = action === "updated" && Object.keys(changes).length === 0 && !!comment?.body;
      if (wanted.has("issue") && !onlyComment) {
        out.push({ event: "issue", body: { action, issue: issueJson, changes, ...base } });
      }
      if (wanted.has("comment") && comment?.body) {
        out.push({
          event: "comment",
          body: {
            action: "created",
            issue: issueJson,
            comment: {
              id: comment.id,
              body: comment.body,
              created_at: comment.createdAt,
              html_url: `${issueJson.html_url}#c${comment.id}`,
            },
            ...base,
          },
        });
      }
      return out;
    }
    case "wiki":
    case "download":
    case "review": {
      if (!wanted.has(event.kind)) return [];
      return [{ event: event.kind, body: { action: data.action ?? "updated", title: event.title, details: data, ...base } }];
    }
    default:
      return [];
  }
}

/** The "Send a test" delivery. */
export const pingPayload = (tenant: TenantRecord, project: Project, hook: Hook, sender: string | null): HookPayload => ({
  event: "ping",
  body: {
    zen: "A test delivery: the hook is set up.",
    hook: { id: hook.id, url: hook.url, events: hook.events, content_type: hook.contentType, active: hook.active },
    project: projectJson(tenant, project),
    sender: senderJson(sender),
  },
});
