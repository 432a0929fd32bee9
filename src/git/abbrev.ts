// Abbreviated object ids: the objects whose id starts with a hex prefix, found in the pack indexes.
import type { ObjectStore } from "./object-store";
import { hashObject, type Oid } from "./oid";

/** Up to `max` ids starting with `prefix` (lowercase hex, at least 4 digits). */
export async function findByPrefix(store: ObjectStore, prefix: string, max = 2): Promise<Oid[]> {
  if (!/^[0-9a-f]{4,40}$/.test(prefix)) return [];
  // A whole id: where the store's lookups (maybe an id table in memory) put it, checked against
  // the object's own hash there (no search of the index's names); else the indexes decide.
  if (prefix.length === 40) {
    const at = await store.locate(prefix);
    if (!at) return [];
    const obj = await store.readAt(at.pack, at.offset);
    if (hashObject(obj.type, obj.data) === prefix) return [prefix];
  }
  const found = new Set<Oid>();
  for (const pack of store.packs) {
    for (const oid of await pack.index.findByPrefix(prefix, max)) found.add(oid);
    if (found.size >= max) break;
  }
  return [...found].slice(0, max);
}
