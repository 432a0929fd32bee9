// Paths inside a commit: resolved by walking tree objects one segment at a time, never as
// filesystem paths, so no segment can climb out of the tree or hide a separator.
import { corruptPack } from "./errors";
import type { ObjectStore } from "./object-store";
import { forEachTreeEntry, isSubmoduleMode, isTreeMode } from "./objects";
import { bytesToHex, type Oid } from "./oid";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A path segment as git allows it in a tree: not empty, no `/`, no NUL, not `.` or `..`. */
function isValidSegment(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0");
}

/**
 * Splits the still percent-encoded tail of a URL into path segments. Returns null for anything
 * a tree cannot hold: bad escapes, encoded slashes, NUL, `.`, `..`, empty segments. One trailing
 * slash is allowed (`dir/`).
 */
export function decodePathSegments(rawSegments: string[]): string[] | null {
  const raw = rawSegments.length > 0 && rawSegments[rawSegments.length - 1] === "" ? rawSegments.slice(0, -1) : rawSegments;
  const out: string[] = [];
  for (const r of raw) {
    let s: string;
    try {
      s = decodeURIComponent(r);
    } catch {
      return null;
    }
    if (!isValidSegment(s)) return null;
    out.push(s);
  }
  return out;
}

export interface PathEntry {
  mode: string;
  oid: Oid;
  type: "tree" | "blob" | "commit";
}

const entryType = (mode: string): PathEntry["type"] => (isTreeMode(mode) ? "tree" : isSubmoduleMode(mode) ? "commit" : "blob");

/**
 * The entry named `name` (bytes compared exactly) in a tree object's data, or null. Only the match's
 * mode and id are decoded: a history walk looks a name up in thousands of trees, and decoding every
 * entry's (forEachTreeEntry) made most of blame's garbage after its diffs.
 */
function findTreeEntry(tree: Uint8Array, name: string): { mode: string; oid: Oid } | null {
  const want = encoder.encode(name);
  for (let p = 0; p < tree.length; ) {
    let sp = p;
    while (sp < tree.length && tree[sp] !== 0x20) sp++;
    let nul = sp + 1;
    while (nul < tree.length && tree[nul] !== 0) nul++;
    if (nul + 21 > tree.length) throw corruptPack("truncated tree entry");
    if (nul - sp - 1 === want.length && sameBytes(tree, sp + 1, want)) {
      let mode = "";
      for (let i = p; i < sp; i++) mode += String.fromCharCode(tree[i]!);
      return { mode, oid: bytesToHex(tree, nul + 1, nul + 21) };
    }
    p = nul + 21;
  }
  return null;
}

const sameBytes = (data: Uint8Array, at: number, want: Uint8Array): boolean => {
  for (let i = 0; i < want.length; i++) if (data[at + i] !== want[i]) return false;
  return true;
};

/**
 * What `segments` names under `root` (a tree id): a tree, a blob, or a submodule commit; null
 * when any segment is missing or passes through something that is not a tree.
 */
export async function resolvePath(store: ObjectStore, root: Oid, segments: string[]): Promise<PathEntry | null> {
  let current: PathEntry = { mode: "40000", oid: root, type: "tree" };
  for (const name of segments) {
    if (current.type !== "tree" || !isValidSegment(name)) return null;
    const data = await store.readTyped(current.oid, "tree");
    const next = findTreeEntry(data, name);
    if (!next) return null;
    current = { ...next, type: entryType(next.mode) };
  }
  return current;
}

/**
 * Just the object id at `segments` (used by history walks, which compare ids commit by commit).
 * `memo` (one per path) keeps the answer for every tree passed on the way: commits next to each
 * other share most of those trees, so a walk reads only the ones that changed.
 */
export async function oidAtPath(
  store: ObjectStore,
  root: Oid,
  segments: string[],
  memo?: Map<string, Oid | null>,
): Promise<Oid | null> {
  const passed: string[] = [];
  let oid: Oid | null = root;
  for (let i = 0; i < segments.length && oid !== null; i++) {
    const key = `${i}:${oid}`;
    const known = memo?.get(key);
    if (known !== undefined) {
      oid = known;
      break;
    }
    passed.push(key);
    const data = await store.readTyped(oid, "tree");
    const next = findTreeEntry(data, segments[i]!);
    oid = next && (i === segments.length - 1 || isTreeMode(next.mode)) ? next.oid : null;
  }
  if (memo) for (const key of passed) memo.set(key, oid);
  return oid;
}

/**
 * `oidAtPath` for many roots at once, level by level: the distinct trees of a level are read side
 * by side (one round of storage reads a level, not one a tree), with the same memo and answers.
 */
export async function oidsAtPath(
  store: ObjectStore,
  roots: readonly Oid[],
  segments: string[],
  memo: Map<string, Oid | null>,
): Promise<(Oid | null)[]> {
  const at: (Oid | null)[] = [...roots];
  const open = roots.map(() => true);
  const passed: string[][] = roots.map(() => []);
  for (let i = 0; i < segments.length; i++) {
    const need = new Set<Oid>();
    for (let k = 0; k < at.length; k++) {
      const oid = at[k] ?? null;
      if (!open[k] || oid === null) continue;
      const known = memo.get(`${i}:${oid}`);
      if (known !== undefined) {
        at[k] = known;
        open[k] = false;
      } else {
        passed[k]!.push(`${i}:${oid}`);
        need.add(oid);
      }
    }
    if (need.size === 0) break;
    const wanted = [...need];
    const trees = await Promise.all(wanted.map((oid) => store.readTyped(oid, "tree")));
    const found = new Map(wanted.map((oid, n) => [oid, findTreeEntry(trees[n]!, segments[i]!)]));
    for (let k = 0; k < at.length; k++) {
      if (!open[k] || at[k] === null) continue;
      const next = found.get(at[k]!);
      at[k] = next && (i === segments.length - 1 || isTreeMode(next.mode)) ? next.oid : null;
    }
  }
  for (let k = 0; k < at.length; k++) for (const key of passed[k]!) memo.set(key, at[k]!);
  return at;
}

export interface NamedEntry {
  name: string;
  mode: string;
  oid: Oid;
  type: PathEntry["type"];
}

/** A tree's entries as stored (git order), names decoded as UTF-8. */
export async function listTree(store: ObjectStore, tree: Oid): Promise<NamedEntry[]> {
  const data = await store.readTyped(tree, "tree");
  const out: NamedEntry[] = [];
  forEachTreeEntry(data, (mode, oid, s, e) =>
    out.push({ name: decoder.decode(data.subarray(s, e)), mode, oid, type: entryType(mode) }),
  );
  return out;
}

/** Directories first, then files, each by name: the order people expect in a listing. */
export function listingOrder(entries: NamedEntry[]): NamedEntry[] {
  const rank = (e: NamedEntry) => (e.type === "tree" ? 0 : e.type === "commit" ? 1 : 2);
  return [...entries].sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
