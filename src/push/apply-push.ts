// Deciding and committing a push once its pack is in R2, step by step: check the commands, index
// the pack (completing a thin one), check connectivity, apply the ref rules, the quota and
// atomicity, then commit every accepted update in one Durable Object transaction and tell the
// queue. Each ref that fails gets its own reason; nothing is visible until the commit.
import type { Env } from "../env";
import { CommitGraph } from "../git/commit-graph";
import { checkConnectivity as checkLinks, isClosure, linkRuns, type Connectivity, type SortedIds } from "../git/connectivity";
import { GitError } from "../git/errors";
import { collectLinks } from "../git/links";
import { TipObjects } from "../git/tip-objects";
import { isReachable } from "../git/negotiate";
import { ObjectStore, Pack, type PackLookup } from "../git/object-store";
import { setHash, ZERO_OID, type Oid } from "../git/oid";
import { WindowedSource } from "../git/range-source";
import type { Command, CommandResult } from "../git/receive-pack";
import { isHiddenRef, refNameProblem } from "../git/ref-names";
import type { RefUpdate, RepoSnapshot } from "../repo/repo-object";
import { openStore, repoStub, type RepoRef } from "../services/repositories";
import { indexPackIntoR2, openIndexed } from "../storage/index-spill";
import { R2Source } from "../storage/r2-source";
import { linkSpillBudget, r2SpillStore } from "../storage/spill-store";
import type { SpillRuns } from "../git/spill";
import { notifyPushed } from "./notify";
import { PushPack, storeCompleted } from "./push-pack";

export interface PushContext {
  repo: RepoRef;
  /** Who pushes (for the timeline). */
  pusher: string;
  /** The tenant plan's largest repository, in bytes. */
  maxRepoBytes: number;
  /** Refs that refuse deletion and non-fast-forward updates. */
  protectedRefs: Set<string>;
  /** The forge's own push, which may write hidden refs (refs/reviews/). */
  hiddenRefs?: boolean;
}

export const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export interface ApplyInput {
  snapshot: RepoSnapshot;
  packKey: string;
  packName: string;
  received: number;
  unpackError: string | null;
  atomic: boolean;
  progress: (message: string) => Promise<void>;
}

export interface ApplyResult {
  unpackError: string | null;
  commands: CommandResult[];
}

/** The first reason each ref was refused for (git shows one beside each rejected ref). */
class Verdicts {
  readonly errors = new Map<string, string>();
  fail(name: string, reason: string): void {
    if (!this.errors.has(name)) this.errors.set(name, reason);
  }
  has(name: string): boolean {
    return this.errors.has(name);
  }
}

/** What the received pack adds: the object store to check against, and the pack to list. */
interface Indexed {
  store: ObjectStore;
  /** Listed with the ref updates; null when the push sent no objects. */
  pack: { name: string; objects: number; bytes: number } | null;
  /** The received pack's own objects (before a thin pack is completed); null when none came. */
  received: SortedIds | null;
  /** Clones may be sent the stored pack as it is: complete, every delta's base before it. */
  streamable: boolean;
  /** What the pack's objects point at: checked against the pack and the repository. */
  links: SpillRuns;
  /** What that check found (set by checkConnectivity). */
  connected?: Connectivity;
}

export async function applyPush(env: Env, ctx: PushContext, commands: Command[], input: ApplyInput): Promise<ApplyResult> {
  // What the pack's objects link to, in sorted runs spilled to R2 past the budget: deleted however the push ends.
  const links = linkRuns(r2SpillStore(env.OBJECTS, ctx.repo.tenantId, ctx.repo.repoId, "links"), linkSpillBudget(env));
  try {
    return await decide(env, ctx, commands, input, links);
  } finally {
    await links.dispose().catch(() => undefined);
  }
}

async function decide(
  env: Env,
  ctx: PushContext,
  commands: Command[],
  input: ApplyInput,
  links: SpillRuns,
): Promise<ApplyResult> {
  const { snapshot } = input;
  const verdicts = new Verdicts();
  const files = new PushPack(env.OBJECTS, input.packName, input.packKey);
  if (input.unpackError) return refused(commands, input.unpackError);

  checkCommands(commands, verdicts);
  const oldStore = await openStore(env.OBJECTS, ctx.repo, snapshot);
  // The new tips' objects are seen as the pack is indexed (their types; what a tag points at).
  const tips = new TipObjects(commands.filter((c) => c.new !== ZERO_OID).map((c) => c.new));
  const indexed = await indexReceivedPack(env, ctx, input, files, oldStore, links, tips);
  if (typeof indexed === "string") return refused(commands, indexed);

  const graph = new CommitGraph(indexed.store);
  await checkConnectivity(commands, indexed, oldStore, verdicts);
  const updates = await refUpdates(commands, snapshot, ctx, graph, oldStore, verdicts, tips);
  checkQuotaAndAtomicity(commands, updates, indexed.pack, snapshot, ctx, input.atomic, verdicts);

  const applied = await commitUpdates(env, ctx, commands, input, updates, indexed, files, verdicts);
  if (applied.length > 0) await notifyApplied(env, ctx, snapshot, applied);
  return { unpackError: null, commands: commands.map((c) => ({ name: c.name, error: verdicts.errors.get(c.name) ?? null })) };
}

/** The whole push refused for one reason; every ref names it too. */
function refused(commands: Command[], reason: string): ApplyResult {
  return { unpackError: reason, commands: commands.map((c) => ({ name: c.name, error: reason })) };
}

/** Cheap checks first: names, duplicates, commands that do nothing. */
function checkCommands(commands: Command[], verdicts: Verdicts): void {
  const seen = new Set<string>();
  for (const c of commands) {
    const problem = refNameProblem(c.name);
    if (problem) verdicts.fail(c.name, `funny refname (${problem})`);
    if (seen.has(c.name)) verdicts.fail(c.name, "duplicate ref update");
    seen.add(c.name);
    if (c.old === ZERO_OID && c.new === ZERO_OID) verdicts.fail(c.name, "nothing to do");
  }
}

/**
 * Indexes the received pack with bounded memory; a thin pack is stored again completed with its
 * bases, so it stands on its own. Returns the refusal's reason when the pack is corrupt.
 */
async function indexReceivedPack(
  env: Env,
  ctx: PushContext,
  input: ApplyInput,
  files: PushPack,
  oldStore: ObjectStore,
  links: SpillRuns,
  tips: TipObjects,
): Promise<Indexed | string> {
  if (input.received === 0) return { store: oldStore, pack: null, received: null, links, streamable: false };
  await input.progress(`Indexing the pack (${mib(input.received)})...\n`);
  const indexStart = Date.now();
  let source = new WindowedSource(new R2Source(env.OBJECTS, files.key, input.received));
  let indexed: Awaited<ReturnType<typeof indexPackIntoR2>>;
  try {
    indexed = await indexPackIntoR2(
      env.OBJECTS,
      source,
      { idxKey: files.idxKey, spill: r2SpillStore(env.OBJECTS, ctx.repo.tenantId, ctx.repo.repoId, "index") },
      {
        external: async (oid) => ((await oldStore.has(oid)) ? oldStore.read(oid) : null),
        onObject: (type, data) => collectLinks(type, data, links),
        wanted: tips.wanted,
        onWanted: tips.onWanted,
      },
    );
  } catch (err) {
    await files.drop();
    if (err instanceof GitError) return err.message;
    throw err;
  }
  let size = input.received;
  let count = indexed.count;
  /** The index of the pack to store: the received one's (opened from R2), or the completed one's. */
  let index: PackLookup;
  let received: SortedIds;
  if (indexed.missingBases.length > 0) {
    const completed = await storeCompleted(env, ctx.repo, files, source, indexed, oldStore);
    await input.progress(`Completed the thin pack with ${indexed.missingBases.length} objects it refers to.\n`);
    ({ size, count, index, received } = completed);
    source = new WindowedSource(new R2Source(env.OBJECTS, files.key, size));
  } else {
    const opened = await openIndexed(env.OBJECTS, files.idxKey, indexed);
    index = opened.index;
    received = opened.ids;
  }
  let pack: Indexed["pack"] = null;
  let store = oldStore;
  if (count > 0) {
    pack = { name: files.name, objects: count, bytes: size };
    store = new ObjectStore([new Pack(files.name, index, source), ...oldStore.packs]);
  } else {
    await files.drop();
  }
  await input.progress(`Received ${count} objects (indexed in ${((Date.now() - indexStart) / 1000).toFixed(1)} s).\n`);
  return { store, pack, received, links, streamable: indexed.basesFirst };
}

/**
 * Every new tip must reach only objects the repository has, or this pack brings. The received
 * pack's index is in memory; what it lacks is looked up in the repository's packs in one batch.
 */
async function checkConnectivity(
  commands: Command[],
  indexed: Indexed,
  oldStore: ObjectStore,
  verdicts: Verdicts,
): Promise<void> {
  const live = commands.filter((c) => !verdicts.has(c.name) && c.new !== ZERO_OID);
  const received = indexed.received;
  indexed.connected = await checkLinks(
    indexed.links,
    received,
    live.map((c) => c.new),
    (oids) => oldStore.filterPresent(oids),
  );
  if (indexed.connected.missing !== null) {
    for (const c of live) verdicts.fail(c.name, "missing necessary objects");
  }
}

/** The ref rules: the current branch stays, protected branches only move forward, branches name commits. */
async function refUpdates(
  commands: Command[],
  snapshot: RepoSnapshot,
  ctx: PushContext,
  graph: CommitGraph,
  oldStore: ObjectStore,
  verdicts: Verdicts,
  tips: TipObjects,
): Promise<RefUpdate[]> {
  const current = new Map(snapshot.refs.map((r) => [r.name, r.oid]));
  const updates: RefUpdate[] = [];
  for (const c of commands) {
    if (verdicts.has(c.name)) continue;
    const deleting = c.new === ZERO_OID;
    if (isHiddenRef(c.name) && !ctx.hiddenRefs) {
      verdicts.fail(c.name, "refs/reviews/ is the forge's own: upload patches as a review instead");
      continue;
    }
    if (deleting && c.name === snapshot.head && current.has(c.name)) {
      verdicts.fail(c.name, "refusing to delete the current branch (change the default branch first)");
      continue;
    }
    if (ctx.protectedRefs.has(c.name)) {
      if (deleting) {
        verdicts.fail(c.name, "protected branch: deletion refused");
        continue;
      }
      if (c.old !== ZERO_OID && (await oldStore.has(c.old)) && !(await isReachable(graph, c.old, [c.new]))) {
        verdicts.fail(c.name, "protected branch: non-fast-forward update refused");
        continue;
      }
    }
    let peeled: Oid | null = null;
    if (!deleting) {
      const peel = await tips.peel(c.new, graph);
      if (c.name.startsWith("refs/heads/") && (peel.tags.length > 0 || peel.type !== "commit")) {
        verdicts.fail(c.name, "a branch must point at a commit");
        continue;
      }
      peeled = peel.tags.length ? peel.oid : null;
    }
    updates.push({ name: c.name, old: c.old, new: c.new, peeled });
  }
  return updates;
}

/** A pack over the plan's quota refuses every update; an atomic push with any refusal, all of them. */
function checkQuotaAndAtomicity(
  commands: Command[],
  updates: RefUpdate[],
  pack: Indexed["pack"],
  snapshot: RepoSnapshot,
  ctx: PushContext,
  atomic: boolean,
  verdicts: Verdicts,
): void {
  const newBytes = snapshot.packs.reduce((n, p) => n + p.bytes, 0) + (pack?.bytes ?? 0);
  if (pack && newBytes > ctx.maxRepoBytes) {
    for (const u of updates)
      verdicts.fail(u.name, `over quota: the repository would be ${mib(newBytes)}, the limit is ${mib(ctx.maxRepoBytes)}`);
    updates.length = 0;
  }
  if (atomic && verdicts.errors.size > 0) {
    for (const c of commands) verdicts.fail(c.name, "atomic push failed");
    updates.length = 0;
  }
}

function chooseHead(applied: Command[]): string | undefined {
  const branches = applied.filter((c) => c.name.startsWith("refs/heads/") && c.new !== ZERO_OID).map((c) => c.name);
  return ["refs/heads/main", "refs/heads/master"].find((b) => branches.includes(b)) ?? branches[0];
}

/**
 * Commits the accepted updates and lists the pack, in one Durable Object transaction; returns the
 * updates that landed. A pack no landed update needs is deleted.
 */
async function commitUpdates(
  env: Env,
  ctx: PushContext,
  commands: Command[],
  input: ApplyInput,
  updates: RefUpdate[],
  indexed: Indexed,
  files: PushPack,
  verdicts: Verdicts,
): Promise<RefUpdate[]> {
  const { snapshot } = input;
  const { pack } = indexed;
  // A push into an empty repository that sets every ref may leave a pack that clones can stream.
  const closureOf = async (all: RefUpdate[]) => {
    if (!indexed.streamable || snapshot.refs.length > 0 || verdicts.errors.size > 0 || all.length !== commands.length)
      return null;
    const tips = new Set(all.map((u) => u.new));
    return indexed.connected && isClosure(indexed.connected, tips) ? setHash(tips) : null;
  };
  let applied: RefUpdate[] = [];
  if (updates.length > 0) {
    let result: Awaited<ReturnType<ReturnType<typeof repoStub>["update"]>>;
    const closure = pack ? await closureOf(updates) : null;
    try {
      result = await repoStub(env, ctx.repo).update(updates, {
        atomic: input.atomic,
        pack: pack ? { ...pack, createdAt: Date.now(), closure } : undefined,
        headIfEmpty: chooseHead(updates.map((u) => ({ name: u.name, old: u.old, new: u.new }))),
        requirePacks: snapshot.packs.map((p) => p.name),
        repo: ctx.repo,
      });
    } catch (err) {
      // Unless the commit happened after all (its reply lost), leave no orphan pack behind; an
      // unanswerable question leaves the pack for compaction's sweep of unlisted packs.
      if (pack) {
        const listed = await repoStub(env, ctx.repo)
          .snapshot()
          .then((s) => s.packs.some((p) => p.name === pack.name))
          .catch(() => true);
        if (!listed) await files.drop().catch(() => undefined);
      }
      throw err;
    }
    for (const r of result.results) if (!r.ok) verdicts.fail(r.name, r.reason);
    applied = updates.filter((u) => !verdicts.has(u.name));
  }
  if (applied.length === 0 && pack) await files.drop();
  return applied;
}

/** Queues the landed push, with the untouched branches' tips (history known before it). */
async function notifyApplied(env: Env, ctx: PushContext, snapshot: RepoSnapshot, applied: RefUpdate[]): Promise<void> {
  const touched = new Set(applied.map((u) => u.name));
  const known = new Set(snapshot.refs.filter((r) => r.name.startsWith("refs/heads/") && !touched.has(r.name)).map((r) => r.oid));
  await notifyPushed(env, {
    tenantId: ctx.repo.tenantId,
    repoId: ctx.repo.repoId,
    pusher: ctx.pusher,
    updates: applied.map((u) => ({ name: u.name, old: u.old, new: u.new })),
    at: new Date().toISOString(),
    known: [...known],
  });
}
