// Checkpoints of the last-commit column: the stored answer (every path's last commit) at every
// 256th commit of the default branch's first-parent chain, counted from the root, written oldest
// to newest, each from the one before it (together one walk of history, in bounded, resumable
// steps). A page at any commit then walks only down to the nearest checkpoint below it
// (git/last-commit-page.ts), and a branch tip's answer starts from one too.
import type { Env } from "../env";
import { Budget } from "../git/budget";
import type { CommitGraph } from "../git/commit-graph";
import { lastCommitsOfTree, newWalkStats, type WalkStats } from "../git/last-commit";
import { treePaths } from "../git/tree-listing";
import type { Checkpoint } from "../git/last-commit-page";
import type { ObjectStore } from "../git/object-store";
import type { Oid } from "../git/oid";
import { bulkLocator } from "../git/pack-id-table";
import { RangedPackIndex } from "../git/pack-index-ranged";
import type { ObjectLocator } from "../git/walk-trees";
import { updatedTreePaths } from "../git/tree-listing";
import { r2Keys } from "../storage/keys";
import { loopStep } from "../utils/pace";
import { readStored, type StoredLastCommits, storeAnswer, toStored } from "./last-commit-store";
import type { RepoRef } from "./repositories";

/** First-parent commits between two checkpoints. */
export const CHECKPOINT_INTERVAL = 256;
/** First-parent steps a page takes from its commit looking for a checkpoint. */
export const CHECKPOINT_SEARCH = 2 * CHECKPOINT_INTERVAL;

/** What R2 holds: the checkpoint commits whose answer is stored (any branch's chain, oldest first). */
interface CheckpointIndex {
  v: 1;
  interval: number;
  done: Oid[];
}

async function readIndex(env: Env, repo: RepoRef): Promise<CheckpointIndex | null> {
  const obj = await env.OBJECTS.get(r2Keys.lastCommitCheckpoints(repo.tenantId, repo.repoId));
  if (!obj) {
    keepIndex(repo, []);
    return null;
  }
  try {
    const index = (await obj.json()) as CheckpointIndex;
    const ok = index.v === 1 && index.interval === CHECKPOINT_INTERVAL && Array.isArray(index.done);
    keepIndex(repo, ok ? index.done : []);
    return ok ? index : null;
  } catch {
    return null;
  }
}

async function writeIndex(env: Env, repo: RepoRef, done: Oid[]): Promise<void> {
  const index: CheckpointIndex = { v: 1, interval: CHECKPOINT_INTERVAL, done };
  await env.OBJECTS.put(r2Keys.lastCommitCheckpoints(repo.tenantId, repo.repoId), JSON.stringify(index), {
    httpMetadata: { contentType: "application/json" },
  });
  keepIndex(repo, done);
}

/**
 * The checkpoint lists this isolate last read or wrote, by repository: a cold tree page read the
 * whole list from R2 every time (one of its three whole GETs), though the list only grows. A kept
 * list is used only where it cannot answer differently from R2 (findCheckpoint). Bounded by the
 * commits it holds in all (about 100 bytes each; big.git's list is 235).
 */
const keptIndexes = new Map<string, ReadonlySet<Oid>>();
const KEPT_OIDS = 16_384;
let keptOids = 0;

/** Drops the kept lists: tests that play another isolate (the push worker writes them, not the edge). */
export function forgetCheckpointLists(): void {
  keptIndexes.clear();
  keptOids = 0;
}

function keepIndex(repo: RepoRef, done: readonly Oid[]): void {
  const key = `${repo.tenantId}/${repo.repoId}`;
  const old = keptIndexes.get(key);
  if (old) {
    keptIndexes.delete(key);
    keptOids -= old.size;
  }
  if (done.length > KEPT_OIDS) return;
  keptIndexes.set(key, new Set(done));
  keptOids += done.length;
  for (const [k, v] of keptIndexes) {
    if (keptOids <= KEPT_OIDS) break;
    keptIndexes.delete(k);
    keptOids -= v.size;
  }
}

/**
 * The listing (path -> id) of the checkpoint a run stopped after: the next run (another
 * invocation) starts from it instead of listing a whole tree again, which on git/git's shape
 * costs as much as the step itself.
 */
async function readListing(env: Env, repo: RepoRef, commit: Oid): Promise<Map<string, Oid> | null> {
  const obj = await env.OBJECTS.get(r2Keys.lastCommitCheckpointListing(repo.tenantId, repo.repoId));
  if (!obj) return null;
  try {
    const saved = (await obj.json()) as { commit?: unknown; paths?: Record<string, Oid> };
    return saved.commit === commit && saved.paths ? new Map(Object.entries(saved.paths)) : null;
  } catch {
    return null;
  }
}

async function writeListing(env: Env, repo: RepoRef, commit: Oid, listing: Map<string, Oid>): Promise<void> {
  await env.OBJECTS.put(
    r2Keys.lastCommitCheckpointListing(repo.tenantId, repo.repoId),
    JSON.stringify({ commit, paths: Object.fromEntries(listing) }),
    { httpMetadata: { contentType: "application/json" } },
  );
}

/** Path -> last commit, as lastCommitsOfTree's `base` takes it. */
export const pathsOf = (data: StoredLastCommits) =>
  new Map(Object.entries(data.paths).map(([path, i]) => [path, data.commits[i]!]));

/**
 * Paths of a stored answer looked at per unit of `isolateTurns`: a turn every 1,024 paths when
 * nothing else spends. A checkpoint holds every path of its tree, and on big.git one pass over
 * them ran 8 to 20 ms of the thread at a time during cold tree pages (s16-turns).
 */
export const CHECKPOINT_PATHS_PER_UNIT = 16;

/**
 * A stored answer as a page's walk takes it: only the paths of directory `prefix` ("" or "a/b/").
 * Its keys, not its entries (no pair made a path), with turns for other requests between.
 */
export async function checkpointOf(data: StoredLastCommits, prefix: string): Promise<Checkpoint> {
  const answers = new Map<string, { commit: Oid; time: number }>();
  const paths = Object.keys(data.paths);
  for (let k = 0; k < paths.length; k++) {
    const turn = loopStep(k + 1, CHECKPOINT_PATHS_PER_UNIT);
    if (turn) await turn;
    const path = paths[k]!;
    if (!path.startsWith(prefix) || path.indexOf("/", prefix.length) >= 0) continue;
    const i = data.paths[path]!;
    answers.set(path, { commit: data.commits[i]!, time: data.briefs[i]!.t });
  }
  return { commit: data.commit, answers };
}

/**
 * The nearest checkpoint at or below `commit` on its first-parent chain, within CHECKPOINT_SEARCH
 * steps, with its stored answer; null when there is none (or the graph does not hold the commit).
 * `stats.steps` counts the first-parent steps taken.
 */
export async function findCheckpoint(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  commit: Oid,
  dir: string[] = [],
  stats?: { steps: number },
): Promise<{ checkpoint: Checkpoint; data: StoredLastCommits } | null> {
  // Checkpoints sit at first-parent depths that are multiples of CHECKPOINT_INTERVAL, so fewer
  // than that many steps down there is at most one: a kept list that finds it there finds what
  // R2's list would. Anything else (none found, one further down, its answer gone) asks R2.
  const kept = keptIndexes.get(`${repo.tenantId}/${repo.repoId}`);
  if (kept) {
    const near = await nearest(env, repo, graph, commit, kept, dir, stats);
    if (near && near.steps < CHECKPOINT_INTERVAL) return near.found;
  }
  const index = await readIndex(env, repo);
  if (!index) return null;
  return (await nearest(env, repo, graph, commit, new Set(index.done), dir, stats))?.found ?? null;
}

async function nearest(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  commit: Oid,
  done: ReadonlySet<Oid>,
  dir: string[],
  stats?: { steps: number },
): Promise<{ found: { checkpoint: Checkpoint; data: StoredLastCommits }; steps: number } | null> {
  const persisted = done.size ? await graph.persistedGraph() : null;
  if (!persisted) return null;
  let pos = await graph.positionOf(commit);
  for (let step = 0; pos >= 0 && step <= CHECKPOINT_SEARCH; step++) {
    if (stats) stats.steps++;
    const oid = await persisted.oid(pos);
    if (done.has(oid)) {
      const data = await readStored(env, repo, oid);
      if (!data) return null;
      return { found: { checkpoint: await checkpointOf(data, dir.length ? `${dir.join("/")}/` : ""), data }, steps: step };
    }
    const links = persisted.linksNow(pos) ?? (await persisted.links(pos));
    pos = links.parents[0] ?? -1;
  }
  return null;
}

/** What one checkpoint step did (logged by the push worker; bench/checkpoint-rate.ts prints it). */
export interface CheckpointStep {
  /** First-parent depth of the checkpoint, counted from the root. */
  depth: number;
  walk: WalkStats;
  /** Paths of the checkpoint's tree (directories included), and of the stored answer's JSON. */
  paths: number;
  bytes: number;
  /** Whole trees listed (the new one, or the previous one when this run does not have it). */
  fullListings: number;
  /** Storage reads of ranged pack indexes during the step (lookups the id tables could not answer). */
  indexReads: number;
  /** Whether the run's trees are located through pack id tables (read once a run: ms.table). */
  idTable: boolean;
  /** Milliseconds: reading the id tables (a run's first step), listing trees, the walk, writing the answer and the index. */
  ms: { table: number; list: number; walk: number; store: number };
}

/** Storage reads of the store's ranged indexes so far. */
const indexReads = (store: ObjectStore) =>
  store.packs.reduce((n, p) => n + (p.index instanceof RangedPackIndex ? p.index.reads : 0), 0);

/**
 * Trees a step reads, about: its whole listing (5,200 paths on git/git's shape) and some 11 a
 * compared commit. Against a large pack's ranged index (900,000 objects on big.git, a 10 MiB unit
 * cache for 25 MB) nearly each was a storage read of its own: 5 to 10 ms a tree, where the
 * commit-graph build, locating through the id table, spends 60 microseconds.
 */
const STEP_LOOKUPS = CHECKPOINT_INTERVAL * 32;

/** The run's tree locator: through the packs' id tables when they pay for themselves, else none. */
async function runLocator(store: ObjectStore, steps: number): Promise<ObjectLocator | undefined> {
  const ranged = store.packs.some((p) => p.index instanceof RangedPackIndex);
  if (!ranged) return undefined;
  const many = await bulkLocator(store, steps * STEP_LOOKUPS);
  return async (oid) => (await many([oid]))[0] ?? null;
}

/**
 * Writes the missing checkpoints of `tip`'s first-parent chain, oldest first, until the budget is
 * spent; each walk starts from the checkpoint before it. Returns how many it wrote and whether
 * the chain's checkpoints are all stored. A step that runs out of budget is dropped (it is at most
 * CHECKPOINT_INTERVAL commits and their side branches) and done again by the next run.
 */
export async function advanceCheckpoints(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  tip: Oid,
  budget: Budget,
  maxPaths: number,
  onStep?: (step: CheckpointStep) => void,
): Promise<{ written: number; complete: boolean }> {
  const persisted = await graph.persistedGraph();
  let pos = persisted ? await graph.positionOf(tip) : -1;
  if (!persisted || pos < 0) return { written: 0, complete: false };
  // The chain, tip first (positions: 4 bytes a commit).
  const chain: number[] = [];
  while (pos >= 0) {
    chain.push(pos);
    const links = persisted.linksNow(pos) ?? (await persisted.links(pos));
    pos = links.parents[0] ?? -1;
  }
  const index = await readIndex(env, repo);
  const done = index?.done ?? [];
  const doneSet = new Set(done);
  let written = 0;
  let locate: ObjectLocator | undefined;
  let tableMs = 0;
  let located = false;
  let before: { data: StoredLastCommits; listing: Map<string, string> | null } | null = null;
  /** A run that stops keeps the listing of its last checkpoint for the next one. */
  const stop = async () => {
    if (written > 0 && before?.listing) await writeListing(env, repo, before.data.commit, before.listing);
    return { written, complete: false };
  };
  for (let depth = 0; depth < chain.length; depth += CHECKPOINT_INTERVAL) {
    const oid = await persisted.oid(chain[chain.length - 1 - depth]!);
    if (doneSet.has(oid)) {
      before = null;
      continue;
    }
    if (budget.spent) return stop();
    // The first step of a run is bounded by steps only: one that takes longer than a run's time
    // (a large tree listed twice on a busy machine) would otherwise never be written.
    const stepBudget = written === 0 ? new Budget(Infinity, budget.maxSteps) : budget;
    if (!before && depth > 0) {
      const previous = await persisted.oid(chain[chain.length - 1 - (depth - CHECKPOINT_INTERVAL)]!);
      const data = await readStored(env, repo, previous);
      if (data) before = { data, listing: await readListing(env, repo, previous) };
    }
    const root = (await graph.commit(oid)).tree;
    let t = Date.now();
    if (!located) {
      // Read once a run, only once a step is due (a run with nothing to do reads nothing).
      const missing = Math.ceil((chain.length - depth) / CHECKPOINT_INTERVAL);
      locate = await runLocator(graph.store, missing);
      located = true;
      tableMs = Date.now() - t;
      t = Date.now();
    }
    const reads = indexReads(graph.store);
    const fullListings = 1;
    // Listed whole, each level's trees located in one sorted batch: on big.git that costs less
    // than updating the previous listing (updatedTreePaths reads a changed directory at a time,
    // each a ranged index lookup, and 256 commits change most of them: 19-45 s against 3-9 s).
    const listing = await treePaths(graph, root, maxPaths, locate);
    if (!listing) return stop();
    const base = before
      ? {
          commit: before.data.commit,
          paths: pathsOf(before.data),
          // A run's first step has no listing of the previous checkpoint: made from this one's,
          // reading only the directories that differ.
          listing:
            before.listing ??
            (await updatedTreePaths(graph.store, listing, root, (await graph.commit(before.data.commit)).tree, maxPaths)) ??
            undefined,
        }
      : undefined;
    const list = Date.now() - t;
    t = Date.now();
    const walk = newWalkStats();
    const found = await lastCommitsOfTree(graph, oid, { budget: stepBudget, base, listing, maxPaths, stats: walk, locate });
    if (!found?.complete) return stop();
    const walkMs = Date.now() - t;
    t = Date.now();
    const data = await toStored(graph, oid, found.paths, before?.data, locate);
    const bytes = await storeAnswer(env, repo, data);
    done.push(oid);
    doneSet.add(oid);
    await writeIndex(env, repo, done);
    written++;
    onStep?.({
      depth,
      walk,
      paths: listing.size,
      bytes,
      fullListings,
      indexReads: indexReads(graph.store) - reads,
      idTable: locate !== undefined,
      ms: { table: tableMs, list, walk: walkMs, store: Date.now() - t },
    });
    tableMs = 0;
    before = { data, listing };
  }
  return { written, complete: true };
}
