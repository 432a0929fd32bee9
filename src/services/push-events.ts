// What the push worker tells the edge worker's queue consumer about a push that landed: one
// message per push (or per part of a large one), consumed by services/post-push.ts.
import type { Oid } from "../git/oid";

export interface PushedEvent {
  tenantId: string;
  repoId: string;
  pusher: string;
  /** The ref updates that landed (this part's share of them when the push is split). */
  updates: { name: string; old: Oid; new: Oid }[];
  at: string;
  /**
   * A push too large for one queue message goes as several: which one this is, and how many refs
   * the whole push updated. Absent when the push fits one message.
   */
  part?: { id: string; index: number; count: number; refs: number };
  /**
   * Tips of the branches the push left alone, as they were before it: their history was known
   * before the push, whatever landed since. Absent from events queued by older versions.
   */
  known?: Oid[];
}
