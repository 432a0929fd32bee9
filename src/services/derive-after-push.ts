// Derived data after a push: the pushed commits added to the commit-graph, one bounded run of the
// default branch's last-commit checkpoints (the next one queued until they are all written:
// checkpoint-drive.ts), then the last commits of each pushed branch tip, from the old tip's answer
// or the nearest checkpoint. Run by the push worker for the edge's post-push queue consumer (or in
// place where no push worker is bound).
import type { Env } from "../env";
import { CommitGraph } from "../git/commit-graph";
import type { Oid } from "../git/oid";
import {
  type CheckpointDrive,
  deferCheckpointRun,
  driveIsCurrent,
  mayWait,
  scheduleCheckpointRun,
  soleCheckpointRun,
} from "./checkpoint-drive";
import { uploadUnderWay, waitingForUploads } from "./upload-activity";
import { attachCommitGraph, extendForSnapshot } from "./commit-graphs";
import { advanceCheckpoints } from "./last-commit-checkpoints";
import { logStep } from "./background-log";
import { logError, MAX_PATHS, readStored, runBudget, walkBudget } from "./last-commits";
import { walkTip } from "./tip-walks";
import { currentSnapshot, openStore, type RepoRef } from "./repositories";

const ZERO = "0".repeat(40);

/**
 * After a push: the last commits at each new branch tip, from the old tip's answer when there is
 * one (then only the pushed commits are searched). Returns how many answers were stored.
 */
export async function precomputeAfterPush(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  updates: { name: string; old: Oid; new: Oid }[],
  budget = runBudget(walkBudget(env)),
  waitUntil: (p: Promise<unknown>) => void = () => {},
): Promise<number> {
  let stored = 0;
  for (const u of updates) {
    // The budget is shared by the push's branches: once it is spent, the others are left to
    // their pages (each walk would still list its whole tree first: an import of git/git's
    // 700 branches listed 6,600 directories for each).
    if (budget.spent) break;
    if (!u.name.startsWith("refs/heads/") || u.new === ZERO || !(await graph.store.has(u.new))) continue;
    if ((await graph.store.read(u.new)).type !== "commit") continue;
    if (await readStored(env, repo, u.new)) continue;
    // One run per tip with the page's walk (services/last-commits.ts), from the old tip's answer
    // when it is stored; a run out of budget keeps its progress for the page's next one.
    const from = u.old !== ZERO ? u.old : undefined;
    if (await walkTip(env, repo, graph, u.new, waitUntil, { from, run: budget })) stored++;
  }
  return stored;
}

/**
 * The post-push step (services/post-push.ts): runs in the push worker when one is bound (so that
 * the edge's pages never share an isolate with it), else here.
 */
export async function precomputeForPush(env: Env, e: DeriveRequest): Promise<void> {
  try {
    if (!env.PUSH) {
      await deriveAfterPush(env, e);
      return;
    }
    const res = await env.PUSH.fetch(`http://push/internal/repos/${e.tenantId}/${e.repoId}/derive`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ updates: e.updates, ...(e.drive ? { drive: e.drive } : {}) }),
    });
    if (!res.ok) throw new Error(`the push worker answered ${res.status}: ${await res.text()}`);
  } catch (err) {
    // Derived data only: pages compute what is missing.
    logError(err);
  }
}

/** What the push worker's derive step is asked: a push's updates, or a follow-up checkpoint run (no updates). */
export interface DeriveRequest {
  tenantId: string;
  repoId: string;
  updates: { name: string; old: Oid; new: Oid }[];
  drive?: CheckpointDrive;
}

/** What one derive step did (the push worker logs it: services/background-log.ts). */
export interface DeriveSummary {
  /** Skipped: a follow-up no longer its repository's current drive. */
  stale?: boolean;
  /** The checkpoints were left to a run already under way in this isolate. */
  busy?: boolean;
  /** A follow-up put off (queued again) while an upload was under way in this isolate. */
  deferred?: boolean;
  graphAdded: number;
  checkpoints: number;
  complete: boolean;
  queued: boolean;
  tips: number;
}

/**
 * Opens the repository as it is now, adds the pushed commits to the persisted commit-graph, runs
 * the default branch's checkpoints one bounded run further (queueing the next run while they are
 * not all written), and precomputes the last commits of the pushed branch tips. A follow-up run
 * that is no longer its repository's current drive, or whose tip has moved, does nothing.
 */
export async function deriveAfterPush(
  env: Env,
  e: DeriveRequest,
  waitUntil: (p: Promise<unknown>) => void = () => {},
): Promise<DeriveSummary> {
  const repo = { tenantId: e.tenantId, repoId: e.repoId };
  const out: DeriveSummary = { graphAdded: 0, checkpoints: 0, complete: false, queued: false, tips: 0 };
  // A follow-up can wait: an upload here would share the thread and the heap with it.
  const yields = e.drive !== undefined && mayWait(e.drive);
  if (yields && uploadUnderWay() && (await deferCheckpointRun(env, e.drive!))) return { ...out, deferred: true };
  const snapshot = await currentSnapshot(env, repo);
  const defaultTip = snapshot.refs.find((r) => r.name === snapshot.head)?.oid;
  if (e.drive && !(await driveIsCurrent(env, repo, e.drive, defaultTip))) return { ...out, stale: true };
  const store = await openStore(env.OBJECTS, repo, snapshot);
  // A follow-up also finishes a graph build a lost run left (nothing to do when it covers the refs).
  out.graphAdded = await extendForSnapshot(env, repo, snapshot, store, yields ? { pause: waitingForUploads() } : {});
  const graph = attachCommitGraph(env, repo, snapshot, new CommitGraph(store));
  // Such a run also stops (queueing the next) once an upload starts here.
  const budget = runBudget(walkBudget(env), yields ? uploadUnderWay : undefined);
  const tips = [...e.updates];
  if (defaultTip && (await graph.covers(defaultTip))) {
    const by = e.drive ? `drive ${e.drive.id}` : "push";
    const run = await soleCheckpointRun(repo, () =>
      advanceCheckpoints(env, repo, graph, defaultTip, budget, MAX_PATHS, (step) => logStep(repo, by, step)),
    );
    // Null: another run is under way here (a page's walk, another message); it queues what follows.
    if (run) {
      out.checkpoints = run.written;
      out.complete = run.complete;
      if (!run.complete) out.queued = await scheduleCheckpointRun(env, repo, defaultTip);
      // The drive ends with the default branch tip's own answer (from the last checkpoint), so
      // that the next push walks only its own commits from it.
      else if (!tips.some((u) => u.new === defaultTip)) tips.push({ name: snapshot.head, old: ZERO, new: defaultTip });
    } else out.busy = true;
  }
  out.tips = await precomputeAfterPush(env, repo, graph, tips, budget, waitUntil);
  // Out of budget before the tip's answer was stored: one more run (it goes on where this one stopped).
  if (out.complete && budget.spent && defaultTip && !(await readStored(env, repo, defaultTip)))
    out.queued = await scheduleCheckpointRun(env, repo, defaultTip);
  return out;
}
