// Archives too large for one request are uploaded in parts: an R2 multipart upload stages them
// at the same key a whole upload uses, and completing it restores the tenant from there.
import type { Env } from "../../env";
import { backupKeys } from "../../storage/keys";
import { base64url, randomId } from "../../utils/crypto";
import { badRequest, ForgeError, notFound } from "../../utils/errors";
import { restoreStaged, type ImportOptions, type ImportResult } from "./import";

/** Every part but the last has this size (R2 wants at least 5 MiB; fewer parts, fewer requests). */
export const PART_BYTES = 64 * 1024 * 1024;
/** R2 allows 10,000 parts: 625 GiB at 64 MiB, far above any tenant a plan allows. */
const MAX_PARTS = 10_000;

export interface PartUpload {
  /** Names the staging key and R2's upload id; the client sends it back with each part. */
  id: string;
  size: number;
  partSize: number;
  parts: number;
}

interface UploadRef {
  stagingId: string;
  uploadId: string;
}

function encodeId(ref: UploadRef): string {
  return base64url(new TextEncoder().encode(JSON.stringify([ref.stagingId, ref.uploadId])));
}

function decodeId(id: string): UploadRef {
  try {
    const json = atob(id.replace(/-/g, "+").replace(/_/g, "/"));
    const [stagingId, uploadId] = JSON.parse(json) as [unknown, unknown];
    if (typeof stagingId === "string" && /^[a-z0-9]{16}$/.test(stagingId) && typeof uploadId === "string" && uploadId)
      return { stagingId, uploadId };
  } catch {}
  throw notFound(`backup upload ${id}`);
}

export async function startUpload(env: Env, size: number): Promise<PartUpload> {
  if (!Number.isSafeInteger(size) || size <= 0) throw badRequest("size must be the archive's length in bytes");
  const parts = Math.ceil(size / PART_BYTES);
  if (parts > MAX_PARTS)
    throw new ForgeError("payload_too_large", `an archive of ${size} bytes needs more than ${MAX_PARTS} parts`);
  const stagingId = randomId(16);
  const upload = await env.OBJECTS.createMultipartUpload(backupKeys.staging(stagingId));
  return { id: encodeId({ stagingId, uploadId: upload.uploadId }), size, partSize: PART_BYTES, parts };
}

/** Stores part `n` (1-based); every part but the last must be exactly PART_BYTES long. */
export async function uploadPart(
  env: Env,
  id: string,
  n: number,
  length: number,
  body: ReadableStream<Uint8Array>,
): Promise<{ part: number; etag: string }> {
  const ref = decodeId(id);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) throw badRequest(`part ${n} is not a part number (1 to ${MAX_PARTS})`);
  if (!Number.isSafeInteger(length) || length <= 0 || length > PART_BYTES)
    throw badRequest(`a part is 1 to ${PART_BYTES} bytes with its Content-Length`);
  const upload = env.OBJECTS.resumeMultipartUpload(backupKeys.staging(ref.stagingId), ref.uploadId);
  const fixed = new FixedLengthStream(length);
  const [uploaded] = await Promise.all([upload.uploadPart(n, fixed.readable), body.pipeTo(fixed.writable)]).catch((err) => {
    throw badRequest(`part ${n} could not be stored (${(err as Error).message}); upload it again`);
  });
  return { part: uploaded.partNumber, etag: uploaded.etag };
}

/** Joins the parts (as the client lists them) and restores the tenant from the whole archive. */
export async function completeUpload(
  env: Env,
  id: string,
  parts: { part: number; etag: string }[],
  options: ImportOptions,
  actor: string,
): Promise<ImportResult> {
  const ref = decodeId(id);
  const key = backupKeys.staging(ref.stagingId);
  const upload = env.OBJECTS.resumeMultipartUpload(key, ref.uploadId);
  try {
    await upload.complete(parts.map((p) => ({ partNumber: p.part, etag: p.etag })));
  } catch (err) {
    await upload.abort().catch(() => undefined);
    throw badRequest(`the parts could not be joined (${(err as Error).message}); start the upload again`);
  }
  return restoreStaged(env, key, options, actor);
}
