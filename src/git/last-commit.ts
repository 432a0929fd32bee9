// The last commit of every path of a tree, in one walk of history: for each path, the newest
// commit (by date) that brought the path's current content, i.e. whose version equals the one at
// the start and differs from every parent's. Each commit is compared with its parents only where
// something changed and some path is still unresolved, so the walk costs about what the changes
// cost. Bounded by a budget; can start from the answer for an older commit (the tip before a push).
// A commit whose changed-path Bloom filter rules out every top-level entry still unresolved is
// passed over without reading a tree (raw tree comparisons: tree-changes.ts).
import { type BloomKey, bloomKey, filterMayContain } from "./bloom";
import type { Budget } from "./budget";
import { type CommitGraph, type CommitInfo, CommitQueue } from "./commit-graph";
import { rangePositions } from "./ancestry";
import { type DirectoryWalkStats, walkDirectory } from "./last-commit-dir";
import { byteKey, type Checkpoint, directoryByGraph, directoryPaths, utf8 } from "./last-commit-page";
import type { Oid } from "./oid";
import { type Changed, changedEntries } from "./tree-changes";
import { type ObjectLocator, Trees } from "./walk-trees";
import { listingAboveBase, SAME, treePaths } from "./tree-listing";

export { byteKey };

export interface TreeLastCommits {
  /** Path ("dir/file", no leading slash) -> commit id, for every path resolved. */
  paths: Map<string, Oid>;
  /** Every path of the tree has its commit. */
  complete: boolean;
  /** Commits looked at. */
  scanned: number;
  /** Incomplete walks: where to resume (commits not looked at yet, newest first). */
  frontier: Oid[];
}

/** Commits down the first-parent line whose trees a walk of a range reads ahead of its comparisons. */
const READ_AHEAD = 8;

export interface LastCommitOptions {
  budget?: Budget;
  /** The answer for an older commit: commits it reaches are not searched again. */
  base?: { commit: Oid; paths: Map<string, Oid>; listing?: Map<string, Oid> };
  /** The start's whole tree as treePaths lists it, when the caller has it already (base.listing: the base's). */
  listing?: Map<string, Oid>;
  /**
   * A walk that ran out of budget: what it found, and its frontier. With `base` too (the same
   * base the run used): the walk goes on above the base, and the base answers the rest.
   */
  resume?: { paths: Map<string, Oid>; frontier: Oid[] };
  /** Filled as paths are resolved (keys as byteKey gives them), for showing progress. */
  live?: Map<string, Oid>;
  /** Give up (null) on trees with more paths than this. */
  maxPaths?: number;
  /** Trees located in memory (a checkpoint run's pack id tables) instead of by ranged index lookups. */
  locate?: ObjectLocator;
  /** Only the entries of this directory (a page's listing), not every path of the tree. */
  dir?: string[];
  /** Counted while walking: where a walk's time goes (Server-Timing, benchmarks). */
  stats?: WalkStats;
  /**
   * With `dir`: an ancestor's stored answer (path -> commit and its committer time), so that the
   * walk searches only what the start reaches and the ancestor does not (last-commit-dir.ts).
   */
  checkpoint?: Checkpoint;
  /** Called as a walk from a base enters each phase (a job's log counts storage calls by phase). */
  onPhase?: (phase: WalkPhase) => void;
}

/**
 * A walk from a base: the start's listing from the base's, the range (commits the base does not
 * reach), the walk of that range, the base's answers taken, the search of paths it could not answer.
 */
export type WalkPhase = "listing" | "range" | "walk" | "base" | "search";

/**
 * Commits taken from the queue, Bloom filters tested, commits whose trees were compared, trees
 * read; of the commits, those the base reaches (walked only to rule them out), and commits walked
 * by the whole-history search of paths the base could not answer.
 */
export interface WalkStats extends DirectoryWalkStats {
  uninteresting?: number;
  fullSearch?: number;
}
export const newWalkStats = (): WalkStats => ({ commits: 0, filters: 0, compares: 0, trees: 0 });

export async function lastCommitsOfTree(
  graph: CommitGraph,
  start: Oid,
  opts: LastCommitOptions = {},
): Promise<TreeLastCommits | null> {
  // A page's directory, where the persisted graph holds the start: walked by graph position.
  if (opts.dir && !opts.base && !opts.resume) {
    const persisted = await graph.persistedGraph();
    const pos = persisted ? await graph.positionOf(start) : -1;
    if (persisted && pos >= 0) return directoryByGraph(graph, persisted, pos, start, opts.dir, opts);
  }
  const found = await walkLastCommits(graph, start, opts);
  if (!found) return null;
  const paths = new Map<string, Oid>();
  for (const [path, commit] of found.paths) paths.set(utf8(path), commit);
  return { ...found, paths };
}

async function walkLastCommits(graph: CommitGraph, start: Oid, opts: LastCommitOptions): Promise<TreeLastCommits | null> {
  const stats = (opts.stats ??= newWalkStats());
  const trees = new Trees(graph, stats, opts.locate);
  const startTree = (await graph.commit(start)).tree;
  // From a base's answer without its listing: the start's paths are the base's, brought up to
  // date by reading only the directories that differ between the two trees; a path the same at
  // both keeps SAME until a comparison needs its id (targetOf).
  opts.onPhase?.("listing");
  const aboveBase =
    opts.base && !opts.base.listing && !opts.listing && !opts.dir
      ? await listingAboveBase(graph, opts.base, startTree, opts.maxPaths ?? 200_000)
      : null;
  const targets = opts.dir
    ? await directoryPaths(graph, startTree, opts.dir)
    : (aboveBase?.listing ?? opts.listing ?? (await treePaths(graph, startTree, opts.maxPaths, opts.locate)));
  if (!targets) return null;
  const paths = opts.live ?? new Map<string, Oid>();
  // Unresolved paths below each directory ("" is the root): directories with none are skipped.
  const pending = new Map<string, number>();
  const parentOf = (path: string) => {
    const slash = path.lastIndexOf("/");
    return slash < 0 ? "" : path.slice(0, slash);
  };
  for (const path of targets.keys()) {
    for (let dir = parentOf(path); ; dir = parentOf(dir)) {
      pending.set(dir, (pending.get(dir) ?? 0) + 1);
      if (dir === "") break;
    }
  }
  let unresolved = targets.size;
  /** The start's id of a path: read, with its directory's other entries, where the listing has SAME. */
  const targetOf = async (path: string): Promise<Oid | undefined> => {
    const known = targets.get(path);
    if (known !== SAME) return known;
    const dir = parentOf(path);
    const tree = dir === "" ? startTree : await targetOf(dir);
    for (const e of await trees.of(tree ?? null)) {
      const p = dir === "" ? e.name : `${dir}/${e.name}`;
      if (targets.get(p) === SAME) targets.set(p, e.oid);
    }
    return targets.get(path);
  };
  const resolve = (path: string, commit: Oid) => {
    paths.set(path, commit);
    unresolved--;
    for (let dir = parentOf(path); ; dir = parentOf(dir)) {
      pending.set(dir, pending.get(dir)! - 1);
      if (dir === "") break;
    }
  };

  /** Paths under `prefix` that `mine` (a commit's tree there) introduced relative to `theirs`. */
  const compare = async (commit: Oid, prefix: string, mine: Oid, theirs: (Oid | null)[]): Promise<void> => {
    const data = await trees.data(mine);
    // Per parent: its entries of the changed names (a name absent from a parent's list is the
    // same there as here).
    let candidates: Changed[];
    let perParent: Map<string, Changed>[];
    if (theirs.length === 0) {
      candidates = await trees.of(mine);
      perParent = [];
    } else {
      perParent = [];
      const union = new Map<string, Changed>();
      for (const t of theirs) {
        const changed = changedEntries(data, await trees.data(t));
        perParent.push(new Map(changed.map((c) => [c.name, c])));
        for (const c of changed) union.set(c.name, c);
      }
      candidates = [...union.values()];
    }
    for (const e of candidates) {
      const path = prefix + e.name;
      let target = targets.get(path);
      if (target === SAME) target = await targetOf(path);
      // Not a path asked for, and nothing asked for below it (a listing's parent directories are
      // walked through, not answered).
      if (target === undefined && !(e.tree && (pending.get(path) ?? 0) > 0)) continue;
      const parentEntry = (i: number) => {
        const c = perParent[i]!.get(e.name);
        return c ? c.theirs : { oid: e.oid, tree: e.tree };
      };
      if (target !== undefined && !paths.has(path) && e.oid === target && theirs.every((_, i) => parentEntry(i)?.oid !== target))
        resolve(path, commit);
      if (e.tree && (pending.get(path) ?? 0) > 0) {
        await compare(
          commit,
          `${path}/`,
          e.oid,
          theirs.map((_, i) => {
            const q = parentEntry(i);
            return q?.tree ? q.oid : null;
          }),
        );
      }
    }
  };

  // Entries of each directory ("" is the root), to test a commit's Bloom filter top-down: only
  // below a directory the filter may hold, only where something is unresolved.
  const children = new Map<string, Set<string>>();
  for (const path of targets.keys()) {
    for (let p = path; p !== ""; p = parentOf(p)) {
      const dir = parentOf(p);
      let list = children.get(dir);
      if (!list) children.set(dir, (list = new Set()));
      if (list.has(p)) break;
      list.add(p);
    }
  }
  const keys = new Map<string, BloomKey[]>();
  const keyOf = (path: string) => {
    let k = keys.get(path);
    if (!k) {
      if (keys.size > 20_000) keys.clear();
      keys.set(path, (k = [bloomKey(Uint8Array.from(path, (ch) => ch.charCodeAt(0)))]));
    }
    return k;
  };
  /** Whether the filter may hold a path still unresolved under `dir` (directories included). */
  const mayHoldOpen = (filter: Uint8Array, dir: string): boolean => {
    for (const path of children.get(dir) ?? []) {
      const open = targets.has(path) && !paths.has(path);
      const below = (pending.get(path) ?? 0) > 0;
      if (!open && !below) continue;
      if (!filterMayContain(filter, keyOf(path))) continue;
      if (open || mayHoldOpen(filter, path)) return true;
    }
    return false;
  };
  const mayTouchOpenPaths = async (commit: Oid): Promise<boolean> => {
    stats.filters++;
    const filter = await graph.changedPathFilter(commit);
    return filter ? mayHoldOpen(filter, "") : true;
  };

  // From a base the persisted graph holds (as the start): the commits the base does not reach,
  // found by generation number without decoding one (`git rev-list base..start`). The walk then
  // takes only those, in its own order, and never the base's side: by dates alone, that side is
  // walked down to the fork of the oldest branch merged above the base.
  opts.onPhase?.("range");
  const persisted = opts.base ? await graph.persistedGraph() : null;
  const from = persisted ? await graph.positionOf(start) : -1;
  const to = from >= 0 ? await graph.positionOf(opts.base!.commit) : -1;
  let range: Uint8Array | null = null;
  if (persisted && to >= 0) {
    const counts = { included: 0, excluded: 0 };
    range = await rangePositions(persisted, from, to, Infinity, counts);
    stats.uninteresting = (stats.uninteresting ?? 0) + counts.excluded;
  }
  const inRange = async (oid: Oid) => {
    const pos = await graph.positionOf(oid);
    return pos >= 0 && (range![pos >> 3]! & (1 << (pos & 7))) !== 0;
  };

  // In a range nearly every commit is compared (every path is open until the base answers the
  // rest): the trees of the next commits down the first-parent line are read meanwhile.
  const started = new Set<Oid>();
  const readAhead = async (c: CommitInfo) => {
    for (let i = 0, next = c; i < READ_AHEAD && next.parents.length > 0; i++) {
      const p = next.parents[0]!;
      if (!(await inRange(p))) return;
      next = await graph.commit(p);
      if (started.has(p)) continue;
      started.add(p);
      void trees.readAhead(next.tree, await Promise.all(next.parents.map(async (q) => (await graph.commit(q)).tree)));
    }
  };

  const queue = new CommitQueue();
  const seen = new Set<Oid>();
  const bad = new Set<Oid>();
  const queuedGood = new Set<Oid>();
  const enqueue = async (oid: Oid, uninteresting: boolean) => {
    if (range && (uninteresting || !(await inRange(oid)))) return;
    if (uninteresting) {
      bad.add(oid);
      queuedGood.delete(oid);
    }
    if (seen.has(oid) || !(await graph.has(oid))) return;
    seen.add(oid);
    if (!uninteresting) queuedGood.add(oid);
    queue.push(await graph.commit(oid));
  };
  if (opts.base) await enqueue(opts.base.commit, true);
  if (opts.resume) {
    for (const [path, commit] of opts.resume.paths) {
      const key = byteKey(path);
      if (targets.has(key) && !paths.has(key)) resolve(key, commit);
    }
    for (const oid of opts.resume.frontier) await enqueue(oid, false);
  } else {
    await enqueue(start, false);
  }

  opts.onPhase?.("walk");
  let scanned = 0;
  let slop = 5;
  while (queue.size > 0 && unresolved > 0) {
    if (opts.budget && (await opts.budget.step())) {
      const frontier: Oid[] = [];
      while (queue.size > 0) {
        const c = queue.pop()!;
        if (!bad.has(c.oid)) frontier.push(c.oid);
      }
      return { paths, complete: false, scanned, frontier };
    }
    const c = queue.pop()!;
    queuedGood.delete(c.oid);
    scanned++;
    stats.commits++;
    if (bad.has(c.oid)) {
      stats.uninteresting = (stats.uninteresting ?? 0) + 1;
      for (const p of c.parents) await enqueue(p, true);
    } else {
      const parents = await graph.presentParents(c);
      // The filter compares with the first parent: a path the same as there is not one this
      // commit brought, merge or not (it must differ from every parent), so no tree is read.
      const skip = parents.length > 0 && c.parents.length === parents.length && !(await mayTouchOpenPaths(c.oid));
      if (range) await readAhead(c);
      if (!skip) {
        stats.compares++;
        const parentTrees = await Promise.all(parents.map(async (p) => (await graph.commit(p)).tree));
        if (!parentTrees.includes(c.tree)) await compare(c.oid, "", c.tree, parentTrees);
      }
      for (const p of parents) await enqueue(p, false);
    }
    if (opts.base && queuedGood.size === 0) {
      if (--slop <= 0) break;
    } else slop = 5;
  }

  if (opts.base) {
    opts.onPhase?.("base");
    const baseByBytes = new Map<string, Oid>();
    for (const [path, commit] of opts.base.paths) baseByBytes.set(byteKey(path), commit);
    const baseTree = (await graph.commit(opts.base.commit)).tree;
    const before = aboveBase ? null : (opts.base.listing ?? (await treePaths(graph, baseTree, opts.maxPaths, opts.locate)));
    const sameAtBase = (path: string, target: Oid) => (aboveBase ? !aboveBase.changed.has(path) : before?.get(path) === target);
    for (const [path, target] of targets) {
      const known = baseByBytes.get(path);
      if (!known || !sameAtBase(path, target)) continue;
      // What the commits above the base did not bring keeps the answer it had there; what they
      // brought again keeps it too if that is newer (a path is answered by its newest commit).
      const mine = paths.get(path);
      if (mine === undefined) resolve(path, known);
      else if (mine !== known && (await graph.commit(known)).time > (await graph.commit(mine)).time) paths.set(path, known);
    }
    if (unresolved > 0) opts.onPhase?.("search");
    if (unresolved > 0 && from >= 0) {
      // Something older came back: content the base does not have that no commit above it
      // brought (a file deleted below the base, brought back by a merge of a branch that kept
      // it). Only those paths are searched for, each directory's by graph position and its
      // entries' Bloom filters (last-commit-dir.ts), as a page's column is.
      const byDir = new Map<string, Map<string, Oid>>();
      for (const path of [...targets.keys()]) {
        if (paths.has(path)) continue;
        const dir = parentOf(path);
        let names = byDir.get(dir);
        if (!names) byDir.set(dir, (names = new Map()));
        names.set(dir ? path.slice(dir.length + 1) : path, (await targetOf(path))!);
      }
      for (const [dir, names] of byDir) {
        const walked = stats.commits;
        const walk = await walkDirectory(persisted!, graph.store, from, dir ? dir.split("/") : [], names, {
          budget: opts.budget,
          stats,
        });
        stats.fullSearch = (stats.fullSearch ?? 0) + stats.commits - walked;
        for (const [name, commit] of walk.found) resolve(dir ? `${dir}/${name}` : name, commit);
        if (!walk.complete) return { paths, complete: false, scanned, frontier: [] };
      }
    }
    if (unresolved > 0) {
      // Something older came back (a merge of an old branch): search the whole history.
      const walked = stats.commits;
      const full = await walkLastCommits(graph, start, {
        budget: opts.budget,
        maxPaths: opts.maxPaths,
        stats,
        locate: opts.locate,
      });
      stats.fullSearch = (stats.fullSearch ?? 0) + stats.commits - walked;
      if (!full) return null;
      for (const [path, commit] of full.paths) if (!paths.has(path)) paths.set(path, commit);
      return { paths, complete: full.complete, scanned: scanned + full.scanned, frontier: full.frontier };
    }
  }
  return { paths, complete: true, scanned, frontier: [] };
}
