// Which commits the source browser shows by id: only those the current refs reach, as git serves
// them. A deleted branch's commits (and the files in them) answer 404 at once, before any purge.
import { Budget } from "../git/budget";
import { isReachable } from "../git/negotiate";
import type { Oid } from "../git/oid";
import { ByteLru } from "../utils/lru";
import type { CommitGraph } from "../git/commit-graph";
import type { ObjectStore } from "../git/object-store";
import type { RepoSnapshot } from "../repo/snapshot";
import type { RepoRef } from "../storage/pack-store";

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
const answers = new ByteLru<string, boolean>(1024 * 1024, () => 128);

/** True when a ref (branch or tag, peeled) reaches `commit`. */
export async function reachableFromRefs(src: OpenRepo, commit: Oid, steps = REACHABILITY_STEPS): Promise<boolean> {
  const tips = src.snapshot.refs.map((r) => r.peeled ?? r.oid);
  if (tips.includes(commit)) return true;
  const key = `${src.repo.tenantId}/${src.repo.repoId}@${src.snapshot.version}\0${commit}`;
  const known = answers.get(key);
  if (known !== undefined) return known;
  const yes = (await src.store.has(commit)) && (await isReachable(src.graph, commit, tips, new Budget(Infinity, steps)));
  answers.set(key, yes);
  return yes;
}
