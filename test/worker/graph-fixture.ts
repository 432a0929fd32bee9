// Object stores and commit-graphs over repositories built in memory (git-fixture.ts), for the
// workerd tests of history walks: a pack indexed as the forge indexes it, a persisted graph built
// as an import builds it, and a graph whose tree reads and presence lookups are counted.
import { CommitGraph } from "../../src/git/commit-graph";
import { extendCommitGraph } from "../../src/git/commit-graph-build";
import { GraphLayer, PersistedGraph } from "../../src/git/commit-graph-file";
import { ObjectStore, Pack } from "../../src/git/object-store";
import type { Oid } from "../../src/git/oid";
import { PackIndex } from "../../src/git/pack-index";
import { indexPack } from "../../src/git/pack-indexer";
import { MemorySource } from "../../src/git/range-source";
import type { RepoBuilder } from "./git-fixture";

/**
 * Source and layer names are unique within the isolate (and across the files sharing it): the
 * isolate's page and object caches are keyed by them, as by R2 keys in the forge.
 */
const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
let names = 0;
const unique = (name: string) => `${name}-${run}-${++names}`;

/** The repository's objects as one pack held in memory, with its whole index. */
export async function memoryStore(r: RepoBuilder, name: string): Promise<ObjectStore> {
  const source = new MemorySource(unique(`${name}.pack`), r.pack().pack);
  const indexed = await indexPack(source);
  return new ObjectStore([new Pack(name, new PackIndex(indexed.index), source)]);
}

/** The commit-graph of everything `tips` reach, in layers held in memory. */
export async function persistedGraph(store: ObjectStore, tips: Oid[], name = "graph"): Promise<PersistedGraph> {
  let chain: GraphLayer[] = [];
  await extendCommitGraph(
    {
      store,
      graph: null,
      writeLayer: async (bytes) => GraphLayer.open(new MemorySource(unique(`${name}-layer`), bytes)),
      saveChain: async (layers) => {
        chain = layers;
      },
    },
    tips,
  );
  return new PersistedGraph(chain);
}

/** A graph over `store`, reading the persisted commit-graph when there is one. */
export function graphOn(store: ObjectStore, persisted: PersistedGraph | null): CommitGraph {
  const graph = new CommitGraph(store);
  if (persisted) graph.usePersisted(async () => persisted);
  return graph;
}

/** Commits a graph has read, from its layers or as objects (what a walk costs, untimed). */
export const commitsRead = (graph: CommitGraph) => graph.reads.graph + graph.reads.objects;

/** A graph over a fresh store on the same packs whose tree reads and presence lookups are counted. */
export function countedGraph(store: ObjectStore, persisted: PersistedGraph | null) {
  const own = new ObjectStore(store.packs);
  const counts = { trees: 0, lookups: 0 };
  const read = own.read.bind(own);
  own.read = async (oid: Oid) => {
    const o = await read(oid);
    if (o.type === "tree") counts.trees++;
    return o;
  };
  const has = own.has.bind(own);
  own.has = async (oid: Oid | Uint8Array) => {
    counts.lookups++;
    return has(oid);
  };
  const filterPresent = own.filterPresent.bind(own);
  own.filterPresent = async (oids: readonly Oid[]) => {
    counts.lookups += oids.length;
    return filterPresent(oids);
  };
  return { graph: graphOn(own, persisted), counts };
}
