// Connectivity of a received pack, from the links its objects carry (collected while indexing):
// every object they name, and every new ref value, must be in the pack or already in the
// repository (which is connected: every pack was checked when it arrived).
import { bytesToHex, hexToBytes, type Oid } from "./oid";
import { OidSet } from "./oid-set";
import type { PackIndex } from "./pack-index";
import { Pacer } from "../utils/pace";

/** Index lookups (a binary search each) between two yields: a few ms of work. */
const LOOKUPS_PER_SLICE = 8192;

/**
 * The first id among `tips` and `links` that neither `has` (the received pack, asked synchronously)
 * nor `elsewhere` (the repository, asked once for all the rest: it answers which it has) knows,
 * or null. Only links out of the pack reach `elsewhere`, so the batch is small next to the pack.
 */
export async function findMissing(
  links: OidSet,
  tips: Oid[],
  has: (oid: Uint8Array) => boolean,
  elsewhere: (oids: Oid[]) => Promise<Oid[]> = async () => [],
): Promise<Oid | null> {
  const outside = new Set<Oid>();
  for (const tip of tips) if (!has(hexToBytes(tip))) outside.add(tip);
  // Hundreds of thousands of lookups for a large pack: in slices, so other requests get turns.
  const pacer = new Pacer(LOOKUPS_PER_SLICE);
  for (const oid of links.values()) {
    if (!has(oid)) outside.add(bytesToHex(oid));
    const paused = pacer.tick();
    if (paused) await paused;
  }
  if (outside.size === 0) return null;
  const present = new Set(await elsewhere([...outside]));
  for (const oid of outside) if (!present.has(oid)) return oid;
  return null;
}

/**
 * True when the pack holds exactly what `tips` reach. With connectivity established, an object no
 * other object links to and that is no tip is unreachable; in a DAG, if none is like that, all are
 * reachable. So: every object of the pack is a tip or linked.
 */
export async function isClosure(pack: PackIndex, links: OidSet, tips: Iterable<Oid>): Promise<boolean> {
  const tipSet = new OidSet();
  for (const tip of tips) tipSet.add(hexToBytes(tip));
  // Over the index's ids as bytes: no string per object; in slices, as findMissing.
  const pacer = new Pacer(LOOKUPS_PER_SLICE);
  for (let i = 0; i < pack.count; i++) {
    const oid = pack.oidBytesAt(i);
    if (!tipSet.has(oid) && !links.has(oid)) return false;
    const paused = pacer.tick();
    if (paused) await paused;
  }
  return true;
}
