// Receiving a download file: the bytes stream into R2 (one PUT, or a multipart upload of 8 MiB
// parts past that) while their SHA-256 is computed, refused past the size limit with nothing kept.
import { r2Keys } from "../../storage/keys";
import { R2StreamWriter } from "../../storage/r2-writer";
import { hex, randomId } from "../../utils/crypto";
import { ForgeError } from "../../utils/errors";
import { readMultipart, type FileSink } from "../../utils/multipart";
import { formatBytes } from "../issues/attachments";

const MiB = 1024 * 1024;
/** The largest download file when the tenant's plan does not say (docs/deploy.md). */
export const DEFAULT_DOWNLOAD_BYTES = 200 * MiB;

/** The size limit of one file under a plan. */
export const downloadLimit = (plan: { maxDownloadBytes?: number }) => plan.maxDownloadBytes ?? DEFAULT_DOWNLOAD_BYTES;

export interface UploadTarget {
  bucket: R2Bucket;
  tenantId: string;
  projectId: number;
  maxBytes: number;
}

/** A file stored in R2, not yet described in D1 (createDownload does that, or discard it). */
export interface StoredFile {
  id: string;
  r2Key: string;
  size: number;
  sha256: string;
  /** The name the client sent with the bytes (a form's file name), if any. */
  clientName: string | null;
}

export const tooLarge = (maxBytes: number) =>
  new ForgeError(
    "payload_too_large",
    `The file is larger than this forge's limit of ${formatBytes(maxBytes)} per download; upload a smaller file or ask the operator for a larger plan.`,
  );

/** Writes one file to R2 as it streams in, hashing it on the way; past `maxBytes` it throws 413. */
export class DownloadSink implements FileSink {
  readonly id = randomId(16);
  private readonly writer: R2StreamWriter;
  private readonly digest = new crypto.DigestStream("SHA-256");
  private readonly hashing = this.digest.getWriter();
  private size = 0;
  private sha256: string | null = null;

  constructor(
    private readonly target: UploadTarget,
    readonly clientName: string | null = null,
  ) {
    this.writer = new R2StreamWriter(target.bucket, r2Keys.download(target.tenantId, target.projectId, this.id));
    // An aborted upload rejects the digest; nobody waits for it then.
    this.digest.digest.catch(() => {});
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.size += chunk.length;
    if (this.size > this.target.maxBytes) throw tooLarge(this.target.maxBytes);
    await this.hashing.write(chunk);
    await this.writer.write(chunk);
  }

  async end(): Promise<void> {
    await this.writer.finish();
    await this.hashing.close();
    this.sha256 = hex(await this.digest.digest);
  }

  /** Gives up: nothing of the file stays in R2. */
  async abort(): Promise<void> {
    await this.hashing.abort().catch(() => {});
    await this.writer.abort();
  }

  stored(): StoredFile {
    if (this.sha256 === null) throw new Error("DownloadSink.stored() before end()");
    return { id: this.id, r2Key: this.writer.key, size: this.size, sha256: this.sha256, clientName: this.clientName };
  }
}

async function finishOrEmpty(sink: DownloadSink): Promise<StoredFile> {
  const stored = sink.stored();
  if (stored.size === 0) {
    await sink.abort();
    throw new ForgeError("bad_request", "The file is empty: choose a file with something in it.");
  }
  return stored;
}

/** Stores a file sent as a raw request body (the API, the upload page's script). */
export async function storeRawFile(body: ReadableStream<Uint8Array>, target: UploadTarget): Promise<StoredFile> {
  const sink = new DownloadSink(target);
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) await sink.write(chunk);
    await sink.end();
  } catch (err) {
    await sink.abort();
    throw err;
  }
  return finishOrEmpty(sink);
}

/** The form field of the file on the upload form. */
export const FILE_FIELD = "file";

/**
 * Reads the upload form (multipart/form-data): text fields into `fields` as they arrive, the
 * `file` part streamed to R2. `beforeFile` sees the fields sent before the file (the form puts
 * them first) and may refuse early, before any byte is stored. On any failure nothing stays.
 */
export async function receiveUploadForm(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  target: UploadTarget,
  fields: Record<string, string>,
  beforeFile: (fields: Record<string, string>, clientName: string) => Promise<void>,
): Promise<StoredFile | null> {
  let sink: DownloadSink | null = null;
  try {
    await readMultipart(
      body,
      boundary,
      {
        maxFieldBytes: 256 * 1024,
        maxParts: 60,
        onFile: async (part) => {
          if (part.field !== FILE_FIELD) return null;
          if (sink) throw new ForgeError("bad_request", "Upload one file at a time.");
          await beforeFile(fields, part.filename);
          sink = new DownloadSink(target, part.filename);
          return sink;
        },
      },
      fields,
    );
  } catch (err) {
    await (sink as DownloadSink | null)?.abort();
    throw err;
  }
  return sink ? finishOrEmpty(sink) : null;
}

/** Removes a stored file that could not be described (so nothing is orphaned). */
export async function discardStored(bucket: R2Bucket, stored: StoredFile): Promise<void> {
  await bucket.delete(stored.r2Key).catch(() => {});
}
