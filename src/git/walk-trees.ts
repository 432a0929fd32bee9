// Tree data by id for one last-commit walk (most trees are shared by many commits), and reading
// ahead: the trees a commit's comparison with its parents will read, fetched side by side for the
// next commits while the walk compares this one (each read may wait for storage).
import type { CommitGraph } from "./commit-graph";
import type { Location } from "./object-store";
import { forEachTreeEntry, isTreeMode } from "./objects";
import type { Oid } from "./oid";
import { byteString, changedEntries, type Entry } from "./tree-changes";

const EMPTY = new Uint8Array(0);
/** Trees remembered by one walk (a large commit's comparison reads a few dozen). */
const MEMO = 4096;

/** Where an object is, answered from memory (a pack id table, git/pack-id-table.ts) instead of the ranged index. */
export type ObjectLocator = (oid: Oid) => Promise<Location | null>;

export class Trees {
  private readonly memo = new Map<Oid, Promise<Uint8Array>>();
  constructor(
    private readonly graph: CommitGraph,
    private readonly stats?: { trees: number },
    private readonly locate?: ObjectLocator,
  ) {}

  private read(tree: Oid): Promise<Uint8Array> {
    const store = this.graph.store;
    // Through the locator: no ranged index lookup, and no turn of the store's (its caller paces itself).
    const obj = this.locate
      ? this.locate(tree).then((at) => (at ? store.readAt(at.pack, at.offset) : store.read(tree)))
      : store.read(tree);
    return obj.then((o) => (o.type === "tree" ? o.data : EMPTY));
  }

  data(tree: Oid | null): Promise<Uint8Array> {
    if (!tree) return Promise.resolve(EMPTY);
    let hit = this.memo.get(tree);
    if (!hit) {
      if (this.stats) this.stats.trees++;
      hit = this.read(tree);
      // A read ahead that fails is reported by the comparison that awaits it, not as unhandled.
      hit.catch(() => undefined);
      if (this.memo.size >= MEMO) this.memo.clear();
      this.memo.set(tree, hit);
    }
    return hit;
  }

  async of(tree: Oid | null): Promise<Entry[]> {
    const data = await this.data(tree);
    const list: Entry[] = [];
    forEachTreeEntry(data, (mode, oid, s, e) => list.push({ name: byteString(data, s, e), oid, tree: isTreeMode(mode) }));
    return list;
  }

  /**
   * Reads (into the memo) every tree a comparison of `mine` with `theirs` (one tree per parent)
   * may read: both sides of each directory that differs, all the way down. Never throws.
   */
  async readAhead(mine: Oid, theirs: (Oid | null)[]): Promise<void> {
    try {
      const [data, ...others] = await Promise.all([this.data(mine), ...theirs.map((t) => this.data(t))]);
      const below = new Map<string, { oid: Oid; theirs: (Oid | null)[] }>();
      others.forEach((other, i) => {
        for (const c of changedEntries(data!, other)) {
          if (!c.tree) continue;
          let sub = below.get(c.name);
          if (!sub) below.set(c.name, (sub = { oid: c.oid, theirs: theirs.map(() => c.oid as Oid | null) }));
          sub.theirs[i] = c.theirs?.tree ? c.theirs.oid : null;
        }
      });
      await Promise.all([...below.values()].map((s) => this.readAhead(s.oid, s.theirs)));
    } catch {
      // The comparison reads it again and reports what went wrong.
    }
  }
}
