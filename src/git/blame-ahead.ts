// Blame's path lookups, and reading ahead of the walk: the file's blob in the parents of the next
// commits down the first parents that may change it, looked up (trees along their delta chains)
// and read before the walk gets there, so that their storage reads overlap the walk's diffs
// instead of each waiting in turn.
import type { BloomKey } from "./bloom";
import type { CommitGraph, CommitInfo } from "./commit-graph";
import type { Oid } from "./oid";
import { oidAtPath } from "./tree-path";

/**
 * Commits the walk is read ahead of. On long70k a cold blame of the long file read 419 windows of
 * the pack, nearly all trees at the commits it diffs, each read waiting for the one before: 432
 * rounds of storage reads in a row, 210 reading 4 commits ahead, 155 with 8 (the same 419 reads).
 */
export const READ_AHEAD = 8;
/** Lookups remembered by root tree and path before the memo starts over. */
const MEMO_MAX = 50_000;
/** Commits a prediction passes by their Bloom filters at most (as many as the walk may). */
const PASS_MAX = 100_000;
/** Predictions' passes remembered (about 150 bytes each) before they start over. */
const PASSES_MAX = 1024;

export class BlameLookups {
  private readonly memo = new Map<string, Promise<Oid | null>>();
  /** Commits the walk is expected to diff next, in order, whose lookups are in flight. */
  private ahead: Oid[] = [];
  private aheadFile = "";
  /**
   * Where the prediction went down the first parents from a commit whose filter rules `aheadFile`
   * out (by that commit): the walk passes from there the same way, and takes the answer (`passFrom`).
   */
  private readonly passes = new Map<Oid, { oid: Oid; passed: number }>();
  /** Lookups started ahead of the walk (for tests and Server-Timing). */
  started = 0;

  constructor(
    private readonly graph: CommitGraph,
    private readonly depth = READ_AHEAD,
  ) {}

  /** The blob at `file` in `commit` (null: no such file), looked up once per root tree and path. */
  async blobAt(commit: Oid, file: string): Promise<Oid | null> {
    const c = await this.graph.commit(commit);
    const key = `${c.tree}:${file}`;
    let hit = this.memo.get(key);
    if (!hit) {
      hit = oidAtPath(this.graph.store, c.tree, file.split("/"));
      if (this.memo.size >= MEMO_MAX) this.memo.clear();
      this.memo.set(key, hit);
    }
    return hit;
  }

  /**
   * From `commit`, whose Bloom filter rules `file` out, down its first parents to the first commit
   * that may change it: `CommitGraph.firstMaybeChanged` from its first parent, passing at most
   * `max`. The prediction went that way already (each of long70k's 69,000 commits the walk passes
   * was passed twice, 180,560 passes in all where the walk alone made 64,976): its answer is taken when it holds within `max`.
   */
  async passFrom(commit: CommitInfo, file: string, keys: BloomKey[], max: number): Promise<{ oid: Oid; passed: number }> {
    const known = file === this.aheadFile ? this.passes.get(commit.oid) : undefined;
    // The prediction counted `commit` itself; one that stopped at its own limit may stop short.
    if (known && known.passed > 0 && known.passed < PASS_MAX && known.passed - 1 <= max)
      return { oid: known.oid, passed: known.passed - 1 };
    return this.graph.firstMaybeChanged(commit.parents[0]!, keys, max);
  }

  /**
   * The walk is about to diff `commit` with its parents for `file`: keeps the lookups (and the
   * versions) of the next commits it will diff if it goes on down the first parents in flight.
   */
  async at(commit: Oid, file: string, keys: BloomKey[]): Promise<void> {
    if (this.depth <= 0) return;
    try {
      await this.predict(commit, file, keys);
    } catch {
      // A guess that failed costs the walk nothing: it reads what it needs itself.
      this.ahead = [];
    }
  }

  private async predict(commit: Oid, file: string, keys: BloomKey[]): Promise<void> {
    const i = file === this.aheadFile ? this.ahead.indexOf(commit) : -1;
    // Off the predicted line (a merge's other side, a rename): predict again from here.
    this.ahead = i >= 0 ? this.ahead.slice(i + 1) : [];
    if (file !== this.aheadFile || this.passes.size >= PASSES_MAX) this.passes.clear();
    this.aheadFile = file;
    let from = this.ahead[this.ahead.length - 1] ?? commit;
    while (this.ahead.length < this.depth) {
      const first = (await this.graph.commit(from)).parents[0];
      if (!first) return;
      // The commit after `from` whose filter may hold the file: the walk's next diff there.
      // Predicted again after the walk left the line (a merge's other side): the same way as before.
      let to = this.passes.get(first);
      if (!to) {
        to = await this.graph.firstMaybeChanged(first, keys, PASS_MAX);
        this.passes.set(first, to);
      }
      const next = to.oid;
      const parents = (await this.graph.commit(next)).parents;
      if (parents.length === 0) return;
      for (const p of parents) {
        this.started++;
        // Failures are the walk's to meet when it asks, if it does.
        this.blobAt(p, file)
          .then((blob) => (blob ? this.graph.store.read(blob) : null))
          .catch(() => {});
      }
      this.ahead.push(next);
      from = next;
    }
  }
}
