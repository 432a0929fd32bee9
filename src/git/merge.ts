// Merges for the forge's own merge button: a three-way merge of trees at file level (a path both
// sides changed differently is a conflict; no line-level merge), the merge commit's text, and a
// small pack of the new objects so that the merge can be pushed like any other push.
import { encodeEntryHeader, packHeader, typeNumber } from "./pack-format";
import type { ObjectStore } from "./object-store";
import { forEachTreeEntry, isTreeMode } from "./objects";
import { hashObject, hexToBytes, sha1, type ObjectType, type Oid } from "./oid";
import { deflate } from "./zlib";

export interface NewObject {
  type: ObjectType;
  data: Uint8Array;
  oid: Oid;
}

interface Entry {
  mode: string;
  oid: Oid;
}

export interface TreeMerge {
  /** The merged root tree (null when there are conflicts). */
  tree: Oid | null;
  /** Paths both sides changed differently (a directory when a file and a directory meet), sorted. */
  conflicts: string[];
  /** Trees the merge made, which the repository does not have yet. */
  objects: NewObject[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function entriesOf(store: ObjectStore, tree: Oid | null): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  if (!tree) return out;
  const data = await store.readTyped(tree, "tree");
  forEachTreeEntry(data, (mode, oid, s, e) => out.set(decoder.decode(data.subarray(s, e)), { mode, oid }));
  return out;
}

const same = (a: Entry | undefined, b: Entry | undefined) => (!a && !b) || (!!a && !!b && a.mode === b.mode && a.oid === b.oid);
const isTree = (e: Entry | undefined) => !!e && isTreeMode(e.mode);

/** A tree object of entries, in git's order (a tree's name sorts as if it ended in "/"). */
export function treeObject(entries: Map<string, Entry>): NewObject {
  const key = (name: string, e: Entry) => (isTreeMode(e.mode) ? `${name}/` : name);
  const names = [...entries.keys()].sort((a, b) => {
    const ka = encoder.encode(key(a, entries.get(a)!));
    const kb = encoder.encode(key(b, entries.get(b)!));
    const n = Math.min(ka.length, kb.length);
    for (let i = 0; i < n; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return ka.length - kb.length;
  });
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const name of names) {
    const e = entries.get(name)!;
    const head = encoder.encode(`${isTreeMode(e.mode) ? "40000" : e.mode} ${name}\0`);
    parts.push(head, hexToBytes(e.oid));
    size += head.length + 20;
  }
  const data = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  return { type: "tree", data, oid: hashObject("tree", data) };
}

/**
 * Merges the changes from `base` to `theirs` into `ours` (root trees; `base` null: no common
 * history). Each path takes the side that changed it; a path both changed to different results
 * is a conflict. Trees are compared by id, so only directories both sides touched are read.
 */
export async function mergeTrees(store: ObjectStore, base: Oid | null, ours: Oid, theirs: Oid): Promise<TreeMerge> {
  const conflicts: string[] = [];
  const objects: NewObject[] = [];
  const merge = async (b: Oid | null, o: Oid | null, t: Oid | null, prefix: string): Promise<Oid | null> => {
    const [be, oe, te] = await Promise.all([entriesOf(store, b), entriesOf(store, o), entriesOf(store, t)]);
    const names = new Set([...be.keys(), ...oe.keys(), ...te.keys()]);
    const out = new Map<string, Entry>();
    for (const name of names) {
      const x = be.get(name);
      const y = oe.get(name);
      const z = te.get(name);
      let result: Entry | undefined;
      if (same(y, z) || same(x, z)) result = y;
      else if (same(x, y)) result = z;
      else if ((isTree(y) || !y) && (isTree(z) || !z) && (isTree(y) || isTree(z))) {
        // Both sides changed inside a directory (or one removed it): merge what is in it.
        const sub = await merge(isTree(x) ? x!.oid : null, y?.oid ?? null, z?.oid ?? null, `${prefix}${name}/`);
        result = sub ? { mode: "40000", oid: sub } : undefined;
      } else {
        conflicts.push(`${prefix}${name}`);
        continue;
      }
      if (result) out.set(name, result);
    }
    if (out.size === 0) return null;
    const tree = treeObject(out);
    // Two directories may merge to the same tree: the pack holds each object once.
    if (tree.oid !== o && tree.oid !== t && !objects.some((x) => x.oid === tree.oid)) objects.push(tree);
    return tree.oid;
  };
  const root = await merge(base, ours, theirs, "");
  conflicts.sort();
  if (conflicts.length) return { tree: null, conflicts, objects: [] };
  if (root === null) {
    const empty = treeObject(new Map());
    objects.push(empty);
    return { tree: empty.oid, conflicts, objects };
  }
  return { tree: root, conflicts, objects };
}

export interface Person {
  name: string;
  email: string;
  /** Epoch seconds. */
  time: number;
  /** git's zone ("+0100"; default +0000). */
  tz?: string;
}

/** A commit object (the committer is the author unless named: a patch applied by someone else). */
export function commitObject(tree: Oid, parents: Oid[], who: Person, message: string, committer: Person = who): NewObject {
  const clean = (s: string) => s.replace(/[<>\n\r]/g, "").trim() || "unknown";
  const sig = (p: Person) =>
    `${clean(p.name)} <${clean(p.email)}> ${Math.floor(p.time)} ${/^[+-]\d{4}$/.test(p.tz ?? "") ? p.tz : "+0000"}`;
  const text = [
    `tree ${tree}`,
    ...parents.map((p) => `parent ${p}`),
    `author ${sig(who)}`,
    `committer ${sig(committer)}`,
    "",
    message.replace(/\s+$/, ""),
  ];
  const data = encoder.encode(`${text.join("\n")}\n`);
  return { type: "commit", data, oid: hashObject("commit", data) };
}

/** A pack of whole (undeltified) objects, with its trailing checksum: a few objects at most here. */
export function smallPack(objects: NewObject[]): Uint8Array {
  const parts: Uint8Array[] = [packHeader(objects.length)];
  for (const o of objects) parts.push(encodeEntryHeader(typeNumber(o.type), o.data.length), deflate(o.data));
  const size = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(size + 20);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  out.set(new Uint8Array(sha1().update(out.subarray(0, size)).digest()), size);
  return out;
}
