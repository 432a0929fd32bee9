// A whole tree's listing (path -> id, directories included, paths as byte strings): made level by
// level (treePaths), or brought up to date from an older tree's listing (updatedTreePaths: only
// directories whose ids differ are read, so consecutive last-commit checkpoints of a large tree,
// git/git's 6,600 directories, cost the directories their commits changed, not the whole tree
// again), or from a base's stored last-commit answer (listingAboveBase).
import { yieldToOthers } from "./budget";
import type { CommitGraph } from "./commit-graph";
import { byteKey } from "./last-commit-page";
import type { ObjectStore } from "./object-store";
import { prefetchEntries } from "./pack-prefetch";
import { forEachTreeEntry, isTreeMode } from "./objects";
import type { Oid } from "./oid";
import { byteString, changedEntries } from "./tree-changes";
import { type ObjectLocator, Trees } from "./walk-trees";

const EMPTY = new Uint8Array(0);

export async function updatedTreePaths(
  store: ObjectStore,
  before: Map<string, Oid>,
  oldRoot: Oid,
  newRoot: Oid,
  maxPaths: number,
): Promise<Map<string, Oid> | null> {
  const out = new Map(before);
  const removeUnder = (prefix: string) => {
    for (const key of [...out.keys()]) if (key.startsWith(prefix)) out.delete(key);
  };
  // Level by level, as treePaths lists: each level's differing directories located in id order
  // and read side by side (one at a time, each lookup of a large pack's ranged index was nearly
  // always a storage read of its own: about 700 for 53 commits of long70k.git). `old` null: all of
  // it is new (a directory added, or one where a file was).
  let level: { prefix: string; old: Oid | null; mine: Oid }[] =
    oldRoot === newRoot ? [] : [{ prefix: "", old: oldRoot, mine: newRoot }];
  while (level.length > 0) {
    const ids = [...new Set(level.flatMap((d) => (d.old ? [d.old, d.mine] : [d.mine])))].sort();
    const data = new Map<Oid, Uint8Array>();
    for (let from = 0; from < ids.length; from += LIST_BATCH) {
      const batch = ids.slice(from, from + LIST_BATCH);
      await store.locateMany(batch);
      await prefetchEntries(store, batch);
      for (let i = 0; i < batch.length; i += READ_TOGETHER) {
        const group = batch.slice(i, i + READ_TOGETHER);
        const read = await Promise.all(group.map((oid) => store.read(oid)));
        for (const [j, o] of read.entries()) data.set(group[j]!, o.type === "tree" ? o.data : EMPTY);
      }
      await yieldToOthers();
    }
    const next: typeof level = [];
    for (const d of level) {
      const mine = data.get(d.mine)!;
      if (!d.old) {
        forEachTreeEntry(mine, (mode, oid, s, e) => {
          const path = d.prefix + byteString(mine, s, e);
          out.set(path, oid);
          if (isTreeMode(mode)) next.push({ prefix: `${path}/`, old: null, mine: oid });
        });
        continue;
      }
      const theirs = data.get(d.old)!;
      const changed = new Set<string>();
      for (const c of changedEntries(mine, theirs)) {
        const path = d.prefix + c.name;
        changed.add(c.name);
        out.set(path, c.oid);
        // The same kind before: only its own changes; else (a file, or nothing) all of it is new.
        if (c.tree) next.push({ prefix: `${path}/`, old: c.theirs?.oid ?? null, mine: c.oid });
      }
      // Entries gone, or now of the other kind (a file where a directory was, or the reverse).
      for (const c of changedEntries(theirs, mine)) {
        if (c.theirs) continue;
        const path = d.prefix + c.name;
        if (c.tree) removeUnder(`${path}/`);
        if (!changed.has(c.name)) out.delete(path);
      }
    }
    if (out.size > maxPaths) return null;
    level = next;
  }
  return out.size > maxPaths ? null : out;
}

/** Trees of one level of a listing located together (within the store's 4,096 remembered answers). */
const LIST_BATCH = 1024;
/** Trees of a listing read at once. */
const READ_TOGETHER = 16;

/**
 * Every path of a tree (as byte strings) and its object id (directories included). Null past
 * `maxPaths`. Listed level by level, each level's trees located in id order before they are
 * read: a large pack's index is read by ranges through a smaller cache, and ids hash evenly, so
 * one lookup at a time (git/git's 6,600 directories) makes nearly every lookup a storage read.
 */
export async function treePaths(
  graph: CommitGraph,
  root: Oid,
  maxPaths = 200_000,
  locate?: ObjectLocator,
): Promise<Map<string, Oid> | null> {
  const trees = new Trees(graph, undefined, locate);
  const out = new Map<string, Oid>();
  let level = [{ oid: root, prefix: "" }];
  while (level.length > 0) {
    level.sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
    const next: typeof level = [];
    for (let from = 0; from < level.length; from += LIST_BATCH) {
      const batch = level.slice(from, from + LIST_BATCH);
      if (!locate) await graph.store.locateMany(batch.map((t) => t.oid));
      for (let i = 0; i < batch.length; i++) {
        const t = batch[i]!;
        // A group of trees read side by side (each read may wait for storage).
        if (i % READ_TOGETHER === 0) await Promise.all(batch.slice(i, i + READ_TOGETHER).map((u) => trees.data(u.oid)));
        for (const e of await trees.of(t.oid)) {
          const path = t.prefix + e.name;
          out.set(path, e.oid);
          if (out.size > maxPaths) return null;
          if (e.tree) next.push({ oid: e.oid, prefix: `${path}/` });
        }
      }
      await yieldToOthers();
    }
    level = next;
  }
  return out;
}

/** A path of a listing made from a base's answer that is the same at the start as at the base (its id not read). */
export const SAME = "";

/**
 * The start's listing made from a base's stored answer (every path of the base's tree) and the
 * two root trees: only directories whose ids differ are read (a push of one commit: the root and
 * the directories down to what it changed), where listing both trees whole read every directory
 * twice (git/git's shape: 2,200 to 2,600 storage calls for the derive step of one pushed
 * commit). Paths the same at both trees are SAME; `changed` holds the others. Null when a base
 * path cannot be turned back into its bytes (a name that is not UTF-8).
 */
export async function listingAboveBase(
  graph: CommitGraph,
  base: { commit: Oid; paths: Map<string, Oid> },
  startTree: Oid,
  maxPaths: number,
): Promise<{ listing: Map<string, Oid>; changed: Set<string> } | null> {
  const before = new Map<string, Oid>();
  for (const path of base.paths.keys()) {
    if (path.includes("\uFFFD")) return null;
    before.set(byteKey(path), SAME);
  }
  const baseTree = (await graph.commit(base.commit)).tree;
  const listing = await updatedTreePaths(graph.store, before, baseTree, startTree, maxPaths);
  if (!listing) return null;
  const changed = new Set<string>();
  for (const [path, oid] of listing) if (oid !== SAME) changed.add(path);
  return { listing, changed };
}
