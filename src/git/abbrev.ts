// Abbreviated object ids: the objects whose id starts with a hex prefix, found in the pack indexes.
import type { ObjectStore } from "./object-store";
import type { Oid } from "./oid";

/** Up to `max` ids starting with `prefix` (lowercase hex, at least 4 digits). */
export function findByPrefix(store: ObjectStore, prefix: string, max = 2): Oid[] {
  if (!/^[0-9a-f]{4,40}$/.test(prefix)) return [];
  const found = new Set<Oid>();
  for (const pack of store.packs) {
    const index = pack.index;
    let lo = 0;
    let hi = index.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (index.oidAt(mid) < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < index.count && found.size < max; i++) {
      const oid = index.oidAt(i);
      if (!oid.startsWith(prefix)) break;
      found.add(oid);
    }
  }
  return [...found].slice(0, max);
}
