// Commit lookups for history walks: parents, root tree and committer time, parsed once per request.
import { GitError } from "./errors";
import type { ObjectStore } from "./object-store";
import { parseCommitLinks, parseTag } from "./objects";
import type { ObjectType, Oid } from "./oid";

export interface CommitInfo {
  oid: Oid;
  tree: Oid;
  parents: Oid[];
  time: number;
}

export class CommitGraph {
  private readonly commits = new Map<Oid, CommitInfo>();

  constructor(readonly store: ObjectStore) {}

  async commit(oid: Oid): Promise<CommitInfo> {
    const hit = this.commits.get(oid);
    if (hit) return hit;
    const obj = await this.store.read(oid);
    if (obj.type !== "commit") throw new GitError("missing_object", `${oid} is a ${obj.type}, not a commit`);
    const info = { oid, ...parseCommitLinks(obj.data) };
    this.commits.set(oid, info);
    return info;
  }

  /** Follows annotated tags down to the object they name; returns the chain of tags walked. */
  async peel(oid: Oid): Promise<{ oid: Oid; type: ObjectType; tags: Oid[] }> {
    const tags: Oid[] = [];
    for (let i = 0; i < 100; i++) {
      const obj = await this.store.read(oid);
      if (obj.type !== "tag") return { oid, type: obj.type, tags };
      tags.push(oid);
      oid = parseTag(obj.data).object;
    }
    throw new GitError("corrupt_pack", "tag chain too long");
  }
}

/** A max-heap of commits by committer time: history walks visit newer commits first. */
export class CommitQueue {
  private readonly heap: CommitInfo[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(c: CommitInfo): void {
    const h = this.heap;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.time >= h[i]!.time) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  pop(): CommitInfo | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.time > h[m]!.time) m = l;
        if (r < h.length && h[r]!.time > h[m]!.time) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}
