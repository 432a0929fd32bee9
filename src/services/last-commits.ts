// Per-entry last commits of directories (the "last change" column of tree pages), as derived data:
// computed once per (commit, directory), stored in R2 under the repository's prefix and never
// rewritten. Pages compute within a small budget and finish in the background; the post-push
// hook precomputes the top of every pushed branch, starting from the answer for the old tip.
import type { Env } from "../env";
import { Budget } from "../git/budget";
import { CommitGraph } from "../git/commit-graph";
import { lastCommits } from "../git/last-commit";
import { forEachTreeEntry, isTreeMode, parseCommit } from "../git/objects";
import { sha1, type Oid } from "../git/oid";
import { r2Keys } from "../storage/keys";
import { openStore, repoStub, type RepoRef } from "./repositories";

export interface CommitBrief {
  /** Committer time, seconds since the epoch. */
  t: number;
  /** Subject line. */
  s: string;
  /** Author name. */
  a: string;
}

export interface StoredLastCommits {
  v: 1;
  commit: Oid;
  path: string;
  /** Entry name -> commit id. */
  entries: Record<string, Oid>;
  commits: Record<Oid, CommitBrief>;
}

/** R2 key of the last commits of `path` at `commit` (docs/storage.md). */
export function lastCommitsKey(repo: RepoRef, commit: Oid, path: string[]): string {
  const pathId = path.length ? sha1().update(path.join("/")).digest("hex") : "root";
  return `${r2Keys.repoPrefix(repo.tenantId, repo.repoId)}derived/last-commit/v1/${commit}/${pathId}.json`;
}

export async function readStored(env: Env, repo: RepoRef, commit: Oid, path: string[]): Promise<StoredLastCommits | null> {
  const obj = await env.OBJECTS.get(lastCommitsKey(repo, commit, path));
  if (!obj) return null;
  try {
    const data = (await obj.json()) as StoredLastCommits;
    return data.v === 1 && data.commit === commit ? data : null;
  } catch {
    return null;
  }
}

async function briefs(graph: CommitGraph, oids: Iterable<Oid>): Promise<Record<Oid, CommitBrief>> {
  const out: Record<Oid, CommitBrief> = {};
  for (const oid of new Set(oids)) {
    const c = parseCommit(await graph.store.readTyped(oid, "commit"));
    const nl = c.message.indexOf("\n");
    out[oid] = { t: c.committer.time, s: (nl < 0 ? c.message : c.message.slice(0, nl)).trim(), a: c.author.name };
  }
  return out;
}

export interface LastCommitsAnswer {
  data: StoredLastCommits;
  complete: boolean;
}

/** Budgets: what a page waits for, and what the background (or the post-push hook) may spend. */
export const PAGE_BUDGET = { ms: 300, steps: 1500 };
export const BACKGROUND_BUDGET = { ms: 25_000, steps: 400_000 };

/** Isolate-wide: one background computation per (repository, commit, path) at a time. */
const running = new Map<string, Promise<unknown>>();

/**
 * The stored answer, or one computed now within the page budget. An incomplete answer comes
 * with the rest computed (and stored) in the background through `waitUntil`.
 */
export async function lastCommitsFor(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  commit: Oid,
  path: string[],
  waitUntil: (p: Promise<unknown>) => void,
): Promise<LastCommitsAnswer> {
  const stored = await readStored(env, repo, commit, path);
  if (stored) return { data: stored, complete: true };
  const quick = await compute(env, repo, graph, commit, path, new Budget(Date.now() + PAGE_BUDGET.ms, PAGE_BUDGET.steps));
  if (quick.complete) {
    waitUntil(store(env, repo, quick.data).catch(logError));
    return quick;
  }
  const key = lastCommitsKey(repo, commit, path);
  if (!running.has(key)) {
    const budget = new Budget(Date.now() + BACKGROUND_BUDGET.ms, BACKGROUND_BUDGET.steps);
    const job = compute(env, repo, graph, commit, path, budget)
      .then((full) => (full.complete ? store(env, repo, full.data) : undefined))
      .catch(logError)
      .finally(() => running.delete(key));
    running.set(key, job);
    waitUntil(job);
  }
  return quick;
}

async function compute(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  commit: Oid,
  path: string[],
  budget: Budget,
  base?: StoredLastCommits | null,
): Promise<LastCommitsAnswer> {
  const found = await lastCommits(graph, commit, path, {
    budget,
    base: base ? { commit: base.commit, entries: new Map(Object.entries(base.entries)) } : undefined,
  });
  const entries = Object.fromEntries(found.entries);
  return {
    data: { v: 1, commit, path: path.join("/"), entries, commits: await briefs(graph, found.entries.values()) },
    complete: found.complete,
  };
}

async function store(env: Env, repo: RepoRef, data: StoredLastCommits): Promise<void> {
  await env.OBJECTS.put(lastCommitsKey(repo, data.commit, data.path ? data.path.split("/") : []), JSON.stringify(data), {
    httpMetadata: { contentType: "application/json" },
  });
}

const decoder = new TextDecoder();

const logError = (err: unknown) =>
  console.error(JSON.stringify({ level: "error", message: `last commits: ${String((err as Error)?.stack ?? err)}` }));

/**
 * After a push: the root directory and its subdirectories at each new branch tip, each from the
 * old tip's answer when there is one (then only the pushed commits are searched).
 */
export async function precomputeAfterPush(
  env: Env,
  repo: RepoRef,
  graph: CommitGraph,
  updates: { name: string; old: Oid; new: Oid }[],
  budget = new Budget(Date.now() + BACKGROUND_BUDGET.ms, BACKGROUND_BUDGET.steps),
): Promise<number> {
  let stored = 0;
  const ZERO = "0".repeat(40);
  for (const u of updates) {
    if (!u.name.startsWith("refs/heads/") || u.new === ZERO || !graph.store.has(u.new)) continue;
    const tip = await graph.commit(u.new).catch(() => null);
    if (!tip) continue;
    const dirs: string[][] = [[]];
    for (let i = 0; i < dirs.length && i < 64; i++) {
      const path = dirs[i]!;
      if (await readStored(env, repo, u.new, path)) continue;
      const base = u.old !== ZERO && graph.store.has(u.old) ? await readStored(env, repo, u.old, path) : null;
      const answer = await compute(env, repo, graph, u.new, path, budget, base);
      if (!answer.complete) return stored;
      await store(env, repo, answer.data);
      stored++;
      if (path.length === 0) {
        const root = await graph.store.readTyped(tip.tree, "tree");
        forEachTreeEntry(root, (mode, _oid, s, e) => {
          if (isTreeMode(mode)) dirs.push([decoder.decode(root.subarray(s, e))]);
        });
      }
    }
  }
  return stored;
}

/** The post-push step (edge/post-push.ts): opens the repository as it is now and precomputes. */
export async function precomputeForPush(env: Env, e: { tenantId: string; repoId: string; updates: { name: string; old: Oid; new: Oid }[] }): Promise<void> {
  const repo = { tenantId: e.tenantId, repoId: e.repoId };
  try {
    const snapshot = await repoStub(env, repo).snapshot();
    const graph = new CommitGraph(await openStore(env.OBJECTS, repo, snapshot));
    await precomputeAfterPush(env, repo, graph, e.updates);
  } catch (err) {
    // Derived data only: pages compute what is missing.
    logError(err);
  }
}
