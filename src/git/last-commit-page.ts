// The last commits of one directory's entries, as a tree page asks for them: walked by graph
// position (last-commit-dir.ts) from the page's commit, or from there down to a checkpoint, an
// ancestor whose answer for every path is stored.
import type { Budget } from "./budget";
import type { CommitGraph } from "./commit-graph";
import type { PersistedGraph } from "./commit-graph-file";
import { type DirectoryBase, type DirectoryWalkStats, walkDirectory } from "./last-commit-dir";
import { forEachTreeEntry } from "./objects";
import type { Oid } from "./oid";
import { byteString } from "./tree-changes";
import { oidAtPath } from "./tree-path";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A path as the walk keys it (one char per byte) back to a string. */
export const utf8 = (bytes: string) => {
  if (!/[\u0080-\u00ff]/.test(bytes)) return bytes;
  return decoder.decode(Uint8Array.from(bytes, (ch) => ch.charCodeAt(0)));
};

/** An ancestor's stored answer: path -> the commit and its committer time. */
export interface Checkpoint {
  commit: Oid;
  answers: Map<string, { commit: Oid; time: number }>;
}

export interface DirectoryOptions {
  budget?: Budget;
  stats?: DirectoryWalkStats;
  checkpoint?: Checkpoint;
}

/** The entries of one directory of a tree (byte-string paths), or null when it is not a directory. */
export async function directoryPaths(graph: CommitGraph, root: Oid, dir: string[]): Promise<Map<string, Oid> | null> {
  const tree = dir.length ? await oidAtPath(graph.store, root, dir) : root;
  if (!tree) return null;
  const obj = await graph.store.read(tree);
  if (obj.type !== "tree") return null;
  const prefix = dir.length ? `${byteKey(dir.join("/"))}/` : "";
  const out = new Map<string, Oid>();
  forEachTreeEntry(obj.data, (_mode, oid, s, e) => out.set(prefix + byteString(obj.data, s, e), oid));
  return out;
}

/** A path as the walk keys it (one char per UTF-8 byte). */
export function byteKey(path: string): string {
  const bytes = encoder.encode(path);
  return byteString(bytes, 0, bytes.length);
}

export async function directoryByGraph(
  graph: CommitGraph,
  persisted: PersistedGraph,
  pos: number,
  start: Oid,
  path: string[],
  opts: DirectoryOptions,
): Promise<{ paths: Map<string, Oid>; complete: boolean; scanned: number; frontier: Oid[] } | null> {
  const targets = await directoryPaths(graph, (await graph.commit(start)).tree, path);
  if (!targets) return null;
  const dir = path.map(byteKey);
  const prefix = dir.length ? `${dir.join("/")}/` : "";
  const names = new Map([...targets].map(([key, oid]) => [key.slice(prefix.length), oid]));
  const walk = await walkDirectory(persisted, graph.store, pos, dir, names, {
    budget: opts.budget,
    stats: opts.stats,
    base: opts.checkpoint && (await directoryBase(graph, opts.checkpoint, path, prefix)),
  });
  const paths = new Map<string, Oid>();
  for (const [name, commit] of walk.found) paths.set(utf8(prefix + name), commit);
  // Not resumed: a page that cannot finish it asks for the whole tree's walk instead.
  return { paths, complete: walk.complete, scanned: walk.scanned, frontier: [] };
}

/** The checkpoint's side of a directory walk: its position, its listing and its answers by entry name. */
async function directoryBase(
  graph: CommitGraph,
  checkpoint: Checkpoint,
  path: string[],
  prefix: string,
): Promise<DirectoryBase | undefined> {
  const pos = await graph.positionOf(checkpoint.commit);
  if (pos < 0) return undefined;
  const listed = await directoryPaths(graph, (await graph.commit(checkpoint.commit)).tree, path);
  if (!listed) return { pos, listing: new Map(), answers: new Map() };
  const listing = new Map<string, Oid>();
  const answers = new Map<string, { commit: Oid; time: number }>();
  for (const [key, oid] of listed) {
    const name = key.slice(prefix.length);
    listing.set(name, oid);
    const answer = checkpoint.answers.get(utf8(key));
    if (answer) answers.set(name, answer);
  }
  return { pos, listing, answers };
}
