// Per-entry last commits (the "last change" column of tree pages) as derived data: computed once
// per commit for every path of its tree, in one walk of history, and stored in R2 under the
// repository's prefix (never rewritten). The post-push hook computes it for every pushed branch
// tip, starting from the old tip's answer; a page that finds none starts the walk in the
// background, shows what the walk has found so far, and the rest fills in. A walk that runs out
// of time keeps its progress in the Cache API and the next request resumes it.
import type { Env } from "../env";
import { Budget } from "../git/budget";
import { CommitGraph } from "../git/commit-graph";
import { byteKey, lastCommitsOfTree } from "../git/last-commit";
import { parseCommit } from "../git/objects";
import type { Oid } from "../git/oid";
import { r2Keys } from "../storage/keys";
import { ByteLru } from "../utils/lru";
import { currentSnapshot, openStore, type RepoRef } from "./repositories";

export interface CommitBrief {
  /** Committer time, seconds since the epoch. */
  t: number;
  /** Subject line. */
  s: string;
  /** Author name. */
  a: string;
}

/** What R2 holds for one commit. */
export interface StoredLastCommits {
  v: 2;
  commit: Oid;
  /** The commits named below, and what the page shows of each. */
  commits: Oid[];
  briefs: CommitBrief[];
  /** Path -> index into `commits`. */
  paths: Record<string, number>;
}

/** R2 key of the last commits of every path at `commit` (docs/storage.md). */
export function lastCommitsKey(repo: RepoRef, commit: Oid): string {
  return r2Keys.lastCommits(repo.tenantId, repo.repoId, commit);
}

/** Where an unfinished walk keeps its progress (Cache API: may be overwritten or dropped). */
const progressUrl = (repo: RepoRef, commit: Oid) =>
  `https://derived.edgeforge.invalid/${repo.tenantId}/${repo.repoId}/last-commit-progress/v2/${commit}`;

/** Parsed answers, shared by the requests of the isolate. */
const parsed = new ByteLru<string, StoredLastCommits>(
  8 * 1024 * 1024,
  (d) => 200 + d.commits.length * 160 + Object.keys(d.paths).length * 80,
);

export async function readStored(env: Env, repo: RepoRef, commit: Oid): Promise<StoredLastCommits | null> {
  const key = lastCommitsKey(repo, commit);
  const hit = parsed.get(key);
  if (hit) return hit;
  const obj = await env.OBJECTS.get(key);
  if (!obj) return null;
  try {
    const data = (await obj.json()) as StoredLastCommits;
    if (data.v !== 2 || data.commit !== commit) return null;
    parsed.set(key, data);
    return data;
  } catch {
    return null;
  }
}

async function briefOf(graph: CommitGraph, oid: Oid): Promise<CommitBrief> {
  const c = parseCommit(await graph.store.readTyped(oid, "commit"));
  const nl = c.message.indexOf("\n");
  return { t: c.committer.time, s: (nl < 0 ? c.message : c.message.slice(0, nl)).trim(), a: c.author.name };
}

async function toStored(graph: CommitGraph, commit: Oid, paths: Map<string, Oid>): Promise<StoredLastCommits> {
  const index = new Map<Oid, number>();
  const out: StoredLastCommits = { v: 2, commit, commits: [], briefs: [], paths: {} };
  for (const [path, oid] of paths) {
    let i = index.get(oid);
    if (i === undefined) {
      i = out.commits.length;
      index.set(oid, i);
      out.commits.push(oid);
      out.briefs.push(await briefOf(graph, oid));
    }
    out.paths[path] = i;
  }
  return out;
}

async function store(env: Env, repo: RepoRef, data: StoredLastCommits): Promise<void> {
  const key = lastCommitsKey(repo, data.commit);
  parsed.set(key, data);
  await env.OBJECTS.put(key, JSON.stringify(data), { httpMetadata: { contentType: "application/json" } });
}

const edgeCache = (): Cache | null => (typeof caches !== "undefined" ? (caches as unknown as { default: Cache }).default : null);

/** Budgets: how long a page waits for the walk, and how much one background run may spend. */
export const PAGE_WAIT_MS = 300;
export const BACKGROUND_BUDGET = { ms: 20_000, steps: 2_000_000 };

export interface WalkBudget {
  /** How long a page waits for the walk before it shows what the walk has found so far. */
  pageWaitMs: number;
  /** Time and steps one run of the walk may spend before it keeps its progress for the next. */
  ms: number;
  steps: number;
}

/**
 * The budgets, from the optional LAST_COMMITS_WAIT_MS / LAST_COMMITS_STEPS settings (docs/deploy.md)
 * or the defaults above. Tests set them so that whether a page is partial depends on the number of
 * steps, not on how fast the machine is.
 */
export function walkBudget(env: Env): WalkBudget {
  const setting = (name: string, fallback: number) => {
    const raw = env[name];
    const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
    return Number.isFinite(n) && n >= 0 ? n : fallback;
  };
  return {
    pageWaitMs: setting("LAST_COMMITS_WAIT_MS", PAGE_WAIT_MS),
    ms: BACKGROUND_BUDGET.ms,
    steps: setting("LAST_COMMITS_STEPS", BACKGROUND_BUDGET.steps),
  };
}

const runBudget = (b: WalkBudget) => new Budget(Date.now() + b.ms, b.steps);
/** Trees with more paths than this get no last-commit column (the walk would not be bounded). */
const MAX_PATHS = 150_000;

interface Job {
  done: Promise<StoredLastCommits | null>;
  /** Paths resolved so far (byte keys), filled while the walk runs. */
  live: Map<string, Oid>;
}

/** Isolate-wide: one walk per (repository, commit) at a time. */
const jobs = new Map<string, Job>();
/** Commits whose tree is too large for the walk (per isolate). */
const tooLarge = new Set<string>();

function startJob(env: Env, repo: RepoRef, graph: CommitGraph, commit: Oid, waitUntil: (p: Promise<unknown>) => void): Job {
  const key = lastCommitsKey(repo, commit);
  const running = jobs.get(key);
  if (running) return running;
  const live = new Map<string, Oid>();
  const done = (async () => {
    const cache = edgeCache();
    let resume: { paths: Map<string, Oid>; frontier: Oid[] } | undefined;
    const saved = cache ? await cache.match(progressUrl(repo, commit)) : undefined;
    if (saved) {
      const p = (await saved.json()) as { paths: Record<string, Oid>; frontier: Oid[] };
      resume = { paths: new Map(Object.entries(p.paths)), frontier: p.frontier };
    }
    const budget = runBudget(walkBudget(env));
    const found = await lastCommitsOfTree(graph, commit, { budget, resume, live, maxPaths: MAX_PATHS });
    if (!found) {
      if (tooLarge.size > 1000) tooLarge.clear();
      tooLarge.add(key);
      return null;
    }
    if (!found.complete) {
      const progress = { paths: Object.fromEntries(found.paths), frontier: found.frontier };
      await cache?.put(
        progressUrl(repo, commit),
        new Response(JSON.stringify(progress), { headers: { "cache-control": "max-age=86400" } }),
      );
      return null;
    }
    const data = await toStored(graph, commit, found.paths);
    await store(env, repo, data);
    await cache?.delete(progressUrl(repo, commit));
    return data;
  })()
    .catch((err) => {
      logError(err);
      return null;
    })
    .finally(() => jobs.delete(key));
  const job = { done, live };
  jobs.set(key, job);
  waitUntil(done);
  return job;
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

/**
 * The last commits of the entries `names` of directory `path` at `commit`: stored, or from a walk
 * started now (waiting for it a little), or as far as a running walk has got.
 */
export async function lastCommitsFor(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  commit: Oid,
  path: string[],
  names: string[],
  waitUntil: (p: Promise<unknown>) => void,
  opts: { wait?: boolean } = { wait: true },
): Promise<DirectoryLastCommits> {
  const stored = await readStored(env, repo, commit);
  if (stored) return fromStored(stored, path, names);
  if (tooLarge.has(lastCommitsKey(repo, commit))) return { entries: {}, commits: {}, complete: true, unavailable: true };
  const job = startJob(env, repo, graph, commit, waitUntil);
  if (opts.wait) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<null>((r) => (timer = setTimeout(() => r(null), walkBudget(env).pageWaitMs)));
    const data = await Promise.race([job.done, waited]).finally(() => clearTimeout(timer));
    if (data) return fromStored(data, path, names);
    if (tooLarge.has(lastCommitsKey(repo, commit))) return { entries: {}, commits: {}, complete: true, unavailable: true };
  }
  const prefix = path.length ? `${path.join("/")}/` : "";
  const out: DirectoryLastCommits = { entries: {}, commits: {}, complete: false };
  for (const name of names) {
    const oid = job.live.get(byteKey(prefix + name));
    if (!oid) continue;
    out.entries[name] = oid;
    if (!out.commits[oid]) out.commits[oid] = await briefOf(graph, oid);
  }
  return out;
}

const logError = (err: unknown) =>
  console.error(JSON.stringify({ level: "error", message: `last commits: ${String((err as Error)?.stack ?? err)}` }));

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
): Promise<number> {
  let stored = 0;
  const ZERO = "0".repeat(40);
  for (const u of updates) {
    if (!u.name.startsWith("refs/heads/") || u.new === ZERO || !(await graph.store.has(u.new))) continue;
    if ((await graph.store.read(u.new)).type !== "commit") continue;
    if (await readStored(env, repo, u.new)) continue;
    const before = u.old !== ZERO && (await graph.store.has(u.old)) ? await readStored(env, repo, u.old) : null;
    const base = before
      ? { commit: before.commit, paths: new Map(Object.entries(before.paths).map(([p, i]) => [p, before.commits[i]!])) }
      : undefined;
    const found = await lastCommitsOfTree(graph, u.new, { budget, base, maxPaths: MAX_PATHS });
    if (!found?.complete) continue;
    await store(env, repo, await toStored(graph, u.new, found.paths));
    stored++;
  }
  return stored;
}

/** The post-push step (services/post-push.ts): opens the repository as it is now and precomputes. */
export async function precomputeForPush(
  env: Env,
  e: { tenantId: string; repoId: string; updates: { name: string; old: Oid; new: Oid }[] },
): Promise<void> {
  const repo = { tenantId: e.tenantId, repoId: e.repoId };
  try {
    const snapshot = await currentSnapshot(env, repo);
    const graph = new CommitGraph(await openStore(env.OBJECTS, repo, snapshot));
    await precomputeAfterPush(env, repo, graph, e.updates);
  } catch (err) {
    // Derived data only: pages compute what is missing.
    logError(err);
  }
}
