// The stored answers of the last-commit column: one R2 file per commit holding the last commit
// of every path of its tree (docs/storage.md), parsed copies kept per isolate within a byte budget.
import type { Env } from "../env";
import type { CommitGraph } from "../git/commit-graph";
import { parseCommit } from "../git/objects";
import type { Oid } from "../git/oid";
import type { ObjectLocator } from "../git/walk-trees";
import { r2Keys } from "../storage/keys";
import type { RepoRef } from "./repositories";
import { edgeLru } from "../utils/edge-budget";

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

/** Parsed answers, shared by the requests of the isolate. */
export const parsed = edgeLru<string, StoredLastCommits>(
  "services.last-commits",
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

export async function briefOf(graph: CommitGraph, oid: Oid, locate?: ObjectLocator): Promise<CommitBrief> {
  const at = locate ? await locate(oid) : null;
  const obj = at ? await graph.store.readAt(at.pack, at.offset) : null;
  const c = parseCommit(obj?.type === "commit" ? obj.data : await graph.store.readTyped(oid, "commit"));
  const nl = c.message.indexOf("\n");
  return { t: c.committer.time, s: (nl < 0 ? c.message : c.message.slice(0, nl)).trim(), a: c.author.name };
}

/**
 * `known`: an older answer whose briefs are taken rather than read again (most commits recur);
 * `locate`: a checkpoint run's id tables, so that a new commit costs no ranged index lookup.
 */
export async function toStored(
  graph: CommitGraph,
  commit: Oid,
  paths: Map<string, Oid>,
  known?: StoredLastCommits,
  locate?: ObjectLocator,
): Promise<StoredLastCommits> {
  const briefs = new Map<Oid, CommitBrief>();
  if (known) for (const [i, oid] of known.commits.entries()) briefs.set(oid, known.briefs[i]!);
  // The commits not known yet, read 16 at a time (a checkpoint brings a few hundred; each read
  // may wait for storage).
  const missing = [...new Set(paths.values())].filter((oid) => !briefs.has(oid));
  for (let i = 0; i < missing.length; i += 16) {
    const group = missing.slice(i, i + 16);
    const read = await Promise.all(group.map((oid) => briefOf(graph, oid, locate)));
    for (const [k, oid] of group.entries()) briefs.set(oid, read[k]!);
  }
  const index = new Map<Oid, number>();
  const out: StoredLastCommits = { v: 2, commit, commits: [], briefs: [], paths: {} };
  for (const [path, oid] of paths) {
    let i = index.get(oid);
    if (i === undefined) {
      i = out.commits.length;
      index.set(oid, i);
      out.commits.push(oid);
      out.briefs.push(briefs.get(oid)!);
    }
    out.paths[path] = i;
  }
  return out;
}

/** Returns the stored JSON's length (characters). */
export async function storeAnswer(env: Env, repo: RepoRef, data: StoredLastCommits): Promise<number> {
  const key = lastCommitsKey(repo, data.commit);
  parsed.set(key, data);
  const json = JSON.stringify(data);
  await env.OBJECTS.put(key, json, { httpMetadata: { contentType: "application/json" } });
  return json.length;
}
