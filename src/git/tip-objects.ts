// The objects ref tips name, seen as a pack is indexed (IndexOptions.wanted/onWanted): their types,
// and what a tag points at, so that refs are peeled without reading their objects again. On a
// 900,000-object import, reading 992 tips back by random reads (each through the ranged index
// and the window caches) made some 190 MiB of garbage buffers in the push isolate.
import type { CommitGraph } from "./commit-graph";
import { parseTag } from "./objects";
import { bytesToHex, hexToBytes, type ObjectType, type Oid } from "./oid";
import { OidSet } from "./oid-set";

export class TipObjects {
  readonly wanted: OidSet;
  private readonly seen = new Map<Oid, { type: ObjectType; tagged: { oid: Oid; type: string } | null }>();

  constructor(tips: Iterable<Oid>) {
    const list = [...tips];
    this.wanted = new OidSet(list.length);
    for (const oid of list) this.wanted.add(hexToBytes(oid));
  }

  /** For IndexOptions.onWanted. */
  readonly onWanted = (id: Uint8Array, type: ObjectType, data: Uint8Array | null): void => {
    const tag = type === "tag" && data ? parseTag(data) : null;
    this.seen.set(bytesToHex(id), { type, tagged: tag && { oid: tag.object, type: tag.type } });
  };

  /** The pack has the object. */
  has(oid: Oid): boolean {
    return this.seen.has(oid);
  }

  /**
   * What `graph.peel` answers, from what was seen when that suffices: a tip outside the pack, or a
   * tag of a tag (rare), is read through the graph.
   */
  async peel(oid: Oid, graph: CommitGraph): Promise<{ oid: Oid; type: ObjectType; tags: Oid[] }> {
    const tip = this.seen.get(oid);
    if (!tip || tip.tagged?.type === "tag") return graph.peel(oid);
    if (!tip.tagged) return { oid, type: tip.type, tags: [] };
    return { oid: tip.tagged.oid, type: tip.tagged.type as ObjectType, tags: [oid] };
  }
}
