// The layout of a commit-graph layer file (see commit-graph-file.ts for how layers are read): a
// header, a fan-out table, the commits' ids sorted with their positions, the commits' records
// parents-first, the extra parents of octopus merges, and the changed-path Bloom filters with
// their end offsets. This module writes a layer; the reader shares its constants.
import { hexInto, type Oid } from "./oid";

export const MAGIC = 0x45464347; // "EFCG"
export const VERSION = 1;
export const HEADER = 20;
export const FANOUT = 256 * 4;
export const LOOK = 24; // id, position in the layer
export const DATA = 60; // id, tree, parent 1, parent 2, generation, time (float64)
/** No parent in this slot. */
export const NONE = 0xffffffff;
/** Parent 2 names a run in the extra-edge list (octopus merges); the last of a run has it too. */
export const EXTRA = 0x80000000;

export interface GraphCommit {
  oid: Oid;
  tree: Oid;
  /** Global positions of the parents in the chain. */
  parents: number[];
  generation: number;
  time: number;
}

/** What a layer holds for one commit, as its builder gives it. */
export interface LayerEntry extends GraphCommit {
  filter: Uint8Array;
}

/** Encodes a layer: `entries` parents-first, positions global, the first at `base`. */
export function encodeLayer(base: number, entries: LayerEntry[]): Uint8Array {
  const n = entries.length;
  const extra: number[] = [];
  let filterBytes = 0;
  for (const e of entries) {
    filterBytes += e.filter.length;
    if (e.parents.length > 2) extra.push(...e.parents.slice(1));
  }
  const lookStart = HEADER + FANOUT;
  const dataStart = lookStart + n * LOOK;
  const extraStart = dataStart + n * DATA;
  const bidxStart = extraStart + extra.length * 4;
  const bdatStart = bidxStart + n * 4;
  const out = new Uint8Array(bdatStart + filterBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC);
  view.setUint32(4, VERSION);
  view.setUint32(8, n);
  view.setUint32(12, base);
  view.setUint32(16, extra.length);
  const ids = new Uint8Array(20);
  const sorted = entries.map((e, i) => ({ oid: e.oid, i })).sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const fanout = new Uint32Array(256);
  sorted.forEach((s, k) => {
    out.set(hexInto(s.oid, ids), lookStart + k * LOOK);
    view.setUint32(lookStart + k * LOOK + 20, s.i);
    fanout[ids[0]!]!++;
  });
  for (let b = 0, sum = 0; b < 256; b++) {
    sum += fanout[b]!;
    view.setUint32(HEADER + b * 4, sum);
  }
  let edge = 0;
  let bdat = 0;
  entries.forEach((e, i) => {
    const at = dataStart + i * DATA;
    out.set(hexInto(e.oid, ids), at);
    out.set(hexInto(e.tree, ids), at + 20);
    view.setUint32(at + 40, e.parents[0] ?? NONE);
    if (e.parents.length > 2) {
      view.setUint32(at + 44, EXTRA | edge);
      for (let k = 1; k < e.parents.length; k++) {
        view.setUint32(extraStart + edge * 4, e.parents[k]! | (k === e.parents.length - 1 ? EXTRA : 0));
        edge++;
      }
    } else view.setUint32(at + 44, e.parents[1] ?? NONE);
    view.setUint32(at + 48, e.generation);
    view.setFloat64(at + 52, e.time);
    out.set(e.filter, bdatStart + bdat);
    bdat += e.filter.length;
    view.setUint32(bidxStart + i * 4, bdat);
  });
  return out;
}
