// A whole tree's listing (path -> id, directories included, paths as byte strings as treePaths in
// last-commit.ts gives them) brought up to date from an older tree's listing: only directories
// whose ids differ are read, so consecutive last-commit checkpoints of a large tree (git/git's
// 6,600 directories) cost the directories their commits changed, not the whole tree again.
import type { ObjectStore } from "./object-store";
import { forEachTreeEntry, isTreeMode } from "./objects";
import type { Oid } from "./oid";
import { byteString, changedEntries } from "./tree-changes";

const EMPTY = new Uint8Array(0);

export async function updatedTreePaths(
  store: ObjectStore,
  before: Map<string, Oid>,
  oldRoot: Oid,
  newRoot: Oid,
  maxPaths: number,
): Promise<Map<string, Oid> | null> {
  const out = new Map(before);
  const read = async (oid: Oid) => {
    const o = await store.read(oid);
    return o.type === "tree" ? o.data : EMPTY;
  };
  const removeUnder = (prefix: string) => {
    for (const key of [...out.keys()]) if (key.startsWith(prefix)) out.delete(key);
  };
  const addAll = async (prefix: string, tree: Oid) => {
    const data = await read(tree);
    const below: [string, Oid][] = [];
    forEachTreeEntry(data, (mode, oid, s, e) => {
      const path = prefix + byteString(data, s, e);
      out.set(path, oid);
      if (isTreeMode(mode)) below.push([path, oid]);
    });
    for (const [path, oid] of below) await addAll(`${path}/`, oid);
  };
  const update = async (prefix: string, oldTree: Oid, newTree: Oid) => {
    const [mine, theirs] = await Promise.all([read(newTree), read(oldTree)]);
    const changed = new Set<string>();
    for (const c of changedEntries(mine, theirs)) {
      const path = prefix + c.name;
      changed.add(c.name);
      out.set(path, c.oid);
      if (!c.tree) continue;
      // The same kind before: only its own changes; else (a file, or nothing) all of it is new.
      if (c.theirs) await update(`${path}/`, c.theirs.oid, c.oid);
      else await addAll(`${path}/`, c.oid);
    }
    // Entries gone, or now of the other kind (a file where a directory was, or the reverse).
    for (const c of changedEntries(theirs, mine)) {
      if (c.theirs) continue;
      const path = prefix + c.name;
      if (c.tree) removeUnder(`${path}/`);
      if (!changed.has(c.name)) out.delete(path);
    }
  };
  if (oldRoot !== newRoot) await update("", oldRoot, newRoot);
  return out.size > maxPaths ? null : out;
}
