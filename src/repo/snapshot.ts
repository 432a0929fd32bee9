// What a repository's Durable Object hands out: its refs, HEAD and catalog of packs (types only,
// shared by the object and its compaction without importing each other).
export interface PackEntry {
  name: string;
  objects: number;
  bytes: number;
  createdAt: number;
  /** Hash of the sorted ref tips whose closure is exactly this pack's objects (clone fast path). */
  closure?: string | null;
}

export interface RefEntry {
  name: string;
  oid: string;
  /** What an annotated tag finally points at. */
  peeled?: string | null;
}

export interface RepoSnapshot {
  /** Increases with every committed change; caches of refs are validated against it. */
  version: number;
  /** The ref HEAD points at (e.g. refs/heads/main), whether or not that ref exists yet. */
  head: string;
  refs: RefEntry[];
  packs: PackEntry[];
  /**
   * Bumped by every purge (compaction on demand): caches of things addressed by object id carry
   * it in their keys, so nothing cached before a purge is served after it.
   */
  purges?: number;
}
