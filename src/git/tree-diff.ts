// Tree diffs between two trees: added, deleted, modified, type-changed and renamed paths (exact renames only).
import type { ObjectStore } from "./object-store";
import { forEachTreeEntry, isSubmoduleMode, isTreeMode } from "./objects";
import type { Oid } from "./oid";
import { prefetchObjects } from "./pack-prefetch";

export type ChangeStatus = "A" | "D" | "M" | "T" | "R";

export interface TreeChange {
  status: ChangeStatus;
  path: string;
  /** For renames: where the file was. */
  oldPath?: string;
  oldMode?: string;
  newMode?: string;
  oldOid?: Oid;
  newOid?: Oid;
}

const decoder = new TextDecoder();

interface RawEntry {
  name: Uint8Array;
  mode: string;
  oid: Oid;
  tree: boolean;
}

function parseEntries(data: Uint8Array): RawEntry[] {
  const out: RawEntry[] = [];
  forEachTreeEntry(data, (mode, oid, s, e) => out.push({ name: data.subarray(s, e), mode, oid, tree: isTreeMode(mode) }));
  return out;
}

/** Tree bytes a diff reads ahead of its walk; past this it reads the rest as it walks. */
const READ_AHEAD_BYTES = 8 * 1024 * 1024;
/**
 * How a diff's trees are filled ahead (git/pack-prefetch.ts): a tree at an old commit is a chain
 * of up to 50 deltas (git's default depth) down as many windows before it; a window missed reads
 * up to a MiB (the most one prefetch read spans) ending at it.
 */
export const DIFF_PREFETCH = { rounds: 50, behind: 15 };
/** And a diff's blobs: their chains mostly stay within a window or two. */
export const BLOB_PREFETCH = { rounds: 50, behind: 3 };
/** Trees of one level read side by side. */
const READ_AHEAD_BATCH = 64;

/**
 * The trees a diff of `a` and `b` will read, read ahead level by level: each level's ids are
 * looked up in one sorted batch, their pack windows filled a cluster a storage read, and read
 * side by side, where the walk would read them one at a time in path order, each a lookup of its
 * own. Stops after `limit` changed files or READ_AHEAD_BYTES; returns the trees' raw bytes by id
 * (views of the object cache's copies).
 */
async function readAhead(
  store: ObjectStore,
  a: Oid | null,
  b: Oid | null,
  limit: number,
  after: Uint8Array | null,
): Promise<Map<Oid, Uint8Array>> {
  const read = new Map<Oid, Uint8Array>();
  let bytes = 0;
  let files = 0;
  let level: [Oid | null, Oid | null, string][] = [[a, b, ""]];
  const readTree = async (t: Oid | null) => {
    if (t === null || read.has(t)) return;
    const data = await store.readTyped(t, "tree");
    if (!read.has(t)) bytes += data.length;
    read.set(t, data);
  };
  // A level wider than the page's files would mostly be read for files past the page.
  while (level.length > 0 && level.length <= limit && bytes < READ_AHEAD_BYTES && files < limit) {
    // Located in one sorted batch, and their pack windows (and their delta bases') filled a
    // cluster of nearby windows a storage read, before the reads below meet them one by one.
    await prefetchObjects(
      store,
      level.flatMap(([ta, tb]) => [ta, tb]).filter((t): t is Oid => t !== null && !read.has(t)),
      DIFF_PREFETCH,
    );
    // The two sides of a directory one after the other, the older first: they are usually deltas
    // in one chain (git deltifies older versions against newer ones), and the newer one is then
    // found among the versions the first resolved (side by side, each would resolve the chain).
    for (let from = 0; from < level.length; from += READ_AHEAD_BATCH) {
      const batch = level.slice(from, from + READ_AHEAD_BATCH);
      await Promise.all(
        batch.map(async ([ta, tb]) => {
          await readTree(ta);
          await readTree(tb);
        }),
      );
    }
    const next: [Oid | null, Oid | null, string][] = [];
    for (const [ta, tb, prefix] of level) {
      const ea = ta ? parseEntries(read.get(ta)!) : [];
      const eb = tb ? parseEntries(read.get(tb)!) : [];
      for (let i = 0, j = 0; i < ea.length || j < eb.length; ) {
        const x = ea[i];
        const y = eb[j];
        const cmp = !x ? 1 : !y ? -1 : compareEntries(x, y);
        const left = cmp <= 0 ? x! : null;
        const right = cmp >= 0 ? y! : null;
        if (cmp <= 0) i++;
        if (cmp >= 0) j++;
        if (left && right && left.oid === right.oid && left.mode === right.mode) continue;
        const subA = left?.tree ? left.oid : null;
        const subB = right?.tree ? right.oid : null;
        const path = prefix + decoder.decode((left ?? right)!.name);
        if ((subA || subB) && !before(after, path, true)) next.push([subA, subB, `${path}/`]);
        else if (!subA && !subB && !before(after, path, false)) files++;
      }
    }
    level = next;
  }
  return read;
}

/** git's tree order: bytes, with a tree's name compared as if it ended in "/". */
function compareEntries(x: RawEntry, y: RawEntry): number {
  const n = Math.min(x.name.length, y.name.length);
  for (let i = 0; i < n; i++) if (x.name[i] !== y.name[i]) return x.name[i]! - y.name[i]!;
  const cx = x.name.length > n ? x.name[n]! : x.tree ? 0x2f : 0;
  const cy = y.name.length > n ? y.name[n]! : y.tree ? 0x2f : 0;
  return cx - cy;
}

const encoder = new TextEncoder();

/** Byte order of two paths (git lists a diff's files in this order). */
function compareBytes(x: Uint8Array, y: Uint8Array): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * For a diff that starts after the path `after` (a page of files): whether an entry at `path`
 * lies wholly before it (a file at or before it; a directory all of whose paths are before it).
 */
function before(after: Uint8Array | null, path: string, tree: boolean): boolean {
  if (!after) return false;
  const p = encoder.encode(tree ? `${path}/` : path);
  if (!tree) return compareBytes(p, after) <= 0;
  // A directory the path lies in is walked; one after it is not skipped.
  if (p.length <= after.length && compareBytes(p, after.subarray(0, p.length)) === 0) return false;
  return compareBytes(p, after) < 0;
}

const fileKind = (mode: string) => (isSubmoduleMode(mode) ? "gitlink" : mode === "120000" ? "link" : "file");

/**
 * Files that differ between two trees (null: the empty tree), in git's order. Stops after
 * `limit` changes (`truncated` then says so); with `after`, starts after that path (the next page
 * of a long diff: directories before it are not read). Renames are found only when the content
 * is equal (and, on a page, when both sides are on it).
 */
export async function diffTrees(
  store: ObjectStore,
  a: Oid | null,
  b: Oid | null,
  opts: { limit?: number; renames?: boolean; after?: string } = {},
): Promise<{ changes: TreeChange[]; truncated: boolean; last?: string }> {
  const limit = opts.limit ?? Infinity;
  const after = opts.after ? encoder.encode(opts.after) : null;
  const ahead = await readAhead(store, a, b, limit, after);
  const entries = async (tree: Oid | null): Promise<RawEntry[]> =>
    tree ? parseEntries(ahead.get(tree) ?? (await store.readTyped(tree, "tree"))) : [];
  const changes: TreeChange[] = [];
  let truncated = false;
  const add = (c: TreeChange) => {
    if (before(after, c.path, false)) return;
    if (changes.length >= limit) truncated = true;
    else changes.push(c);
  };
  /** Whether the directory at `prefix` (ending in a slash) lies wholly before the page. */
  const skipped = (prefix: string) => prefix !== "" && before(after, prefix.slice(0, -1), true);
  const whole = async (tree: Oid, prefix: string, status: "A" | "D") => {
    if (skipped(prefix)) return;
    for (const e of await entries(tree)) {
      if (truncated) return;
      const path = prefix + decoder.decode(e.name);
      if (e.tree) await whole(e.oid, `${path}/`, status);
      else if (status === "A") add({ status, path, newMode: e.mode, newOid: e.oid });
      else add({ status, path, oldMode: e.mode, oldOid: e.oid });
    }
  };
  const walk = async (ta: Oid | null, tb: Oid | null, prefix: string) => {
    if (skipped(prefix)) return;
    const ea = await entries(ta);
    const eb = await entries(tb);
    let i = 0;
    let j = 0;
    while ((i < ea.length || j < eb.length) && !truncated) {
      const x = ea[i];
      const y = eb[j];
      const cmp = !x ? 1 : !y ? -1 : compareEntries(x, y);
      if (cmp < 0) {
        const path = prefix + decoder.decode(x!.name);
        if (x!.tree) await whole(x!.oid, `${path}/`, "D");
        else add({ status: "D", path, oldMode: x!.mode, oldOid: x!.oid });
        i++;
      } else if (cmp > 0) {
        const path = prefix + decoder.decode(y!.name);
        if (y!.tree) await whole(y!.oid, `${path}/`, "A");
        else add({ status: "A", path, newMode: y!.mode, newOid: y!.oid });
        j++;
      } else {
        const path = prefix + decoder.decode(x!.name);
        if (x!.oid !== y!.oid || x!.mode !== y!.mode) {
          if (x!.tree && y!.tree) await walk(x!.oid, y!.oid, `${path}/`);
          else if (x!.tree) {
            await whole(x!.oid, `${path}/`, "D");
            add({ status: "A", path, newMode: y!.mode, newOid: y!.oid });
          } else if (y!.tree) {
            add({ status: "D", path, oldMode: x!.mode, oldOid: x!.oid });
            await whole(y!.oid, `${path}/`, "A");
          } else {
            const status = fileKind(x!.mode) === fileKind(y!.mode) ? "M" : "T";
            add({ status, path, oldMode: x!.mode, newMode: y!.mode, oldOid: x!.oid, newOid: y!.oid });
          }
        }
        i++;
        j++;
      }
    }
  };
  await walk(a, b, "");
  // Where a next page starts (before renames pair a file with one listed earlier).
  const last = changes[changes.length - 1]?.path;
  if (opts.renames !== false) pairExactRenames(changes);
  return { changes, truncated, last };
}

/** Turns a deleted and an added file with the same content into one rename (git's R100). */
function pairExactRenames(changes: TreeChange[]): void {
  const deleted = new Map<Oid, number[]>();
  changes.forEach((c, i) => {
    if (c.status === "D" && fileKind(c.oldMode!) === "file") deleted.set(c.oldOid!, [...(deleted.get(c.oldOid!) ?? []), i]);
  });
  if (deleted.size === 0) return;
  const drop = new Set<number>();
  for (const c of changes) {
    if (c.status !== "A" || fileKind(c.newMode!) !== "file") continue;
    const from = deleted.get(c.newOid!);
    const k = from?.shift();
    if (k === undefined) continue;
    const d = changes[k]!;
    drop.add(k);
    Object.assign(c, { status: "R", oldPath: d.path, oldMode: d.oldMode, oldOid: d.oldOid });
  }
  if (drop.size === 0) return;
  const kept = changes.filter((_, i) => !drop.has(i));
  changes.length = 0;
  changes.push(...kept);
}
