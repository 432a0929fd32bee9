// Extends the persisted commit-graph with the commits its chain lacks: finds them from the tips
// down to the commits already covered, orders them parents-first, computes generation numbers
// and changed-path Bloom filters (a tree diff against the first parent), and writes them as
// layers of at most `layerMax` commits. A small top layer is rewritten with the new commits
// rather than stacked on, so the chain stays short (git's split commit-graph merges the same way).
import { yieldToOthers } from "./budget";
import { bloomKey, type BloomKey, buildFilter, MAX_CHANGED_PATHS } from "./bloom";
import { encodeLayer, type GraphLayer, type LayerEntry, PersistedGraph } from "./commit-graph-file";
import type { ObjectStore } from "./object-store";
import { parseCommitLinks } from "./objects";
import type { Oid } from "./oid";

export const LAYER_MAX = 16_384;

export interface GraphBuildIo {
  store: ObjectStore;
  /** The chain as it is (null: none yet). */
  graph: PersistedGraph | null;
  /** Stores a layer file and opens it. */
  writeLayer(bytes: Uint8Array): Promise<GraphLayer>;
  /** Records a new chain (after each layer, so that an interrupted build keeps what it wrote). */
  saveChain(layers: GraphLayer[]): Promise<void>;
}

interface NewCommit {
  tree: Oid;
  parents: Oid[];
  time: number;
}

/** The byte string of a path (one char per byte) as bytes, for hashing. */
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Entries of raw tree data: name (one char per byte), id, whether it is a directory. */
function entriesOf(data: Uint8Array): Map<string, { oid: string; tree: boolean; mode: string }> {
  const out = new Map<string, { oid: string; tree: boolean; mode: string }>();
  let p = 0;
  while (p < data.length) {
    let sp = p;
    while (data[sp] !== 0x20) sp++;
    let nul = sp + 1;
    while (data[nul] !== 0) nul++;
    let mode = "";
    for (let i = p; i < sp; i++) mode += String.fromCharCode(data[i]!);
    let name = "";
    for (let i = sp + 1; i < nul; i++) name += String.fromCharCode(data[i]!);
    let oid = "";
    for (let i = nul + 1; i < nul + 21; i++) oid += data[i]!.toString(16).padStart(2, "0");
    out.set(name, { oid, tree: mode === "40000" || mode === "040000", mode });
    p = nul + 21;
  }
  return out;
}

/**
 * Paths that differ between two trees (either may be absent), with their parent directories, as
 * git lists them for a Bloom filter; null past git's limit of changed paths.
 */
export async function changedPaths(store: ObjectStore, before: Oid | null, after: Oid | null): Promise<string[] | null> {
  const out = new Set<string>();
  const read = async (tree: Oid | null) => (tree ? entriesOf(await store.readTyped(tree, "tree")) : new Map());
  const walk = async (a: Oid | null, b: Oid | null, prefix: string): Promise<boolean> => {
    if (a === b) return true;
    const [x, y] = await Promise.all([read(a), read(b)]);
    for (const name of new Set([...x.keys(), ...y.keys()])) {
      const l = x.get(name);
      const r = y.get(name);
      if (l && r && l.oid === r.oid && l.mode === r.mode) continue;
      const path = prefix + name;
      out.add(path);
      if (out.size > MAX_CHANGED_PATHS) return false;
      const lt = l?.tree ? l.oid : null;
      const rt = r?.tree ? r.oid : null;
      if ((lt || rt) && !(await walk(lt, rt, `${path}/`))) return false;
    }
    return true;
  };
  return (await walk(before, after, "")) ? [...out] : null;
}

async function filterOf(store: ObjectStore, before: Oid | null, after: Oid): Promise<Uint8Array> {
  const paths = await changedPaths(store, before, after);
  if (!paths) return Uint8Array.of(0xff);
  const keys: BloomKey[] = paths.map((p) => bloomKey(latin1(p)));
  return buildFilter(keys);
}

/**
 * Adds every commit reachable from `tips` that the chain lacks. Returns how many were added.
 * Memory: a small record per new commit while ordering them, then one layer at a time.
 */
export async function extendCommitGraph(io: GraphBuildIo, tips: Oid[], layerMax = LAYER_MAX): Promise<number> {
  const { store } = io;
  let graph = io.graph;
  const fresh = new Map<Oid, NewCommit>();
  const covered = new Map<Oid, { pos: number; generation: number }>();
  const isCovered = async (oid: Oid) => {
    if (covered.has(oid)) return true;
    if (!graph) return false;
    const pos = await graph.find(oid);
    if (pos < 0) return false;
    covered.set(oid, { pos, generation: (await graph.commit(pos)).generation });
    return true;
  };
  // Find the new commits, newest to oldest, stopping at the covered ones.
  const stack = [...tips];
  let reads = 0;
  while (stack.length > 0) {
    const oid = stack.pop()!;
    if (fresh.has(oid) || !(await store.has(oid)) || (await isCovered(oid))) continue;
    const obj = await store.read(oid);
    if (obj.type !== "commit") continue;
    const c = parseCommitLinks(obj.data);
    const parents = await store.filterPresent(c.parents);
    fresh.set(oid, { tree: c.tree, parents, time: c.time });
    for (const p of parents) stack.push(p);
    if (++reads % 256 === 0) await yieldToOthers();
  }
  if (fresh.size === 0) return 0;

  // Parents first (post-order of a depth-first walk).
  const order: Oid[] = [];
  const state = new Map<Oid, 1 | 2>();
  for (const tip of fresh.keys()) {
    if (state.has(tip)) continue;
    const work: { oid: Oid; next: number }[] = [{ oid: tip, next: 0 }];
    state.set(tip, 1);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const ps = fresh.get(top.oid)!.parents;
      if (top.next < ps.length) {
        const p = ps[top.next++]!;
        if (fresh.has(p) && !state.has(p)) {
          state.set(p, 1);
          work.push({ oid: p, next: 0 });
        }
        continue;
      }
      state.set(top.oid, 2);
      order.push(top.oid);
      work.pop();
    }
  }
  state.clear();

  // Fill the top layer up to layerMax before starting a new one.
  let lower = graph?.layers ?? [];
  let pending: LayerEntry[] = [];
  const top = lower[lower.length - 1];
  let base = graph?.count ?? 0;
  if (top && top.count < layerMax) {
    for (let i = 0; i < top.count; i++) pending.push({ ...(await top.commit(i)), filter: await top.filter(i) });
    lower = lower.slice(0, -1);
    base = top.base;
  }
  const flush = async () => {
    const layer = await io.writeLayer(encodeLayer(base, pending));
    lower = [...lower, layer];
    graph = new PersistedGraph(lower);
    await io.saveChain(lower);
    base += pending.length;
    pending = [];
  };
  for (const oid of order) {
    const c = fresh.get(oid)!;
    const parents: number[] = [];
    let generation = 1;
    for (const p of c.parents) {
      const at = covered.get(p)!;
      parents.push(at.pos);
      generation = Math.max(generation, at.generation + 1);
    }
    const firstParentTree = c.parents.length ? await treeOf(c.parents[0]!) : null;
    const filter = await filterOf(store, firstParentTree, c.tree);
    covered.set(oid, { pos: base + pending.length, generation });
    pending.push({ oid, tree: c.tree, parents, generation, time: c.time, filter });
    if (pending.length >= layerMax) await flush();
    if (pending.length % 64 === 0) await yieldToOthers();
  }
  if (pending.length > 0) await flush();
  return fresh.size;

  async function treeOf(oid: Oid): Promise<Oid> {
    const f = fresh.get(oid);
    if (f) return f.tree;
    return (await graph!.commit(covered.get(oid)!.pos)).tree;
  }
}
