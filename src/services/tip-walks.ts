// The push worker's whole-tree last-commit walks (services/last-commits.ts asks for them): one run
// per (repository, commit) at a time in the isolate, joined by a page and a push's derive step
// alike, started from the nearest stored answer below the commit, and out of budget kept as
// progress in the Cache API for the next run to resume.
import { edgeCache } from "../obs/edge-cache";
import type { Env } from "../env";
import { Budget } from "../git/budget";
import type { CommitGraph } from "../git/commit-graph";
import { lastCommitsOfTree, newWalkStats, type WalkStats } from "../git/last-commit";
import type { ObjectStore } from "../git/object-store";
import { idTableLocator } from "../git/pack-id-table";
import { RangedPackIndex } from "../git/pack-index-ranged";
import { MAX_PATHS, runBudget, type WalkBudget, walkBudget } from "./walk-budget";
import { JOIN_WAIT_MS, takeTurn, waitAtMost } from "./walk-turns";
import type { Oid } from "../git/oid";
import type { RepoRef } from "./repositories";
import { advanceCheckpoints, findCheckpoint, pathsOf } from "./last-commit-checkpoints";
import { scheduleCheckpointRun, soleCheckpointRun } from "./checkpoint-drive";
import { callsSoFar, logJob, logStep, r2KindsSoFar } from "./background-log";
import { lastCommitsKey, readStored, storeAnswer, type StoredLastCommits, toStored } from "./last-commit-store";

/** Where an unfinished walk keeps its progress (Cache API: may be overwritten or dropped). */
const progressUrl = (repo: RepoRef, commit: Oid) =>
  `https://derived.edgeforge.invalid/${repo.tenantId}/${repo.repoId}/last-commit-progress/v2/${commit}`;

export interface Job {
  done: Promise<StoredLastCommits | null>;
  /** Paths resolved so far (byte keys), filled while the walk runs. */
  live: Map<string, Oid>;
  /** Set when the run ended on its budget: the paths it resolved. */
  partial?: Map<string, Oid>;
}

/** Isolate-wide: one walk per (repository, commit) at a time. */
export const jobs = new Map<string, Job>();

/** Commits whose tree is too large for the walk (per isolate). */
export const tooLarge = new Set<string>();

/** What a run of the walk is started with, beside the repository and the commit. */
interface JobOptions {
  budget?: WalkBudget;
  /** This run's budget instead of one made from `budget` (a push's derive step shares its own). */
  run?: Budget;
  /** The default branch's tip: its checkpoints are written first (last-commit-checkpoints.ts). */
  defaultTip?: Oid;
  /** An older commit whose answer may be stored (a push's old tip): walked from, when it is. */
  from?: Oid;
  /** Who started the run (the job's log line). */
  by?: string;
}

/** What a run did, in its `walk` log line: the walk's counters and R2 calls by phase. */
interface RunLog {
  by: string;
  checkpoints: number;
  base?: "old tip" | "parent" | "checkpoint";
  resumed?: boolean;
  stats?: WalkStats;
  r2ByPhase: Record<string, number>;
  /** Of those, reads of ranged pack indexes (lookups, or the id tables read whole: phase "table"). */
  indexByPhase: Record<string, number>;
  /** Milliseconds by phase, from the run's turn (a busy machine stretches them all). */
  msByPhase: Record<string, number>;
  /** R2 GETs by phase and by what they read (pack indexes, packs, commit-graph, other), those made. */
  getsByPhase: Record<string, Record<string, number>>;
  /** Whether the walk's trees were located through the packs' id tables. */
  idTables?: boolean;
}

/** Storage reads of the store's ranged pack indexes so far. */
const indexReads = (store: ObjectStore) =>
  store.packs.reduce((n, p) => n + (p.index instanceof RangedPackIndex ? p.index.reads : 0), 0);

export function startJob(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  commit: Oid,
  waitUntil: (p: Promise<unknown>) => void,
  opts: JobOptions = {},
): Job {
  const key = lastCommitsKey(repo, commit);
  const running = jobs.get(key);
  if (running) return running;
  const live = new Map<string, Oid>();
  const job: Job = { done: Promise.resolve(null), live };
  job.done = (async () => {
    const at = Date.now();
    const release = await takeTurn(repo);
    const ran: RunLog = {
      by: opts.by ?? "page",
      checkpoints: 0,
      r2ByPhase: {},
      indexByPhase: {},
      msByPhase: {},
      getsByPhase: {},
    };
    try {
      return await walkJob(env, repo, graph, commit, job, opts, ran);
    } finally {
      release();
      logJob("walk", at, { repo: repo.repoId, commit, partial: job.partial !== undefined, ...ran, ...callsSoFar(env) });
    }
  })()
    .catch((err) => {
      logError(err);
      return null;
    })
    .finally(() => jobs.delete(key));
  jobs.set(key, job);
  waitUntil(job.done);
  return job;
}

/**
 * Where a walk of `commit` starts: the stored answer of `from` (a push's old tip) or of the
 * commit's first parent (a push of one commit), else the nearest checkpoint below it.
 */
async function baseFor(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  commit: Oid,
  from: Oid | undefined,
): Promise<{ data: StoredLastCommits; kind: NonNullable<RunLog["base"]> } | null> {
  if (from && (await graph.store.has(from))) {
    const data = await readStored(env, repo, from);
    if (data) return { data, kind: "old tip" };
  }
  // A pushed commit the graph does not cover yet (its update under way in another request, which
  // this one does not wait for) is searched from its first parent when the graph covers that: the
  // same checkpoint. Without, such a walk had no base, listed the whole tree and walked the whole
  // history (long70k.git under load: 64,133 commits in 5 runs, where 60 do).
  const covered = await graph.covers(commit);
  const parent = (await graph.commit(commit)).parents[0];
  const below = covered ? commit : parent && (await graph.covers(parent)) ? parent : null;
  if (!below) return null;
  if (parent && parent !== from) {
    const data = await readStored(env, repo, parent);
    if (data) return { data, kind: "parent" };
  }
  const near = await findCheckpoint(env, repo, graph, below);
  return near ? { data: near.data, kind: "checkpoint" } : null;
}

/** A run's progress as the Cache API keeps it: `base`, the commit whose answer the walk started from. */
interface Progress {
  paths: Record<string, Oid>;
  frontier: Oid[];
  base?: Oid;
}

/**
 * One run of the whole-tree walk for `commit`: from a stored answer below it when there is one.
 * A run out of budget keeps its progress (and its base), and the next run goes on from there.
 */
async function walkJob(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  commit: Oid,
  job: Job,
  opts: JobOptions,
  ran: RunLog,
): Promise<StoredLastCommits | null> {
  // The request's own calls before the run (a page's, a push's) are its phase "before".
  const started = {
    ms: Date.now(),
    r2: Number(callsSoFar(env).r2 ?? 0),
    index: indexReads(graph.store),
    kinds: r2KindsSoFar(env),
  };
  ran.r2ByPhase.before = started.r2;
  const stored = await readStored(env, repo, commit);
  if (stored) return stored;
  const budget = opts.budget ?? walkBudget(env);
  const defaultTip = opts.defaultTip;
  const cache = edgeCache();
  const b = opts.run ?? runBudget(budget);
  let resume: { paths: Map<string, Oid>; frontier: Oid[] } | undefined;
  let baseData: StoredLastCommits | undefined;
  const saved = cache ? await cache.match(progressUrl(repo, commit)) : undefined;
  if (saved) {
    const p = (await saved.json()) as Progress;
    resume = { paths: new Map(Object.entries(p.paths)), frontier: p.frontier };
    // Its base's answer is read again (stored answers are never removed; without it, start over).
    baseData = p.base ? ((await readStored(env, repo, p.base)) ?? undefined) : undefined;
    if (p.base && !baseData) resume = undefined;
    ran.resumed = resume !== undefined;
  }
  if (!resume) {
    if (defaultTip && (await graph.covers(defaultTip))) {
      // Three quarters of the run for the checkpoints; while they are not all written, the rest
      // goes to the commit's own walk (the newest changes), shown but not kept: the next run goes
      // on with the checkpoints.
      const share = new Budget(Date.now() + (budget.ms * 3) / 4, Math.ceil((budget.steps * 3) / 4));
      // Null: a run is under way here already (a queued follow-up, a push), which queues what follows.
      const advanced = await soleCheckpointRun(repo, () =>
        advanceCheckpoints(env, repo, graph, defaultTip, share, MAX_PATHS, (step) => logStep(repo, "walk", step)),
      );
      ran.checkpoints = advanced?.written ?? 0;
      if (!advanced) {
        // No look at the commit's newest changes either: that walk is not kept, and beside the run
        // under way it only takes its CPU (a page asks again each visit until the build is done).
        job.partial = new Map();
        return null;
      }
      if (!advanced.complete) {
        // The build goes on without further visits (a chain a lost run ended starts again here).
        await scheduleCheckpointRun(env, repo, defaultTip);
        const rest = new Budget(Date.now() + budget.ms / 4, Math.floor(budget.steps / 4));
        const peek = await lastCommitsOfTree(graph, commit, { budget: rest, live: job.live, maxPaths: MAX_PATHS });
        job.partial = peek?.paths ?? new Map();
        return null;
      }
      const now = await readStored(env, repo, commit);
      if (now) return now;
    }
    const near = await baseFor(env, repo, graph, commit, opts.from);
    baseData = near?.data;
    ran.base = near?.kind;
  }
  const base = baseData ? { commit: baseData.commit, paths: pathsOf(baseData) } : undefined;
  // R2 calls by phase: what each part of a walk costs (bench/after-import.ts prints them).
  const r2Now = () => Number(callsSoFar(env).r2 ?? 0);
  let phase = "find";
  let mark = started.r2;
  let indexMark = started.index;
  let msMark = started.ms;
  let kindsMark = started.kinds;
  const enter = (next: string) => {
    const kinds = r2KindsSoFar(env);
    for (const [kind, n] of Object.entries(kinds)) {
      const made = n - kindsMark[kind as keyof typeof kinds];
      if (made > 0) (ran.getsByPhase[phase] ??= {})[kind] = (ran.getsByPhase[phase]?.[kind] ?? 0) + made;
    }
    kindsMark = kinds;
    const now = r2Now();
    const index = indexReads(graph.store);
    ran.msByPhase[phase] = (ran.msByPhase[phase] ?? 0) + Date.now() - msMark;
    msMark = Date.now();
    ran.r2ByPhase[phase] = (ran.r2ByPhase[phase] ?? 0) + now - mark;
    ran.indexByPhase[phase] = (ran.indexByPhase[phase] ?? 0) + index - indexMark;
    phase = next;
    mark = now;
    indexMark = index;
  };
  if (!(ran.base === "parent" || ran.base === "old tip") || ran.resumed) {
    // A walk from a checkpoint: its listing reads the directories that differ across up to 255
    // commits (320 on long70k.git, 53 commits) and its walk their trees, each a ranged index
    // lookup that is nearly always a storage read of its own; one without a base (a commit the
    // graph did not cover yet) lists the whole tree (6,837 directories: 3,931 index reads, each
    // run again when resumed). The packs' id tables (12 bytes an object, kept for the isolate
    // within its budget) answer them all from memory. Only a walk of one or a few commits from a
    // stored answer just below (a push's) does without.
    enter("table");
    const locator = await idTableLocator(graph.store);
    if (locator) graph.store.useLocator(locator);
    ran.idTables = locator !== null;
  }
  const stats = newWalkStats();
  ran.stats = stats;
  const found = await lastCommitsOfTree(graph, commit, {
    budget: b,
    resume,
    base,
    live: job.live,
    maxPaths: MAX_PATHS,
    stats,
    onPhase: enter,
  });
  enter("store");
  try {
    return await keepRun(env, repo, graph, commit, job, found, baseData);
  } finally {
    enter("done");
  }
}

/** What a run found: stored when complete, else kept as progress for the next run. */
async function keepRun(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  commit: Oid,
  job: Job,
  found: Awaited<ReturnType<typeof lastCommitsOfTree>>,
  baseData: StoredLastCommits | undefined,
): Promise<StoredLastCommits | null> {
  const key = lastCommitsKey(repo, commit);
  const cache = edgeCache();
  if (!found) {
    if (tooLarge.size > 1000) tooLarge.clear();
    tooLarge.add(key);
    return null;
  }
  if (!found.complete) {
    job.partial = found.paths;
    const progress: Progress = { paths: Object.fromEntries(found.paths), frontier: found.frontier, base: baseData?.commit };
    await cache?.put(
      progressUrl(repo, commit),
      new Response(JSON.stringify(progress), { headers: { "cache-control": "max-age=86400" } }),
    );
    return null;
  }
  const data = await toStored(graph, commit, found.paths, baseData);
  await storeAnswer(env, repo, data);
  await cache?.delete(progressUrl(repo, commit));
  return data;
}

/**
 * A pushed branch tip's answer, for a push's derive step: the same run as a page's walk of the
 * commit (joined when one is under way here, else started from `from`'s answer with `run`), so
 * the two never walk the same commits side by side; what a run out of budget found is kept for
 * the next. Null when the run did not finish (within JOIN_WAIT_MS, for a joined one).
 */
export async function walkTip(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  commit: Oid,
  waitUntil: (p: Promise<unknown>) => void,
  opts: { from?: Oid; run: Budget },
): Promise<StoredLastCommits | null> {
  const job = startJob(env, repo, graph, commit, waitUntil, { ...opts, by: "derive" });
  return (await waitAtMost(job.done, JOIN_WAIT_MS)) ?? null;
}

export const logError = (err: unknown) =>
  console.error(JSON.stringify({ level: "error", message: `last commits: ${String((err as Error)?.stack ?? err)}` }));
