// Connectivity of a push: everything reachable from the new ref values must exist. Objects the
// repository already had are connected already (every pack was checked when it arrived), so the
// walk only reads objects that are new.
import { GitError } from "./errors";
import type { ObjectStore } from "./object-store";
import { forEachTreeEntry, isSubmoduleMode, parseCommitLinks, parseTag } from "./objects";
import type { ObjectType, Oid } from "./oid";

export async function checkConnected(store: ObjectStore, isOld: (oid: Oid) => boolean, tips: Oid[]): Promise<number> {
  const seen = new Set<Oid>();
  const stack: Oid[] = [...tips];
  while (stack.length) {
    const oid = stack.pop()!;
    if (seen.has(oid) || isOld(oid)) continue;
    seen.add(oid);
    if (!store.has(oid)) throw new GitError("missing_object", `missing necessary object ${oid}`);
    const obj = await store.read(oid);
    push(obj.type, obj.data);
  }
  return seen.size;

  function push(type: ObjectType, data: Uint8Array): void {
    if (type === "commit") {
      const c = parseCommitLinks(data);
      stack.push(c.tree, ...c.parents);
    } else if (type === "tree") {
      forEachTreeEntry(data, (mode, oid) => {
        if (!isSubmoduleMode(mode)) stack.push(oid);
      });
    } else if (type === "tag") {
      stack.push(parseTag(data).object);
    }
  }
}
