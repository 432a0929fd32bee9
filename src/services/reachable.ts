// Which commits the source browser shows by id: only those the current refs reach, as git serves
// them. A deleted branch's commits (and the files in them) answer 404 at once, before any purge.
import { Budget } from "../git/budget";
import { isReachable } from "../git/negotiate";
import type { Oid } from "../git/oid";
import { joinWithinRequest } from "../utils/request-scope";
import type { CommitGraph } from "../git/commit-graph";
import type { ObjectStore } from "../git/object-store";
import type { RepoSnapshot } from "../repo/snapshot";
import type { RepoRef } from "../storage/pack-store";
import { edgeLru } from "../utils/edge-budget";

/** What a check reads of an open repository (services/source.ts SourceRepo has it). */
interface OpenRepo {
  repo: RepoRef;
  snapshot: RepoSnapshot;
  store: ObjectStore;
  graph: CommitGraph;
}

/**
 * Commits one check may walk. Past it the answer is "not reachable" (404): on a huge history an
 * old commit named by id may then not be shown, which is better than showing an unreachable one.
 */
export const REACHABILITY_STEPS = 200_000;

/** Answers per repository and refs version (the version changes with every ref update). */
const answers = edgeLru<string, boolean>("services.reach-answers", () => 128);

/**
 * Per repository and refs version, the commits of the persisted commit-graph that the refs reach
 * (a bit per graph position): marked once by a walk of parent positions, then every commit named
 * by id is one bit to test instead of a walk from the tips down to it.
 */
const reachSets = edgeLru<string, Uint8Array>("services.reach-sets", (bits) => bits.length + 128);

/** The reach set when the graph holds every tip that is a commit, else null (walk instead). */
async function reachSet(src: OpenRepo, tips: Oid[], steps: number): Promise<Uint8Array | null> {
  const graph = await src.graph.persistedGraph();
  if (!graph) return null;
  const key = `${src.repo.tenantId}/${src.repo.repoId}@${src.snapshot.version}#${src.snapshot.purges ?? 0}#${graph.count}`;
  const hit = reachSets.get(key);
  if (hit) return hit;
  // A marking is joined within its request only (utils/request-scope.ts): another request's may
  // never settle. Once done, the set is every request's.
  return joinWithinRequest(`reach-set\0${key}`, async () => {
    const starts: number[] = [];
    for (const tip of new Set(tips)) {
      const pos = await src.graph.positionOf(tip);
      if (pos >= 0) {
        starts.push(pos);
        continue;
      }
      // A commit the graph does not hold yet (pushed just now): walk instead. A tag of a tree
      // or blob leads to no commit.
      if ((await src.store.has(tip)) && (await src.store.read(tip)).type === "commit") return null;
    }
    const bits = await graph.reachableFrom(starts, steps);
    if (bits) reachSets.set(key, bits);
    return bits;
  });
}

/** True when a ref (branch or tag, peeled) reaches `commit`. */
export async function reachableFromRefs(src: OpenRepo, commit: Oid, steps = REACHABILITY_STEPS): Promise<boolean> {
  const tips = src.snapshot.refs.map((r) => r.peeled ?? r.oid);
  if (tips.includes(commit)) return true;
  const key = `${src.repo.tenantId}/${src.repo.repoId}@${src.snapshot.version}\0${commit}`;
  const known = answers.get(key);
  if (known !== undefined) return known;
  const pos = await src.graph.positionOf(commit);
  const set = pos >= 0 ? await reachSet(src, tips, steps) : null;
  const yes = set
    ? (set[pos >> 3]! & (1 << (pos & 7))) !== 0
    : (await src.store.has(commit)) && (await isReachable(src.graph, commit, tips, new Budget(Infinity, steps)));
  answers.set(key, yes);
  return yes;
}
