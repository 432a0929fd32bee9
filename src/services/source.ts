// The source browser's view of a repository: refs from the data centre's copy (at most
// EDGE_REFS_TTL_SECONDS old) or the Durable Object, objects from the packs, and revisions resolved
// the way people type them.
import type { Env } from "../env";
import type { RefEntry, RepoSnapshot } from "../repo/repo-object";
import { CommitGraph } from "../git/commit-graph";
import type { ObjectStore, ReadOptions } from "../git/object-store";
import { parseCommit, type Commit } from "../git/objects";
import type { Oid } from "../git/oid";
import { findByPrefix } from "../git/abbrev";
import { pageTableLocator } from "../git/pack-id-table";
import { openStore, pageSnapshot, type RepoRef } from "./repositories";
import { reachableFromRefs } from "./reachable";
import { attachCommitGraph } from "./commit-graphs";

export interface SourceRepo {
  repo: RepoRef;
  snapshot: RepoSnapshot;
  store: ObjectStore;
  graph: CommitGraph;
}

/**
 * Refs, HEAD and packs (from the data centre's copy when fresh: no regional call; else one Durable
 * Object call) and the pack indexes (cached per isolate).
 */
export async function openSource(env: Env, repo: RepoRef): Promise<SourceRepo> {
  const snapshot = await pageSnapshot(env, repo);
  const store = await openStore(env.OBJECTS, repo, snapshot);
  // A large pack's id table, once this isolate's pages have read enough of its index by units.
  const locator = await pageTableLocator(store);
  if (locator) store.useLocator(locator);
  return { repo, snapshot, store, graph: attachCommitGraph(env, repo, snapshot, new CommitGraph(store)) };
}

export type RevKind = "branch" | "tag" | "commit";

export interface Rev {
  /** As shown and used in links: a branch or tag name, or a full commit id. */
  name: string;
  kind: RevKind;
  /** The commit it names (tags peeled). */
  commit: Oid;
}

export const shortOid = (oid: Oid) => oid.slice(0, 7);

/** The default branch's short name (whether or not it exists yet). */
export const defaultBranch = (s: RepoSnapshot) => s.head.replace(/^refs\/heads\//, "");

export const branches = (s: RepoSnapshot) => s.refs.filter((r) => r.name.startsWith("refs/heads/"));
export const tags = (s: RepoSnapshot) => s.refs.filter((r) => r.name.startsWith("refs/tags/"));

async function commitOf(src: SourceRepo, oid: Oid, peeled?: string | null): Promise<Oid | null> {
  const target = peeled ?? oid;
  if (!(await src.store.has(target))) return null;
  const p = await src.graph.peel(target);
  return p.type === "commit" ? p.oid : null;
}

/** Refs by full name, made once per snapshot (snapshots are shared by an isolate's requests). */
const refMaps = new WeakMap<RepoSnapshot, Map<string, RefEntry>>();

export function refByName(s: RepoSnapshot, name: string): RefEntry | undefined {
  let map = refMaps.get(s);
  if (!map) refMaps.set(s, (map = new Map(s.refs.map((r) => [r.name, r]))));
  return map.get(name);
}

/**
 * A revision as written in a URL or a form: a branch, a tag, HEAD, a full or abbreviated
 * commit id. Branches win over tags, as in git.
 */
export async function resolveRev(src: SourceRepo, name: string): Promise<Rev | null> {
  const branch = refByName(src.snapshot, `refs/heads/${name}`);
  if (branch) {
    const commit = await commitOf(src, branch.oid, branch.peeled);
    return commit ? { name, kind: "branch", commit } : null;
  }
  const tag = refByName(src.snapshot, `refs/tags/${name}`);
  if (tag) {
    const commit = await commitOf(src, tag.oid, tag.peeled);
    return commit ? { name, kind: "tag", commit } : null;
  }
  if (name === "HEAD") {
    const head = refByName(src.snapshot, src.snapshot.head);
    const commit = head ? await commitOf(src, head.oid, head.peeled) : null;
    return commit ? { name: defaultBranch(src.snapshot), kind: "branch", commit } : null;
  }
  if (/^[0-9a-f]{4,40}$/.test(name)) {
    // A whole id the commit-graph holds is a commit, and present (git/commit-graph.ts `has`):
    // no index lookup nor read of the object to check its id and type.
    if (name.length === 40 && (await src.graph.covers(name))) {
      return (await reachableFromRefs(src, name)) ? { name, kind: "commit", commit: name } : null;
    }
    const found = await findByPrefix(src.store, name);
    if (found.length !== 1) return null;
    const commit = await commitOf(src, found[0]!);
    // By id, only what the refs reach: the packs may still hold a deleted branch's commits.
    return commit && (await reachableFromRefs(src, commit)) ? { name: commit, kind: "commit", commit } : null;
  }
  return null;
}

/**
 * Splits the raw (still percent-encoded) segments after /tree/ or /blob/ into a revision and the
 * rest: the longest run of leading segments that names a branch or tag (names may hold slashes,
 * written as such or as %2F), else the first segment as a commit id.
 */
export async function splitRev(src: SourceRepo, segments: string[]): Promise<{ rev: Rev; rest: string[] } | null> {
  const decoded: string[] = [];
  for (const s of segments) {
    try {
      decoded.push(decodeURIComponent(s));
    } catch {
      return null;
    }
  }
  for (let i = decoded.length; i >= 1; i--) {
    const candidate = decoded.slice(0, i).join("/");
    if (refByName(src.snapshot, `refs/heads/${candidate}`) || refByName(src.snapshot, `refs/tags/${candidate}`)) {
      const rev = await resolveRev(src, candidate);
      return rev ? { rev, rest: segments.slice(i) } : null;
    }
  }
  if (decoded.length === 0 || decoded[0]!.includes("\0")) return null;
  const rev = await resolveRev(src, decoded[0]!);
  return rev ? { rev, rest: segments.slice(1) } : null;
}

export interface CommitView extends Commit {
  oid: Oid;
  subject: string;
  /** The message after the subject line. */
  body: string;
}

/** `opts.learn`: false for a commit read among scattered ones (git/object-store.ts `ReadOptions`). */
export async function readCommit(src: SourceRepo, oid: Oid, opts?: ReadOptions): Promise<CommitView> {
  const c = parseCommit(await src.store.readTyped(oid, "commit", opts));
  const message = c.message.replace(/\s+$/, "");
  const nl = message.indexOf("\n");
  const subject = nl < 0 ? message : message.slice(0, nl);
  const body = nl < 0 ? "" : message.slice(nl + 1).replace(/^\s*\n/, "");
  return { ...c, oid, subject, body };
}
