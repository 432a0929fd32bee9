// The last commit of each entry of a directory: for every name, the newest commit (by date, along
// git's simplified history of the directory) that brought the entry's current content, i.e. whose
// version equals the one at the start and differs from every parent's. Bounded by a deadline;
// can start from a known answer for an older commit (the tip before a push).
import { CommitGraph, CommitQueue } from "./commit-graph";
import { forEachTreeEntry } from "./objects";
import type { Oid } from "./oid";
import { PathLookup } from "./history";
import type { Budget } from "./budget";

const decoder = new TextDecoder();

export interface LastCommits {
  /** Entry name -> commit id. */
  entries: Map<string, Oid>;
  /** Every entry has its commit (or is known to have none in this repository). */
  complete: boolean;
  scanned: number;
}

/** Entries of a tree by name (memoized per walk: many commits share a tree). */
class TreeEntries {
  private readonly memo = new Map<Oid, Map<string, Oid>>();
  constructor(private readonly graph: CommitGraph) {}

  async of(tree: Oid | null): Promise<Map<string, Oid>> {
    if (!tree) return new Map();
    let hit = this.memo.get(tree);
    if (!hit) {
      const data = await this.graph.store.read(tree);
      hit = new Map();
      if (data.type === "tree") {
        const m = hit;
        forEachTreeEntry(data.data, (_mode, oid, s, e) => m.set(decoder.decode(data.data.subarray(s, e)), oid));
      }
      if (this.memo.size > 4096) this.memo.clear();
      this.memo.set(tree, hit);
    }
    return hit;
  }
}

export interface LastCommitOptions {
  /** Give up (complete: false) when it is spent (one step per commit). */
  budget?: Budget;
  /**
   * A known answer for an older commit: commits it reaches are not searched, and entries still
   * unresolved whose content there is the same take its answer.
   */
  base?: { commit: Oid; entries: Map<string, Oid> };
}

export async function lastCommits(graph: CommitGraph, start: Oid, path: string[], opts: LastCommitOptions = {}): Promise<LastCommits> {
  const lookup = new PathLookup(graph, path);
  const trees = new TreeEntries(graph);
  const startTree = await lookup.at(start);
  const targets = await trees.of(startTree);
  const unresolved = new Map(targets);
  const entries = new Map<string, Oid>();
  const resolve = (name: string, commit: Oid) => {
    entries.set(name, commit);
    unresolved.delete(name);
  };

  const queue = new CommitQueue();
  const seen = new Set<Oid>();
  const bad = new Set<Oid>();
  const queuedGood = new Set<Oid>();
  const enqueue = async (oid: Oid, uninteresting: boolean) => {
    if (uninteresting) {
      bad.add(oid);
      queuedGood.delete(oid);
    }
    if (seen.has(oid) || !graph.store.has(oid)) return;
    seen.add(oid);
    if (!uninteresting) queuedGood.add(oid);
    queue.push(await graph.commit(oid));
  };
  if (opts.base) await enqueue(opts.base.commit, true);
  await enqueue(start, false);

  let scanned = 0;
  let slop = 5;
  while (queue.size > 0 && unresolved.size > 0) {
    scanned++;
    if (opts.budget?.spend()) {
      return { entries, complete: false, scanned };
    }
    const c = queue.pop()!;
    queuedGood.delete(c.oid);
    if (bad.has(c.oid)) {
      for (const p of c.parents) await enqueue(p, true);
    } else {
      const here = await lookup.at(c.oid);
      const parents = c.parents.filter((p) => graph.store.has(p));
      let same: Oid | null = null;
      for (const p of parents) {
        if ((await lookup.at(p)) === here) {
          same = p;
          break;
        }
      }
      if (same) {
        await enqueue(same, false);
      } else {
        const mine = await trees.of(here);
        const theirs = await Promise.all(parents.map(async (p) => trees.of(await lookup.at(p))));
        for (const [name, target] of unresolved) {
          if (mine.get(name) === target && theirs.every((t) => t.get(name) !== target)) resolve(name, c.oid);
        }
        for (const p of parents) await enqueue(p, false);
      }
    }
    if (opts.base && queuedGood.size === 0) {
      if (--slop <= 0) break;
    } else slop = 5;
  }

  if (opts.base && unresolved.size > 0) {
    // What the push did not touch keeps the answer it had before.
    const before = await trees.of(await lookup.at(opts.base.commit));
    for (const [name, target] of [...unresolved]) {
      const known = opts.base.entries.get(name);
      if (known && before.get(name) === target) resolve(name, known);
    }
    if (unresolved.size > 0) {
      // Something older came back (a merge of an old branch): search the whole history for it.
      const full = await lastCommits(graph, start, path, { budget: opts.budget });
      for (const name of unresolved.keys()) {
        const found = full.entries.get(name);
        if (found) entries.set(name, found);
      }
      return { entries, complete: full.complete, scanned: scanned + full.scanned };
    }
  }
  return { entries, complete: true, scanned };
}
