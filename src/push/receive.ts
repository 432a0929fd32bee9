// A push, end to end: the pack is streamed into R2, indexed with bounded memory (thin packs get
// their bases appended), checked for connectivity, then every ref update is committed in one
// Durable Object transaction with compare-and-swap. Nothing is visible until that commit.
import type { Env } from "../env";
import { CommitGraph } from "../git/commit-graph";
import { findMissing, isClosure } from "../git/connectivity";
import { collectLinks } from "../git/links";
import { OidSet } from "../git/oid-set";
import { GitError } from "../git/errors";
import { decodedBody } from "../git/content-encoding";
import { isReachable } from "../git/negotiate";
import { ObjectStore, Pack } from "../git/object-store";
import { setHash, ZERO_OID, type Oid } from "../git/oid";
import { completeThinPack } from "../git/pack-completer";
import { PackIndex } from "../git/pack-index";
import { indexPack } from "../git/pack-indexer";
import { PktResponse, pkt, FLUSH } from "../git/pkt-line";
import { WindowedSource } from "../git/range-source";
import { readPushRequest, reportLines, type Command, type CommandResult } from "../git/receive-pack";
import { refNameProblem } from "../git/ref-names";
import type { RefUpdate, RepoSnapshot } from "../repo/repo-object";
import { openStore, repoStub, type RepoRef } from "../services/repositories";
import { r2Keys } from "../storage/keys";
import { R2Source } from "../storage/r2-source";
import { R2StreamWriter } from "../storage/r2-writer";
import { randomId } from "../utils/crypto";

export interface PushContext {
  repo: RepoRef;
  /** Who pushes (for the timeline). */
  pusher: string;
  /** The tenant plan's largest repository, in bytes. */
  maxRepoBytes: number;
  /** Refs that refuse deletion and non-fast-forward updates. */
  protectedRefs: Set<string>;
}

export interface PushedEvent {
  tenantId: string;
  repoId: string;
  pusher: string;
  /** The ref updates that landed (this part's share of them when the push is split). */
  updates: { name: string; old: Oid; new: Oid }[];
  at: string;
  /**
   * A push too large for one queue message goes as several: which one this is, and how many refs
   * the whole push updated. Absent when the push fits one message.
   */
  part?: { id: string; index: number; count: number; refs: number };
  /**
   * Tips of the branches the push left alone, as they were before it: their history was known
   * before the push, whatever landed since. Absent from events queued by older versions.
   */
  known?: Oid[];
}

/**
 * Largest serialized event, in bytes of JSON. A Queue message may hold 128 KB (as serialized for
 * the queue, which for these ASCII fields is no larger than their JSON); the rest is headroom.
 */
export const MAX_EVENT_BYTES = 96_000;
/** Largest sendBatch() call: at most 100 messages and 256 KB in all. */
const MAX_BATCH_MESSAGES = 100;
const MAX_BATCH_BYTES = 192_000;

const encoder = new TextEncoder();

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

function chooseHead(applied: Command[]): string | undefined {
  const branches = applied.filter((c) => c.name.startsWith("refs/heads/") && c.new !== ZERO_OID).map((c) => c.name);
  return ["refs/heads/main", "refs/heads/master"].find((b) => branches.includes(b)) ?? branches[0];
}

/**
 * Stores the pushed pack while it fits in `room` (or `declared`, its size from Content-Length,
 * says it cannot: then nothing is stored). Either way the body is read to its end: git sends all
 * of it before it reads the answer, and a body left unread resets the connection, so git would
 * print "curl 55 ... Connection reset" and "Everything up-to-date" instead of the reason.
 */
async function receiveInto(
  writer: R2StreamWriter,
  pack: ReadableStream<Uint8Array>,
  room: number,
  declared: number | null,
): Promise<{ stored: number; bytes: number; over: boolean; error: unknown }> {
  const reader = pack.getReader();
  let bytes = 0;
  let over = declared !== null && declared > room;
  let error: unknown = null;
  for (;;) {
    let step: Awaited<ReturnType<typeof reader.read>>;
    try {
      step = await reader.read();
    } catch (err) {
      error = err; // the body itself broke (say, corrupt gzip): nothing more can be read
      break;
    }
    if (step.done) break;
    bytes += step.value.length;
    if (over || error) continue;
    if (bytes > room) {
      over = true;
      await writer.abort(); // frees what was buffered; the rest is only counted
      continue;
    }
    try {
      await writer.write(step.value);
    } catch (err) {
      error = err;
    }
  }
  if (!over && !error) {
    try {
      return { stored: await writer.finish(), bytes, over, error };
    } catch (err) {
      error = err;
    }
  }
  await writer.abort();
  return { stored: 0, bytes, over, error };
}

export async function receivePack(env: Env, ctx: PushContext, request: Request): Promise<Response> {
  if (!request.body) return new Response("a push needs a request body\n", { status: 400 });
  const body = decodedBody(request.body, request.headers.get("content-encoding"));
  let push: Awaited<ReturnType<typeof readPushRequest>>;
  try {
    push = await readPushRequest(body);
  } catch (err) {
    if (err instanceof GitError) return new Response(`${err.message}\n`, { status: 400 });
    throw err;
  }
  const headers = { "content-type": "application/x-git-receive-pack-result", "cache-control": "no-cache" };
  // The "0000" probe git sends before a large chunked push: nothing to do.
  if (push.commands.length === 0) return new Response(null, { status: 200, headers });

  const sideband = push.capabilities.has("side-band-64k");
  const quiet = push.capabilities.has("quiet");
  const atomic = push.capabilities.has("atomic");
  const out = new PktResponse();
  const progress = async (message: string) => {
    if (sideband && !quiet) await out.band(2, encoder.encode(message));
  };

  const stub = repoStub(env, ctx.repo);
  const snapshot = await stub.snapshot();
  const repoBytes = snapshot.packs.reduce((n, p) => n + p.bytes, 0);

  // Receive the pack before answering: git sends all of it before it reads a byte of the reply.
  const packName = `pack-${randomId(24)}`;
  const packKey = r2Keys.pack(ctx.repo.tenantId, ctx.repo.repoId, packName);
  let received = 0;
  let unpackError: string | null = null;
  if (push.pack) {
    const room = Math.max(0, ctx.maxRepoBytes - repoBytes);
    // Without compression, Content-Length tells the pack's size before a byte of it is read.
    const length = Number(request.headers.get("content-length") ?? NaN);
    const declared = request.headers.has("content-encoding") || !Number.isSafeInteger(length) ? null : length - push.headBytes;
    const got = await receiveInto(new R2StreamWriter(env.OBJECTS, packKey), push.pack, room, declared);
    received = got.stored;
    if (got.over) {
      unpackError =
        `repository would exceed this forge's limit of ${mib(ctx.maxRepoBytes)} ` +
        `(it holds ${mib(repoBytes)} already, this push sends ${mib(got.bytes)})`;
    } else if (got.error instanceof GitError) {
      unpackError = got.error.message; // e.g. a gzip body that breaks off mid-pack
    } else if (got.error) {
      console.error(JSON.stringify({ level: "error", message: `storing a pushed pack failed: ${String(got.error)}` }));
      unpackError = "the forge could not store the pack; nothing was changed, please push again";
    }
  }

  const work = (async () => {
    const results = await applyPush(env, ctx, push.commands, {
      snapshot,
      packKey,
      packName,
      received,
      unpackError,
      atomic,
      progress,
    });
    const report = reportLines(results.unpackError, results.commands);
    if (sideband) {
      const inner = [...report.map((l) => pkt(`${l}\n`)), FLUSH];
      for (const p of inner) await out.band(1, p);
      await out.flush();
    } else if (push.capabilities.has("report-status") || push.capabilities.has("report-status-v2")) {
      for (const l of report) await out.line(l);
      await out.flush();
    }
    await out.close();
  })();
  work.catch(async (err) => {
    console.error(JSON.stringify({ level: "error", message: String((err as Error)?.stack ?? err) }));
    try {
      if (sideband) await out.band(3, encoder.encode("the push service failed; nothing was changed\n"));
      await out.close();
    } catch {
      await out.abort(err).catch(() => undefined);
    }
  });
  return new Response(out.stream, { status: 200, headers });
}

interface ApplyInput {
  snapshot: RepoSnapshot;
  packKey: string;
  packName: string;
  received: number;
  unpackError: string | null;
  atomic: boolean;
  progress: (message: string) => Promise<void>;
}

async function applyPush(
  env: Env,
  ctx: PushContext,
  commands: Command[],
  input: ApplyInput,
): Promise<{ unpackError: string | null; commands: CommandResult[] }> {
  const { snapshot } = input;
  let { packKey, packName } = input;
  let idxKey = packKey.replace(/\.pack$/, ".idx");
  const errors = new Map<string, string>();
  const fail = (name: string, reason: string) => {
    if (!errors.has(name)) errors.set(name, reason);
  };
  // Every ref names the reason too: git shows it beside each rejected ref.
  const refused = (reason: string) => ({
    unpackError: reason,
    commands: commands.map((c) => ({ name: c.name, error: reason })),
  });
  const drop = () => env.OBJECTS.delete([packKey, idxKey]);

  if (input.unpackError) return refused(input.unpackError);

  // Cheap checks first: names, duplicates, what the client believes the refs are.
  const seen = new Set<string>();
  for (const c of commands) {
    const problem = refNameProblem(c.name);
    if (problem) fail(c.name, `funny refname (${problem})`);
    if (seen.has(c.name)) fail(c.name, "duplicate ref update");
    seen.add(c.name);
    if (c.old === ZERO_OID && c.new === ZERO_OID) fail(c.name, "nothing to do");
  }

  const oldStore = await openStore(env.OBJECTS, ctx.repo, snapshot);
  let store = oldStore;
  let pack: { name: string; objects: number; bytes: number } | null = null;
  /** What the pack's objects point at: checked against the pack and the repository. */
  const links = new OidSet();
  /** The received pack's own objects (before a thin pack is completed). */
  let received: PackIndex | null = null;
  /** Clones may be sent the stored pack as it is: complete, every delta's base before it. */
  let streamable = false;
  if (input.received > 0) {
    await input.progress(`Indexing the pack (${mib(input.received)})...\n`);
    const indexStart = Date.now();
    let source = new WindowedSource(new R2Source(env.OBJECTS, packKey, input.received));
    let indexed: Awaited<ReturnType<typeof indexPack>>;
    try {
      indexed = await indexPack(source, {
        external: async (oid) => (oldStore.has(oid) ? oldStore.read(oid) : null),
        onObject: (type, data) => collectLinks(type, data, links),
      });
    } catch (err) {
      await drop();
      if (err instanceof GitError) return refused(err.message);
      throw err;
    }
    let index = indexed.index;
    let size = input.received;
    let count = indexed.count;
    if (indexed.missingBases.length > 0) {
      // Thin pack: store it completed with its bases, so it stands on its own.
      const bases = await Promise.all(indexed.missingBases.map(async (oid) => ({ oid, object: await oldStore.read(oid) })));
      const completedName = `pack-${randomId(24)}`;
      const completedKey = r2Keys.pack(ctx.repo.tenantId, ctx.repo.repoId, completedName);
      const writer = new R2StreamWriter(env.OBJECTS, completedKey);
      let completed: Awaited<ReturnType<typeof completeThinPack>>;
      try {
        completed = await completeThinPack(source, indexed, bases, (chunk) => writer.write(chunk));
        await writer.finish();
      } catch (err) {
        await writer.abort();
        await drop();
        throw err;
      }
      await drop();
      await input.progress(`Completed the thin pack with ${bases.length} objects it refers to.\n`);
      packName = completedName;
      packKey = completedKey;
      idxKey = packKey.replace(/\.pack$/, ".idx");
      index = completed.index;
      size = completed.size;
      count = completed.count;
      source = new WindowedSource(new R2Source(env.OBJECTS, packKey, size));
    }
    received = new PackIndex(indexed.index);
    streamable = indexed.basesFirst;
    if (count > 0) {
      await env.OBJECTS.put(idxKey, index);
      pack = { name: packName, objects: count, bytes: size };
      store = new ObjectStore([new Pack(packName, new PackIndex(index), source), ...oldStore.packs]);
    } else {
      await drop();
    }
    await input.progress(`Received ${count} objects (indexed in ${((Date.now() - indexStart) / 1000).toFixed(1)} s).\n`);
  }

  const graph = new CommitGraph(store);
  const live = commands.filter((c) => !errors.has(c.name) && c.new !== ZERO_OID);
  if (
    findMissing(
      links,
      live.map((c) => c.new),
      (oid) => store.has(oid),
    ) !== null
  ) {
    for (const c of live) fail(c.name, "missing necessary objects");
  }

  const current = new Map(snapshot.refs.map((r) => [r.name, r.oid]));
  const updates: RefUpdate[] = [];
  for (const c of commands) {
    if (errors.has(c.name)) continue;
    const deleting = c.new === ZERO_OID;
    if (deleting && c.name === snapshot.head && current.has(c.name)) {
      fail(c.name, "refusing to delete the current branch (change the default branch first)");
      continue;
    }
    if (ctx.protectedRefs.has(c.name)) {
      if (deleting) {
        fail(c.name, "protected branch: deletion refused");
        continue;
      }
      if (c.old !== ZERO_OID && oldStore.has(c.old) && !(await isReachable(graph, c.old, [c.new]))) {
        fail(c.name, "protected branch: non-fast-forward update refused");
        continue;
      }
    }
    let peeled: Oid | null = null;
    if (!deleting) {
      const peel = await graph.peel(c.new);
      if (c.name.startsWith("refs/heads/") && (peel.tags.length > 0 || peel.type !== "commit")) {
        fail(c.name, "a branch must point at a commit");
        continue;
      }
      peeled = peel.tags.length ? peel.oid : null;
    }
    updates.push({ name: c.name, old: c.old, new: c.new, peeled });
  }

  const newBytes = snapshot.packs.reduce((n, p) => n + p.bytes, 0) + (pack?.bytes ?? 0);
  if (pack && newBytes > ctx.maxRepoBytes) {
    for (const u of updates)
      fail(u.name, `over quota: the repository would be ${mib(newBytes)}, the limit is ${mib(ctx.maxRepoBytes)}`);
    updates.length = 0;
  }
  if (input.atomic && errors.size > 0) {
    for (const c of commands) fail(c.name, "atomic push failed");
    updates.length = 0;
  }

  // A push into an empty repository that sets every ref may leave a pack that clones can stream.
  const closureOf = (all: RefUpdate[]) => {
    if (!streamable || !received || snapshot.refs.length > 0 || errors.size > 0 || all.length !== commands.length) return null;
    const tips = new Set(all.map((u) => u.new));
    return isClosure(received, links, tips) ? setHash(tips) : null;
  };
  let applied: RefUpdate[] = [];
  if (updates.length > 0) {
    let result: Awaited<ReturnType<ReturnType<typeof repoStub>["update"]>>;
    try {
      result = await repoStub(env, ctx.repo).update(updates, {
        atomic: input.atomic,
        pack: pack ? { ...pack, createdAt: Date.now(), closure: closureOf(updates) } : undefined,
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
          .then((s) => s.packs.some((p) => p.name === pack!.name))
          .catch(() => true);
        if (!listed) await drop().catch(() => undefined);
      }
      throw err;
    }
    for (const r of result.results) if (!r.ok) fail(r.name, r.reason);
    applied = updates.filter((u) => !errors.has(u.name));
  }
  if (applied.length === 0 && pack) await drop();
  if (applied.length > 0) {
    const touched = new Set(applied.map((u) => u.name));
    const known = new Set(
      snapshot.refs.filter((r) => r.name.startsWith("refs/heads/") && !touched.has(r.name)).map((r) => r.oid),
    );
    await notifyPushed(env, {
      tenantId: ctx.repo.tenantId,
      repoId: ctx.repo.repoId,
      pusher: ctx.pusher,
      updates: applied.map((u) => ({ name: u.name, old: u.old, new: u.new })),
      at: new Date().toISOString(),
      known: [...known],
    });
  }
  return { unpackError: null, commands: commands.map((c) => ({ name: c.name, error: errors.get(c.name) ?? null })) };
}

const jsonBytes = (value: unknown) => encoder.encode(JSON.stringify(value)).length;

/**
 * The event as queue messages of at most `maxBytes` each: one when it fits, else parts that share
 * its updates in order, each carrying the push's id and counts. `known` is trimmed to half a
 * message if need be: a shorter list only makes commit links read more history (their comments
 * are keyed per commit and issue, so nothing is linked twice).
 */
export function splitPushedEvent(event: PushedEvent, maxBytes = MAX_EVENT_BYTES): PushedEvent[] {
  if (jsonBytes(event) <= maxBytes) return [event];
  const part = { id: randomId(16), index: 0, count: 0, refs: event.updates.length };
  // Sized with the widest numbers a part can carry.
  const frame = { ...event, updates: [], part: { ...part, index: 99_999, count: 99_999 } };
  let known = event.known;
  if (known && jsonBytes(frame) > maxBytes / 2) {
    const room = maxBytes / 2 - jsonBytes({ ...frame, known: [] });
    known = known.slice(0, Math.max(0, Math.floor(room / 43))); // 40 hex digits, 2 quotes, 1 comma
  }
  const frameBytes = jsonBytes({ ...frame, known });
  const parts: PushedEvent["updates"][] = [[]];
  let bytes = frameBytes;
  for (const u of event.updates) {
    const size = jsonBytes(u) + 1;
    if (bytes + size > maxBytes && parts[parts.length - 1]!.length > 0) {
      parts.push([]);
      bytes = frameBytes;
    }
    parts[parts.length - 1]!.push(u);
    bytes += size;
  }
  return parts.map((updates, index) => ({ ...event, updates, known, part: { ...part, index, count: parts.length } }));
}

/** Post-push work (timeline, issue links, derived data) runs elsewhere, off the push's critical path. */
async function notifyPushed(env: Env, event: PushedEvent): Promise<void> {
  const queue = env.POST_PUSH as Queue<PushedEvent> | undefined;
  if (!queue) return;
  const messages = splitPushedEvent(event);
  let sent = 0;
  try {
    if (messages.length === 1) {
      await queue.send(messages[0]!);
      sent = 1;
    }
    while (sent < messages.length) {
      const batch: PushedEvent[] = [];
      let bytes = 0;
      for (const m of messages.slice(sent, sent + MAX_BATCH_MESSAGES)) {
        const size = jsonBytes(m);
        if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
        batch.push(m);
        bytes += size;
      }
      await queue.sendBatch(batch.map((body) => ({ body })));
      sent += batch.length;
    }
  } catch (err) {
    // The push is committed; what was not queued is lost (timeline entry, issue links, derived
    // data), so say exactly what, for an operator to replay.
    console.error(
      JSON.stringify({
        level: "error",
        message: `post-push notification failed: ${String(err)}`,
        tenant: event.tenantId,
        repo: event.repoId,
        refs: event.updates.length,
        messages: messages.length,
        sent,
        bytes: messages.map(jsonBytes),
      }),
    );
  }
}
