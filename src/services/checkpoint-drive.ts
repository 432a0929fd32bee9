// Drives the last-commit checkpoint build to its end without page visits: a bounded run that did
// not finish queues a follow-up message on the post-push queue, and the consumer asks the push
// worker for the next run. One chain per repository: each follow-up names the drive it belongs to
// (R2 holds the current one), so an older chain stops when a newer push or page run takes over;
// and one run per repository at a time in an isolate (soleCheckpointRun), so that a follow-up
// delivered while a page's walk or a push runs the build does not compute the same checkpoints.
import type { Env } from "../env";
import type { Oid } from "../git/oid";
import { r2Keys } from "../storage/keys";
import { randomId } from "../utils/crypto";
import type { RepoRef } from "./repositories";

/** A post-push queue message that asks for the next checkpoint run of `tip`'s chain. */
export interface CheckpointDrive {
  kind: "checkpoints";
  tenantId: string;
  repoId: string;
  /** The default branch's tip the chain is built for. */
  tip: Oid;
  /** This drive's id: a follow-up whose id is no longer the stored one is dropped. */
  id: string;
  /** How often this run was put off while an upload was under way (deferCheckpointRun). */
  deferred?: number;
}

export const isCheckpointDrive = (body: unknown): body is CheckpointDrive =>
  typeof body === "object" && body !== null && (body as { kind?: unknown }).kind === "checkpoints";

/** The drive R2 names as current, or null. */
async function currentDrive(env: Env, repo: RepoRef): Promise<{ tip: Oid; id: string } | null> {
  const obj = await env.OBJECTS.get(r2Keys.lastCommitCheckpointDrive(repo.tenantId, repo.repoId));
  if (!obj) return null;
  try {
    const d = (await obj.json()) as { tip?: unknown; id?: unknown };
    return typeof d.tip === "string" && typeof d.id === "string" ? { tip: d.tip, id: d.id } : null;
  } catch {
    return null;
  }
}

/**
 * Whether a follow-up should run: it is still the repository's current drive and the default
 * branch has not moved (a newer push drives its own chain).
 */
export async function driveIsCurrent(
  env: Env,
  repo: RepoRef,
  drive: CheckpointDrive,
  defaultTip: Oid | undefined,
): Promise<boolean> {
  if (drive.tip !== defaultTip) return false;
  const current = await currentDrive(env, repo);
  return current?.id === drive.id && current.tip === drive.tip;
}

/**
 * Queues the next run of `tip`'s checkpoint build and makes it the repository's current drive
 * (any older chain stops at its next message). No queue bound (a test's or a local run without
 * the push worker's producer): nothing is queued, and pushes and pages go on with the build.
 * Returns whether a run was queued.
 */
export async function scheduleCheckpointRun(env: Env, repo: RepoRef, tip: Oid): Promise<boolean> {
  const queue = env.POST_PUSH as Queue<CheckpointDrive> | undefined;
  if (!queue) return false;
  const drive: CheckpointDrive = { kind: "checkpoints", tenantId: repo.tenantId, repoId: repo.repoId, tip, id: randomId(16) };
  await env.OBJECTS.put(
    r2Keys.lastCommitCheckpointDrive(repo.tenantId, repo.repoId),
    JSON.stringify({ tip: drive.tip, id: drive.id }),
    { httpMetadata: { contentType: "application/json" } },
  );
  await queue.send(drive);
  return true;
}

/** Seconds a run put off by an upload waits before it is delivered again. */
export const DRIVE_DEFER_SECONDS = 5;
/**
 * How often a run is put off before it runs beside an upload anyway (about 5 minutes): an isolate
 * that never stops receiving still gets its checkpoints written.
 */
export const DRIVE_DEFERRALS_MAX = 60;

/**
 * Puts `drive`'s run off: the same follow-up (the same drive id, so still the current one) is
 * queued again, delivered after DRIVE_DEFER_SECONDS. False when it may not wait any longer or there
 * is no queue: then the caller runs it now.
 */
export async function deferCheckpointRun(env: Env, drive: CheckpointDrive): Promise<boolean> {
  const queue = env.POST_PUSH as Queue<CheckpointDrive> | undefined;
  if (!queue || !mayWait(drive)) return false;
  await queue.send({ ...drive, deferred: (drive.deferred ?? 0) + 1 }, { delaySeconds: DRIVE_DEFER_SECONDS });
  return true;
}

/** Whether `drive`'s run may still be put off (and so stop early) for an upload. */
export const mayWait = (drive: CheckpointDrive): boolean => (drive.deferred ?? 0) < DRIVE_DEFERRALS_MAX;

/** Checkpoint runs under way in this isolate: repository -> when the run started. */
const running = new Map<string, number>();
/**
 * A run older than this is taken as lost (its request cancelled before it settled) and no longer
 * keeps others out. A run spends at most BACKGROUND_BUDGET.ms (20 s) plus its first step, which is
 * bounded by steps only (a large tree listed twice on a busy machine: about a minute on big.git).
 */
export const CHECKPOINT_RUN_STALE_MS = 5 * 60_000;

/**
 * Runs `run` as the repository's one checkpoint run in this isolate; resolves null without
 * running it while another is under way. The caller that gets null neither runs the build nor
 * queues a follow-up: the run under way queues its own when it stops short. Two runs at once would
 * each start from the same stored index and compute the same next checkpoints.
 */
export async function soleCheckpointRun<T>(repo: RepoRef, run: () => Promise<T>): Promise<T | null> {
  const key = `${repo.tenantId}/${repo.repoId}`;
  const other = running.get(key);
  if (other !== undefined && Date.now() - other < CHECKPOINT_RUN_STALE_MS) return null;
  const started = Date.now();
  running.set(key, started);
  try {
    return await run();
  } finally {
    if (running.get(key) === started) running.delete(key);
  }
}
