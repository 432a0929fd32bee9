// Post-push work, off the push's critical path: the push worker queues each push that landed;
// the edge (which holds the tenant databases) records it on the project's timeline and
// precomputes the source browser's derived data.
import { eq } from "drizzle-orm";
import type { Env } from "../env";
import { openTenantDb, tenantD1, type TenantDb } from "../db/tenant-db";
import { projects } from "../db/schema";
import { ZERO_OID } from "../git/oid";
import { isHiddenRef } from "../git/ref-names";
import type { PushedEvent } from "./push-events";
import { recordEvent } from "./timeline";
import { type EventMessage, withEventFanout } from "./events/fanout";
import { precomputeForPush } from "./derive-after-push";
import { type CheckpointDrive, isCheckpointDrive } from "./checkpoint-drive";
import { applyCommitLinks, type CommitReference, linkedIssues, planCommitLinks } from "./commit-links";
import { DIGEST_MIN_ISSUES } from "./notifications/digest";
import { recordReviewPushes } from "./reviews/revisions";
import { readTenantRecord } from "../storage/directory";
import { sha256Hex } from "../utils/crypto";

const shortRef = (name: string) => name.replace(/^refs\/(heads|tags)\//, "");

export function describePush(e: PushedEvent): string {
  const who = e.pusher || "someone";
  const refs = e.part?.refs ?? e.updates.length;
  if (refs === 1 && e.updates.length === 1) {
    const u = e.updates[0]!;
    const what = u.name.startsWith("refs/tags/") ? "tag" : "branch";
    if (u.new === ZERO_OID) return `${who} deleted ${what} ${shortRef(u.name)}`;
    if (u.old === ZERO_OID) return `${who} created ${what} ${shortRef(u.name)}`;
    return `${who} pushed to ${shortRef(u.name)}`;
  }
  return `${who} pushed ${refs} refs: ${e.updates
    .slice(0, 5)
    .map((u) => shortRef(u.name))
    .join(", ")}${refs > 5 ? ", ..." : ""}`;
}

export async function recordPush(env: Env, pushed: PushedEvent): Promise<void> {
  // The forge's hidden refs (a patch review's commits) are no one's push: no timeline entry, no hooks.
  const e = { ...pushed, updates: pushed.updates.filter((u) => !isHiddenRef(u.name)) };
  if (!e.updates.length) return;
  const tenant = await readTenantRecord(env.DIRECTORY, e.tenantId);
  const d1 = tenant ? tenantD1(env, tenant) : null;
  if (!tenant || !d1) return; // the tenant is gone: nothing to record
  // The push's events (the timeline entry, issue changes by commit links) reach their handlers.
  const db = withEventFanout(openTenantDb(d1), {
    tenantId: tenant.id,
    queue: env.FORGE_EVENTS as Queue<EventMessage> | undefined,
  });
  const project = await db.query.projects.findFirst({ where: eq(projects.repoId, e.repoId) });
  if (!project) return;
  // Issues named in the pushed commits' messages (fixes #12, refs #12), read before anything is
  // recorded: a push that links many issues mails one digest (its own event lists them).
  const plan = await planCommitLinks(env, project, e);
  const first = !e.part || e.part.index === 0;
  const linked = first ? linkedIssues(plan) : [];
  const digest = linked.length >= DIGEST_MIN_ISSUES;
  // A push split over several messages is one entry on the timeline, made by its first part.
  if (first) await recordTimeline(db, project.id, e, digest ? linked : []);
  // Idempotent: each (commit, issue) comment has a unique key.
  await applyCommitLinks(db, project, e, plan, digest ? { digest: true } : undefined);
  // Pushes to the source branch of an open review become its next revision; idempotent.
  await recordReviewPushes(env, db, project, e);
}

async function recordTimeline(db: TenantDb, projectId: number, e: PushedEvent, issues: CommitReference[]): Promise<void> {
  await recordEvent(db, {
    projectId,
    kind: "push",
    actor: e.pusher || null,
    title: describePush(e),
    payload: { updates: e.updates, ...(e.part ? { refs: e.part.refs } : {}), ...(issues.length ? { issues } : {}) },
    key: e.part ? `push:${e.part.id}` : `push:${await sha256Hex(JSON.stringify(e))}`,
  });
}

/**
 * What this isolate's consumer has done, for tests that must not end while a delivery still runs
 * (test/worker/helpers.ts drainPostPush): messages under way, and how often each ref update was
 * finished (acked or left for a retry), for the last 1,000 updates.
 */
export const postPushLedger = { running: 0, finished: new Map<string, number>() };
const LEDGER_MAX = 1_000;

/** The ledger's key of one ref update (tests know the ref and commit they pushed, not the repository id). */
export const ledgerKey = (u: { name: string; new: string }) => `${u.name} ${u.new}`;

function finished(e: PushedEvent): void {
  const { finished } = postPushLedger;
  for (const u of e?.updates ?? []) {
    const key = ledgerKey(u);
    if (!finished.has(key) && finished.size >= LEDGER_MAX) finished.delete(finished.keys().next().value!);
    finished.set(key, (finished.get(key) ?? 0) + 1);
  }
}

export async function handlePostPushBatch(batch: MessageBatch<PushedEvent | CheckpointDrive>, env: Env): Promise<void> {
  postPushLedger.running += batch.messages.length;
  for (const message of batch.messages) {
    const body = message.body;
    if (isCheckpointDrive(body)) {
      // The next run of a checkpoint build (services/checkpoint-drive.ts); derived data only, so
      // a failed run is logged, not retried: the next push or page visit starts a new chain.
      try {
        await precomputeForPush(env, { tenantId: body.tenantId, repoId: body.repoId, updates: [], drive: body });
      } finally {
        message.ack();
        postPushLedger.running--;
      }
      continue;
    }
    try {
      // Tree pages of the pushed branches find their last-commit column ready. Started beside the
      // timeline and commit links, not after them: those read the commits the push names (seconds
      // on a repository of many branches) and the derived data has no need of them. It never throws.
      const derived = precomputeForPush(env, body);
      try {
        await recordPush(env, body);
      } finally {
        await derived;
      }
      message.ack();
    } catch (err) {
      const e = body;
      console.error(
        JSON.stringify({
          level: "error",
          message: `post-push: ${String((err as Error)?.stack ?? err)}`,
          tenant: e?.tenantId,
          repo: e?.repoId,
          refs: e?.updates?.length,
          part: e?.part ? `${e.part.index + 1}/${e.part.count} of a push of ${e.part.refs} refs` : undefined,
          attempts: message.attempts,
        }),
      );
      message.retry();
    } finally {
      postPushLedger.running--;
      finished(body);
    }
  }
}
