// What the pack indexer (git/pack-indexer.ts) is given and gives back.
import type { GitObject } from "./object-store";
import type { ObjectType, Oid } from "./oid";
import type { SpillStore } from "./spill";
import type { OidSet } from "./oid-set";

export interface IndexResult {
  /** Trailer checksum of the pack: its name is pack-<checksum>. */
  checksum: Oid;
  count: number;
  /** The .idx (version 2) bytes: also the list of the pack's objects (PackIndex reads them). */
  index: Uint8Array;
  /** Bases of REF_DELTA entries that are not in the pack (a thin pack), in id order. */
  missingBases: Oid[];
  /**
   * Every delta's base is in the pack, before it: clients may be sent the pack as it is (some,
   * isomorphic-git among them, miscount objects when a REF_DELTA's base comes later).
   */
  basesFirst: boolean;
}

/** What indexPackTo returns: the .idx went to the writer. */
export interface StreamedIndexResult extends Omit<IndexResult, "index"> {
  indexSize: number;
  /** The most the indexer held at once in its own buffers (columns, arena, records), in bytes. */
  peakHeldBytes: number;
  /** Sorted runs of .idx records spilled (0 when they fitted in the budget). */
  spilledRuns: number;
  /** Storage reads of the second pass (its windows, and entries too large for them). */
  secondPassReads: number;
  /** Bytes of the first pass's read buffer at its largest (handed on to the second pass's windows). */
  readBufferBytes: number;
}

export interface IndexOptions {
  /** Objects outside the pack that thin deltas may use as bases; null when absent. */
  external?: (oid: Oid) => Promise<GitObject | null>;
  onProgress?: (done: number, total: number) => void;
  /**
   * Sees every object of the pack once, whole (e.g. to collect what it links to), but blobs over
   * 256 KiB, which are only hashed, in pieces (nothing links from a blob).
   */
  onObject?: (type: ObjectType, data: Uint8Array) => void;
  /**
   * Ids (ref tips) whose objects `onWanted` is shown, with their ids, as they are hashed (blobs over
   * 256 KiB without their data): what a caller would otherwise read again by random reads, each
   * through the index and the window caches (992 tips of a 900,000-object import made 190 MiB of
   * garbage reads that way).
   */
  wanted?: OidSet;
  onWanted?: (id: Uint8Array, type: ObjectType, data: Uint8Array | null) => void;
}

export interface StreamOptions extends IndexOptions {
  /** Receives the .idx in order, in chunks valid until the promise it returns resolves (copy to keep). */
  writeIndex: (chunk: Uint8Array) => Promise<void>;
  /**
   * Given the second pass's read buffer (the first pass's, 8 MiB for a large pack) once the pass is
   * done with it, before the .idx is written: the .idx writer may take it as its part buffer
   * rather than make one (storage/r2-writer.ts `adopt`). Nothing of the indexer uses it after.
   */
  spareBuffer?: (bytes: Uint8Array) => void;
  /** Where sorted runs of .idx records go past `recordBudget`; deleted before indexPackTo returns or throws. */
  spill?: SpillStore;
  recordBudget?: number;
}
