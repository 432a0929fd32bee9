// Per-entry last commits (the "last change" column of tree pages) as derived data: computed once
// per commit for every path of its tree and stored in R2 (last-commit-store.ts). The post-push hook
// computes it for pushed branch tips from the old tip's answer or a checkpoint
// (last-commit-checkpoints.ts); a page that finds none walks its directory down to the nearest
// checkpoint, or asks the push worker for the whole tree's walk (one per repository at a time
// there), waits a little, and shows what it has. A walk out of budget keeps its progress in the
// Cache API and the next request resumes it.
import { edgeCache } from "../obs/edge-cache";
import type { Env } from "../env";
import { Budget } from "../git/budget";
import { CommitGraph } from "../git/commit-graph";
import { byteKey, lastCommitsOfTree, newWalkStats, type WalkStats } from "../git/last-commit";
import { utf8 } from "../git/last-commit-page";
import { inflightReads } from "../utils/request-scope";
import { MAX_PATHS, PAGE_STEPS, runBudget, type WalkBudget, walkBudget } from "./walk-budget";
import { JOIN_WAIT_MS, takeTurn, waitAtMost } from "./walk-turns";
import type { Oid } from "../git/oid";
import { currentSnapshot, openStore, type RepoRef } from "./repositories";
import { attachCommitGraph, extendForSnapshot, loadCommitGraph } from "./commit-graphs";
import { advanceCheckpoints, findCheckpoint, pathsOf } from "./last-commit-checkpoints";
import { scheduleCheckpointRun, soleCheckpointRun } from "./checkpoint-drive";
import { callsSoFar, logJob, logStep } from "./background-log";
import * as answers from "./last-commit-store";
import { briefOf, type CommitBrief, lastCommitsKey, parsed, readStored, type StoredLastCommits } from "./last-commit-store";

export { type CommitBrief, lastCommitsKey, readStored, type StoredLastCommits };
export { BACKGROUND_BUDGET, MAX_PATHS, PAGE_STEPS, PAGE_WAIT_MS, runBudget, type WalkBudget, walkBudget } from "./walk-budget";
export const { storeAnswer, toStored } = answers;

/** Where an unfinished walk keeps its progress (Cache API: may be overwritten or dropped). */
const progressUrl = (repo: RepoRef, commit: Oid) =>
  `https://derived.edgeforge.invalid/${repo.tenantId}/${repo.repoId}/last-commit-progress/v2/${commit}`;

interface Job {
  done: Promise<StoredLastCommits | null>;
  /** Paths resolved so far (byte keys), filled while the walk runs. */
  live: Map<string, Oid>;
  /** Set when the run ended on its budget: the paths it resolved. */
  partial?: Map<string, Oid>;
}

/** Isolate-wide: one walk per (repository, commit) at a time. */
const jobs = new Map<string, Job>();

/** Commits whose tree is too large for the walk (per isolate). */
const tooLarge = new Set<string>();

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
}

function startJob(
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
    const ran: RunLog = { by: opts.by ?? "page", checkpoints: 0, r2ByPhase: {} };
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
  if (!(await graph.covers(commit))) return null;
  const parent = (await graph.commit(commit)).parents[0];
  if (parent && parent !== from) {
    const data = await readStored(env, repo, parent);
    if (data) return { data, kind: "parent" };
  }
  const near = await findCheckpoint(env, repo, graph, commit);
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
  let mark = 0;
  const enter = (next: string) => {
    const now = r2Now();
    ran.r2ByPhase[phase] = (ran.r2ByPhase[phase] ?? 0) + now - mark;
    phase = next;
    mark = now;
  };
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

export interface DirectoryLastCommits {
  /** Entry name -> commit id. */
  entries: Record<string, Oid>;
  commits: Record<Oid, CommitBrief>;
  /** Every entry has its answer (else the walk is still running). */
  complete: boolean;
  /** The tree is too large for this column. */
  unavailable?: boolean;
}

function fromStored(data: StoredLastCommits, path: string[], names: string[]): DirectoryLastCommits {
  const prefix = path.length ? `${path.join("/")}/` : "";
  const out: DirectoryLastCommits = { entries: {}, commits: {}, complete: true };
  for (const name of names) {
    const i = data.paths[prefix + name];
    if (i === undefined) continue;
    const oid = data.commits[i]!;
    out.entries[name] = oid;
    out.commits[oid] = data.briefs[i]!;
  }
  return out;
}

/** What a run of the walk ends with: the whole answer, what it found within its budget, or nothing for a tree too large. */
export type WalkAnswer = (
  | { kind: "complete"; data: StoredLastCommits }
  | { kind: "partial"; paths: Record<string, Oid> }
  | { kind: "unavailable" }
) & {
  /** The request joined a walk already running for the same repository and commit. */
  joined?: boolean;
};

/**
 * Runs (or joins) the walk for `commit` here and resolves when the run ends: the push worker's
 * side of lastCommitsFor. The repository's commit-graph is extended first when it does not cover
 * the commit (a repository imported rather than pushed), so that the walk reads no commit object.
 */
export async function runLastCommitsWalk(
  env: Env,
  repo: RepoRef,
  commit: Oid,
  steps: number,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<WalkAnswer> {
  const stored = await readStored(env, repo, commit);
  if (stored) return { kind: "complete", data: stored };
  const key = lastCommitsKey(repo, commit);
  if (tooLarge.has(key)) return { kind: "unavailable" };
  let job: Job | null | undefined = jobs.get(key);
  let opening = starting.get(key);
  const joined = job !== undefined || opening !== undefined;
  if (!job) {
    if (!opening) {
      opening = openForWalk(env, repo, commit, steps, waitUntil).finally(() => starting.delete(key));
      starting.set(key, opening);
    }
    // Another request's set-up is waited for on a timer of this one's (JOIN_WAIT_MS).
    const opened = joined ? await waitAtMost(opening, JOIN_WAIT_MS) : await opening;
    if (opened === undefined) return { kind: "partial", paths: {}, joined };
    job = opened;
    if (!job) return { kind: "unavailable" };
  }
  const data = joined ? await waitAtMost(job.done, JOIN_WAIT_MS) : await job.done;
  if (data) return { kind: "complete", data, joined };
  if (tooLarge.has(key)) return { kind: "unavailable", joined };
  // Still running (a joined walk past the wait): what it found so far.
  const paths = job.partial ?? new Map([...job.live].map(([p, c]) => [utf8(p), c]));
  return { kind: "partial", paths: Object.fromEntries(paths), joined };
}

/** Walks being set up (snapshot, packs, commit-graph) in this isolate: a second request joins the first. */
const starting = new Map<string, Promise<Job | null>>();

async function openForWalk(
  env: Env,
  repo: RepoRef,
  commit: Oid,
  steps: number,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<Job | null> {
  const snapshot = await currentSnapshot(env, repo);
  const store = await openStore(env.OBJECTS, repo, snapshot);
  if (!(await store.has(commit))) return null;
  const persisted = await loadCommitGraph(env, repo, snapshot);
  if (!persisted || (await persisted.find(commit)) < 0) {
    const extending = extendForSnapshot(env, repo, snapshot, store).catch((err) => logError(err));
    waitUntil(extending);
    await extending;
  }
  const graph = attachCommitGraph(env, repo, snapshot, new CommitGraph(store));
  const defaultTip = snapshot.refs.find((r) => r.name === snapshot.head)?.oid;
  return startJob(env, repo, graph, commit, waitUntil, { budget: { ...walkBudget(env), steps }, defaultTip });
}

/**
 * Walks asked of the push worker, shared only by the work of one request (utils/request-scope.ts):
 * pages of different requests each ask, and the push worker runs one walk for them all.
 */
function askPushWorker(
  env: Env,
  repo: RepoRef,
  commit: Oid,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<WalkAnswer | null> {
  const key = `last-commit-walk:${lastCommitsKey(repo, commit)}`;
  const asked = inflightReads<WalkAnswer | null>();
  const running = asked.get(key);
  if (running) return running;
  const push = env.PUSH!;
  const answer = (async () => {
    const res = await push.fetch(`http://push/internal/repos/${repo.tenantId}/${repo.repoId}/last-commits/${commit}`, {
      method: "POST",
      headers: { "x-forge-walk-steps": String(walkBudget(env).steps) },
    });
    if (!res.ok) throw new Error(`the push worker answered ${res.status} to a last-commit walk`);
    const answer = (await res.json()) as WalkAnswer;
    if (answer.kind === "complete") parsed.set(lastCommitsKey(repo, commit), answer.data);
    if (answer.kind === "unavailable") {
      if (tooLarge.size > 1000) tooLarge.clear();
      tooLarge.add(lastCommitsKey(repo, commit));
    }
    return answer;
  })()
    .catch((err) => {
      logError(err);
      return null;
    })
    .finally(() => asked.delete(key));
  asked.set(key, answer);
  waitUntil(answer);
  return answer;
}

/**
 * The last commits of the entries `names` of directory `path` at `commit`: stored, or from a walk
 * started now in the push worker (waiting for it a little), or, where no push worker is bound, in
 * this isolate.
 */
export async function lastCommitsFor(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  commit: Oid,
  path: string[],
  names: string[],
  waitUntil: (p: Promise<unknown>) => void,
  opts: { wait?: boolean; stats?: WalkStats } = { wait: true },
): Promise<DirectoryLastCommits> {
  const stored = await readStored(env, repo, commit);
  if (stored) return fromStored(stored, path, names);
  const unavailable = { entries: {}, commits: {}, complete: true, unavailable: true };
  if (tooLarge.has(lastCommitsKey(repo, commit))) return unavailable;
  const prefix = path.length ? `${path.join("/")}/` : "";
  const out: DirectoryLastCommits = { entries: {}, commits: {}, complete: false };
  const partial = async (found: (key: string) => Oid | undefined) => {
    for (const name of names) {
      const oid = found(prefix + name);
      if (oid) out.entries[name] = oid;
    }
    // The commits' objects are read side by side (each may cost an index page and a pack range).
    const oids = [...new Set(Object.values(out.entries))];
    const briefs = await Promise.all(oids.map((oid) => briefOf(graph, oid)));
    for (const [i, oid] of oids.entries()) out.commits[oid] = briefs[i]!;
    return out;
  };
  const waitFor = async <T>(p: Promise<T>): Promise<T | null> => {
    if (!opts.wait) return null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<null>((r) => (timer = setTimeout(() => r(null), walkBudget(env).pageWaitMs)));
    return Promise.race([p, waited]).finally(() => clearTimeout(timer));
  };
  // With the commit-graph, this directory's entries alone cost a walk of Bloom filters and the
  // trees of the few commits that may have changed them: answered here, nothing in the background.
  // It may take the page's two waits (its own and the one for the push worker's walk): when it
  // runs out of time the page does not wait for the push worker as well, which, for a commit
  // this walk could not finish, rarely finishes a whole tree's walk in that time.
  let walked: Map<string, Oid> | undefined;
  let outOfTime = false;
  if (await graph.covers(commit)) {
    const budget = walkBudget(env);
    // Yielding every 1,024 steps: the walk answers this request and reads few objects. Bounded by
    // steps too: on Cloudflare the clock stands still while the walk computes from cache.
    const b = new Budget(Date.now() + 2 * budget.pageWaitMs, Math.min(budget.steps, PAGE_STEPS), 1024);
    // From the nearest checkpoint below the commit, when there is one: then only the commits
    // above it are walked for entries the same there (last-commit-checkpoints.ts).
    const near = await findCheckpoint(env, repo, graph, commit, path);
    const found = await lastCommitsOfTree(graph, commit, {
      dir: path,
      budget: b,
      stats: opts.stats,
      checkpoint: near?.checkpoint,
    });
    if (found?.complete) return partial((p) => found.paths.get(p)).then((o) => ({ ...o, complete: true }));
    walked = found?.paths;
    outOfTime = b.outOfTime;
  }
  if (env.PUSH) {
    const asked = askPushWorker(env, repo, commit, waitUntil);
    const answer = outOfTime ? null : await waitFor(asked);
    if (answer?.kind === "complete") return fromStored(answer.data, path, names);
    if (answer?.kind === "unavailable") return unavailable;
    // What either walk found so far.
    return partial((p) => (answer?.kind === "partial" ? answer.paths[p] : undefined) ?? walked?.get(p));
  }
  const job = startJob(env, repo, graph, commit, waitUntil);
  const data = await waitFor(job.done);
  if (data) return fromStored(data, path, names);
  if (tooLarge.has(lastCommitsKey(repo, commit))) return unavailable;
  return partial((p) => job.live.get(byteKey(p)));
}

export const logError = (err: unknown) =>
  console.error(JSON.stringify({ level: "error", message: `last commits: ${String((err as Error)?.stack ?? err)}` }));
