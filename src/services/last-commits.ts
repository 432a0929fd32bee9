import type { Env } from "../env";
import { Budget } from "../git/budget";
import { CommitGraph } from "../git/commit-graph";
import { byteKey, lastCommitsOfTree, type WalkStats } from "../git/last-commit";
import { utf8 } from "../git/last-commit-page";
import { inflightReads } from "../utils/request-scope";
import { PAGE_STEPS, walkBudget } from "./walk-budget";
import { JOIN_WAIT_MS, waitAtMost } from "./walk-turns";
import type { Oid } from "../git/oid";
import { currentSnapshot, openStore, type RepoRef } from "./repositories";
import { attachCommitGraph, extendForSnapshot, loadCommitGraph } from "./commit-graphs";
import { findCheckpoint } from "./last-commit-checkpoints";
import * as answers from "./last-commit-store";
import { jobs, logError, startJob, tooLarge, type Job } from "./tip-walks";
import { briefOf, type CommitBrief, lastCommitsKey, parsed, readStored, type StoredLastCommits } from "./last-commit-store";

export { type CommitBrief, lastCommitsKey, readStored, type StoredLastCommits };
export { BACKGROUND_BUDGET, MAX_PATHS, PAGE_STEPS, PAGE_WAIT_MS, runBudget, type WalkBudget, walkBudget } from "./walk-budget";
export const { storeAnswer, toStored } = answers;
export { logError };

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
