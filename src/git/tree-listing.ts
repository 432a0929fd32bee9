// A whole tree's listing (path -> id, directories included, paths as byte strings as treePaths in
// last-commit.ts gives them) brought up to date from an older tree's listing: only directories
// whose ids differ are read, so consecutive last-commit checkpoints of a large tree (git/git's
// 6,600 directories) cost the directories their commits changed, not the whole tree again.
import type { ObjectStore } from "./object-store";
import { forEachTreeEntry, isTreeMode } from "./objects";
import type { Oid } from "./oid";
import { byteString, changedEntries } from "./tree-changes";

const EMPTY = new Uint8Array(0);

/** Work items of one level located and read together (as treePaths in last-commit.ts does). */
const LEVEL_BATCH = 512;
/** Trees read at once. */
const READ_TOGETHER = 16;

type Item = { prefix: string; old: Oid; now: Oid } | { prefix: string; add: Oid };

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
  // Level by level, each batch's trees located in id order first and then read side by side: a
  // large pack's index is read by ranges, and one lookup at a time makes nearly each a storage read.
  let level: Item[] = oldRoot === newRoot ? [] : [{ prefix: "", old: oldRoot, now: newRoot }];
  while (level.length > 0) {
    const next: Item[] = [];
    for (let from = 0; from < level.length; from += LEVEL_BATCH) {
      const batch = level.slice(from, from + LEVEL_BATCH);
      const ids = [...new Set(batch.flatMap((t) => ("add" in t ? [t.add] : [t.old, t.now])))].sort();
      await store.locateMany(ids);
      const data = new Map<Oid, Uint8Array>();
      for (let i = 0; i < ids.length; i += READ_TOGETHER) {
        const group = ids.slice(i, i + READ_TOGETHER);
        const objs = await Promise.all(group.map((id) => store.read(id)));
        for (const [k, id] of group.entries()) data.set(id, objs[k]!.type === "tree" ? objs[k]!.data : EMPTY);
      }
      for (const t of batch) {
        if ("add" in t) {
          const d = data.get(t.add)!;
          forEachTreeEntry(d, (mode, oid, s, e) => {
            const path = t.prefix + byteString(d, s, e);
            out.set(path, oid);
            if (isTreeMode(mode)) next.push({ prefix: `${path}/`, add: oid });
          });
          continue;
        }
        const mine = data.get(t.now)!;
        const theirs = data.get(t.old)!;
        const changed = new Set<string>();
        for (const c of changedEntries(mine, theirs)) {
          const path = t.prefix + c.name;
          changed.add(c.name);
          out.set(path, c.oid);
          if (!c.tree) continue;
          // The same kind before: only its own changes; else (a file, or nothing) all of it is new.
          next.push(c.theirs ? { prefix: `${path}/`, old: c.theirs.oid, now: c.oid } : { prefix: `${path}/`, add: c.oid });
        }
        // Entries gone, or now of the other kind (a file where a directory was, or the reverse).
        for (const c of changedEntries(theirs, mine)) {
          if (c.theirs) continue;
          const path = t.prefix + c.name;
          if (c.tree) removeUnder(`${path}/`);
          if (!changed.has(c.name)) out.delete(path);
        }
      }
    }
    level = next;
  }
  return out.size > maxPaths ? null : out;
}
