// Repository imports, run by the push worker: a pack uploaded in parts (R2 multipart, resumable),
// then indexed with bounded memory, checked for connectivity, and made visible with its refs in
// one Durable Object transaction.
import type { Env } from "../env";
import { CommitGraph } from "../git/commit-graph";
import { GitError } from "../git/errors";
import { ObjectStore, Pack } from "../git/object-store";
import { OID_HEX, setHash, ZERO_OID } from "../git/oid";
import { TipObjects } from "../git/tip-objects";
import { WindowedSource } from "../git/range-source";
import { collectLinks } from "../git/links";
import { checkConnectivity, isClosure, linkRuns } from "../git/connectivity";
import type { ImportRecord, RefUpdate } from "../repo/repo-object";
import { repoStub, type RepoRef } from "../services/repositories";
import { scheduleCheckpointRun } from "../services/checkpoint-drive";
import { indexPackIntoR2, openIndexed } from "../storage/index-spill";
import { r2Keys } from "../storage/keys";
import { R2Source } from "../storage/r2-source";
import { linkSpillBudget, r2SpillStore } from "../storage/spill-store";
import { randomId } from "../utils/crypto";
import { ForgeError } from "../utils/errors";

/** Parts of 64 MiB: under Cloudflare's 100 MB request limit, over R2's 5 MiB minimum. */
export const PART_SIZE = 64 * 1024 * 1024;

export interface NewImport {
  size: number;
  checksum: string;
  refs: { name: string; oid: string }[];
  head: string;
}

const REF_NAME = /^refs\/[^\0\s~^:?*[\\]+$/;

function checkNewImport(input: NewImport): void {
  if (!Number.isSafeInteger(input.size) || input.size < 32)
    throw new ForgeError("bad_request", "size must be the pack's size in bytes");
  if (!OID_HEX.test(input.checksum)) throw new ForgeError("bad_request", "checksum must be the pack's trailer (40 hex digits)");
  if (!Array.isArray(input.refs) || input.refs.length === 0)
    throw new ForgeError("bad_request", "an import needs at least one ref");
  for (const r of input.refs) {
    if (!REF_NAME.test(r.name) || r.name.includes("..") || !OID_HEX.test(r.oid)) {
      throw new ForgeError("bad_request", `bad ref ${JSON.stringify(r)}`);
    }
  }
  if (!REF_NAME.test(input.head)) throw new ForgeError("bad_request", "head must be a ref name such as refs/heads/main");
}

const partsNeeded = (rec: ImportRecord) => Math.max(1, Math.ceil(rec.size / rec.partSize));

export function importStatus(rec: ImportRecord) {
  return {
    id: rec.id,
    size: rec.size,
    part_size: rec.partSize,
    parts: partsNeeded(rec),
    uploaded_parts: Object.keys(rec.parts)
      .map(Number)
      .sort((a, b) => a - b),
  };
}

/** Starts an import, or finds the one in progress for the same pack (so a re-run resumes). */
export async function startImport(env: Env, repo: RepoRef, input: NewImport) {
  checkNewImport(input);
  const stub = repoStub(env, repo);
  const snapshot = await stub.snapshot();
  if (snapshot.refs.length > 0) throw new ForgeError("conflict", "the repository is not empty; import into an empty one");
  const existing = await stub.findImport(input.checksum);
  if (existing) return importStatus(existing);
  const key = r2Keys.pack(repo.tenantId, repo.repoId, `pack-${input.checksum}`);
  const upload = await env.OBJECTS.createMultipartUpload(key);
  const rec: ImportRecord = {
    id: randomId(16),
    key,
    uploadId: upload.uploadId,
    size: input.size,
    partSize: PART_SIZE,
    checksum: input.checksum,
    parts: {},
    refs: input.refs,
    head: input.head,
    createdAt: Date.now(),
  };
  await stub.saveImport(rec);
  return importStatus(rec);
}

async function getRecord(env: Env, repo: RepoRef, id: string): Promise<ImportRecord> {
  const rec = await repoStub(env, repo).getImport(id);
  if (!rec) throw new ForgeError("not_found", `import ${id} not found`);
  return rec;
}

export async function getImport(env: Env, repo: RepoRef, id: string) {
  return importStatus(await getRecord(env, repo, id));
}

export async function uploadPart(env: Env, repo: RepoRef, id: string, part: number, body: ReadableStream, length: number) {
  const rec = await getRecord(env, repo, id);
  const total = partsNeeded(rec);
  if (!Number.isInteger(part) || part < 1 || part > total) throw new ForgeError("bad_request", `part must be 1 to ${total}`);
  const expected = part < total ? rec.partSize : rec.size - rec.partSize * (total - 1);
  if (length !== expected) throw new ForgeError("bad_request", `part ${part} must be ${expected} bytes, got ${length}`);
  const upload = env.OBJECTS.resumeMultipartUpload(rec.key, rec.uploadId);
  const uploaded = await upload.uploadPart(part, body);
  const updated = await repoStub(env, repo).recordPart(id, part, uploaded.etag);
  return importStatus(updated ?? rec);
}

/**
 * Completes the upload, indexes and verifies the pack, and commits its refs. On failure nothing
 * becomes visible: the pack is deleted and the repository stays empty.
 */
export async function completeImport(env: Env, repo: RepoRef, id: string) {
  const stub = repoStub(env, repo);
  const rec = await getRecord(env, repo, id);
  const total = partsNeeded(rec);
  const missing = Array.from({ length: total }, (_, i) => i + 1).filter((n) => !rec.parts[String(n)]);
  if (missing.length) throw new ForgeError("bad_request", `parts ${missing.join(", ")} are not uploaded yet`);

  let head = await env.OBJECTS.head(rec.key);
  if (!head) {
    const upload = env.OBJECTS.resumeMultipartUpload(rec.key, rec.uploadId);
    await upload.complete(Array.from({ length: total }, (_, i) => ({ partNumber: i + 1, etag: rec.parts[String(i + 1)]! })));
    head = await env.OBJECTS.head(rec.key);
  }
  const idxKey = rec.key.replace(/\.pack$/, ".idx");
  // What the pack's objects link to, in sorted runs spilled to R2 past the budget; deleted either way.
  const links = linkRuns(r2SpillStore(env.OBJECTS, repo.tenantId, repo.repoId, "links"), linkSpillBudget(env));
  const fail = async (err: unknown): Promise<never> => {
    await links.dispose().catch(() => undefined);
    await env.OBJECTS.delete([rec.key, idxKey, r2Keys.packIdTableBeside(idxKey)]);
    await stub.dropImport(id);
    if (err instanceof GitError) throw new ForgeError("bad_request", `the pack was refused: ${err.message}`);
    throw err;
  };
  try {
    if (!head || head.size !== rec.size)
      throw new GitError("corrupt_pack", `uploaded ${head?.size ?? 0} bytes, expected ${rec.size}`);
    const source = new WindowedSource(new R2Source(env.OBJECTS, rec.key, rec.size));
    const started = Date.now();
    // The refs' objects are seen as they are indexed: their types, and what a tag points at.
    const tipObjects = new TipObjects(rec.refs.map((r) => r.oid));
    const indexed = await indexPackIntoR2(
      env.OBJECTS,
      source,
      { idxKey, spill: r2SpillStore(env.OBJECTS, repo.tenantId, repo.repoId, "index") },
      {
        onObject: (type, data) => collectLinks(type, data, links),
        wanted: tipObjects.wanted,
        onWanted: tipObjects.onWanted,
      },
    );
    if (indexed.checksum !== rec.checksum) throw new GitError("corrupt_pack", "pack checksum differs from the one announced");
    if (indexed.missingBases.length) throw new GitError("corrupt_pack", "the pack is thin (deltas against objects it lacks)");

    const name = `pack-${rec.checksum}`;
    const { index, ids } = await openIndexed(env.OBJECTS, idxKey, indexed);
    const tips = rec.refs.map((r) => r.oid);
    const connected = await checkConnectivity(links, ids, tips);
    await links.dispose();
    if (connected.missing) throw new GitError("missing_object", `the pack lacks object ${connected.missing}, which it refers to`);
    const store = new ObjectStore([new Pack(name, index, source)]);
    const graph = new CommitGraph(store);
    const updates: RefUpdate[] = [];
    for (const r of rec.refs) {
      if (!tipObjects.has(r.oid)) throw new GitError("missing_object", `ref ${r.name} points at ${r.oid}, which the pack lacks`);
      const peeled = await tipObjects.peel(r.oid, graph);
      updates.push({ name: r.name, old: ZERO_OID, new: r.oid, peeled: peeled.tags.length ? peeled.oid : null });
    }
    // Only a pack whose bases precede their deltas may be streamed to clones as it is.
    const closure = indexed.basesFirst && isClosure(connected, tips) ? setHash(tips) : null;
    const result = await stub.update(updates, {
      atomic: true,
      pack: { name, objects: indexed.count, bytes: rec.size, createdAt: Date.now(), closure },
      headIfEmpty: rec.refs.some((r) => r.name === rec.head) ? rec.head : rec.refs[0]!.name,
      repo,
    });
    if (result.results.some((r) => !r.ok)) throw new ForgeError("conflict", "the repository received refs meanwhile");
    await stub.dropImport(id);
    await deriveLater(env, repo, rec.refs.find((r) => r.name === rec.head)?.oid ?? rec.refs[0]!.oid);
    return {
      pack: name,
      objects: indexed.count,
      refs: updates.length,
      complete: closure !== null,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (err) {
    return fail(err);
  }
}

/**
 * Queues what a push queues for its derived data (the commit-graph build, then the default
 * branch's last-commit checkpoints, run after run): without it an imported repository's history
 * was first computed when someone visited a page. As the repository's current checkpoint drive:
 * one chain per repository, which a later push or page run takes over. The refs are committed
 * already, so a failure here is logged, not the import's.
 */
async function deriveLater(env: Env, repo: RepoRef, defaultTip: string): Promise<void> {
  try {
    await scheduleCheckpointRun(env, repo, defaultTip);
  } catch (err) {
    console.error(
      JSON.stringify({ level: "error", message: `import: queueing its derived data failed: ${String(err)}`, repo: repo.repoId }),
    );
  }
}
