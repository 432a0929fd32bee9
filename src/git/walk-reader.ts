// A compaction walk's own reads of commits and trees: through a few MiB of pack windows and a
// slab of its own (the commit-graph build's readers), not the isolate's shared caches.
import { BuildPackReader } from "./commit-graph-pack";
import { BuildTreeReader } from "./commit-graph-trees";
import { GitError } from "./errors";
import type { GitObject, ObjectStore } from "./object-store";
import type { Oid } from "./oid";

/**
 * Windows of the walk's packs, shared by size: git/git's trees and commits lie all over its one
 * large pack, and its delta chains come back to the same bases.
 */
export const WALK_WINDOW_BYTES = 8 * 1024 * 1024;
/**
 * The walk reads most of a large pack's windows (on big.git, 6,653 of 64 KiB for its 538 MiB):
 * a storage request costs about the same for 256 KiB, so fewer larger ones.
 */
export const WALK_WINDOW = 256 * 1024;
/** The slab its commits and trees are resolved into (a ring: delta bases stay while it holds them). */
export const WALK_SLAB_BYTES = 4 * 1024 * 1024;

/**
 * Reads every commit and tree a compaction walks, once each. Through the shared caches (24 MiB
 * of windows and 16 MiB of resolved objects, an array buffer each) such a walk of git/git's
 * 900,000 objects filled both with what the compaction retires next, and every eviction left a
 * dead buffer: that was most of the push isolate's array buffers at the walk's peak. Here the
 * windows are slots of one buffer and objects views of one slab: held bytes stay fixed, and no
 * buffer is made per read. An object's data is valid until the next read.
 */
export class WalkReader {
  readonly packs: BuildPackReader;
  private readonly objects: BuildTreeReader;

  constructor(
    private readonly store: ObjectStore,
    windowBytes = WALK_WINDOW_BYTES,
    slabBytes = WALK_SLAB_BYTES,
  ) {
    this.packs = new BuildPackReader(store, windowBytes, true, WALK_WINDOW);
    this.objects = new BuildTreeReader(store, slabBytes, this.packs);
  }

  /** For `CommitGraph`'s reader: the object's data is a view of the slab, valid until the next read. */
  readonly read = async (oid: Oid): Promise<GitObject> => {
    const at = await this.store.locate(oid);
    if (!at) throw new GitError("missing_object", `object ${oid} is missing`);
    return this.objects.readAt(at.pack, at.offset);
  };

  /** Bytes held in buffers (windows, slab, scratch). */
  get heldBytes(): number {
    return this.objects.heldBytes;
  }

  /**
   * The reader's buffers (windows and slab), largest first, for the compaction's writer to fill:
   * allocated anew beside them, they were garbage the moment the writer's own were made (the
   * sampled peak of big.git's compaction was at that hand-over). Not used to read again.
   */
  release(): Uint8Array[] {
    return this.objects.release();
  }

  /** Storage reads made. */
  get reads(): number {
    return this.packs.reads;
  }
}
