// Files attached to issues: streamed into R2 under the tenant's prefix as they arrive (the plan
// sets the size limit), described in D1, and served with types that cannot run script here.
import { and, eq } from "drizzle-orm";
import type { TenantDb } from "../db/tenant-db";
import { issueAttachments } from "../db/schema";
import { r2Keys } from "../storage/keys";
import { R2StreamWriter } from "../storage/r2-writer";
import { randomId } from "../utils/crypto";
import { ForgeError } from "../utils/errors";
import { readMultipart, type FileSink } from "../utils/multipart";
import { sniffImage } from "./avatars";
import type { IssueAttachment, NewAttachment } from "./issues";

export const ATTACHMENTS_PER_POST = 10;
/** The form field of attachments on the issue forms. */
export const ATTACHMENT_FIELD = "attachment";

const TEXT_NAMES =
  /\.(txt|log|diff|patch|md|markdown|csv|tsv|json|ya?ml|toml|ini|cfg|conf|c|h|cc|cpp|hpp|py|js|mjs|ts|tsx|jsx|rs|go|java|kt|rb|php|pl|sh|bash|sql|xml|css|html?|svg)$/i;

/**
 * The type an attachment is served with, from its first bytes and name (never the uploader's
 * word): pictures as themselves, text as text/plain (HTML and SVG included, so they show as
 * source), everything else as a download.
 */
export function servingType(filename: string, head: Uint8Array): string {
  const image = sniffImage(head);
  if (image) return image.type;
  if (TEXT_NAMES.test(filename)) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

export function cleanFilename(name: string): string {
  // eslint-disable-next-line no-control-regex
  const s = name
    .replace(/[\u0000-\u001f\u007f/\\]/g, "")
    .trim()
    .slice(-200);
  return s && s !== "." && s !== ".." ? s : "file";
}

/** 1.5 MiB, 12 KiB, 900 bytes. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / 1024 / 1024) * 10) / 10} MiB`;
  if (n >= 1024) return `${Math.round((n / 1024) * 10) / 10} KiB`;
  return `${n} bytes`;
}

/** Writes one file to R2 as it streams in, refusing it past `maxBytes`. */
class AttachmentSink implements FileSink {
  readonly id = randomId(16);
  readonly writer: R2StreamWriter;
  private head = new Uint8Array(0);
  private size = 0;

  constructor(
    bucket: R2Bucket,
    tenantId: string,
    projectId: number,
    readonly filename: string,
    private readonly maxBytes: number,
  ) {
    this.writer = new R2StreamWriter(bucket, r2Keys.issueAttachment(tenantId, projectId, this.id));
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      throw new ForgeError(
        "payload_too_large",
        `${this.filename} is larger than this forge's limit of ${formatBytes(this.maxBytes)} per file.`,
      );
    }
    if (this.head.length < 16) {
      const head = new Uint8Array(Math.min(16, this.head.length + chunk.length));
      head.set(this.head);
      head.set(chunk.subarray(0, head.length - this.head.length), this.head.length);
      this.head = head;
    }
    await this.writer.write(chunk);
  }

  async end(): Promise<void> {
    await this.writer.finish();
  }

  attachment(): NewAttachment {
    return {
      id: this.id,
      key: this.writer.key,
      filename: this.filename,
      contentType: servingType(this.filename, this.head),
      size: this.size,
    };
  }
}

export interface ReceivedForm {
  fields: Record<string, string>;
  attachments: NewAttachment[];
}

/**
 * Reads an issue form sent as multipart/form-data: text fields, and files of the `attachment`
 * field stored in R2 as they arrive. On any failure nothing of it stays in R2.
 */
export async function receiveIssueForm(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  target: { bucket: R2Bucket; tenantId: string; projectId: number; maxBytes: number },
  fields: Record<string, string> = {},
): Promise<ReceivedForm> {
  const sinks: AttachmentSink[] = [];
  try {
    await readMultipart(
      body,
      boundary,
      {
        maxFieldBytes: 256 * 1024,
        maxParts: 40,
        onFile: async (part) => {
          if (part.field !== ATTACHMENT_FIELD) return null;
          if (sinks.length >= ATTACHMENTS_PER_POST)
            throw new ForgeError("bad_request", `Attach at most ${ATTACHMENTS_PER_POST} files at once.`);
          const sink = new AttachmentSink(
            target.bucket,
            target.tenantId,
            target.projectId,
            cleanFilename(part.filename),
            target.maxBytes,
          );
          sinks.push(sink);
          return sink;
        },
      },
      fields,
    );
    const attachments = sinks.map((s) => s.attachment()).filter((a) => a.size > 0);
    // Empty files are not worth keeping.
    await Promise.all(sinks.filter((s) => s.attachment().size === 0).map((s) => s.writer.abort()));
    return { fields, attachments };
  } catch (err) {
    await Promise.all(sinks.map((s) => s.writer.abort()));
    throw err;
  }
}

/** Stores one attachment sent as a raw request body (the API). */
export async function storeAttachment(
  body: ReadableStream<Uint8Array>,
  filename: string,
  target: { bucket: R2Bucket; tenantId: string; projectId: number; maxBytes: number },
): Promise<NewAttachment> {
  const sink = new AttachmentSink(target.bucket, target.tenantId, target.projectId, cleanFilename(filename), target.maxBytes);
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) await sink.write(chunk);
    await sink.end();
  } catch (err) {
    await sink.writer.abort();
    throw err;
  }
  const a = sink.attachment();
  if (a.size === 0) {
    await sink.writer.abort();
    throw new ForgeError("bad_request", "The file is empty.");
  }
  return a;
}

/** Removes stored files whose issue or comment could not be written (so nothing is orphaned). */
export async function discardAttachments(bucket: R2Bucket, attachments: NewAttachment[]): Promise<void> {
  if (attachments.length) await bucket.delete(attachments.map((a) => a.key)).catch(() => {});
}

export async function findAttachment(db: TenantDb, projectId: number, id: string): Promise<IssueAttachment | undefined> {
  return db.query.issueAttachments.findFirst({
    where: and(eq(issueAttachments.projectId, projectId), eq(issueAttachments.id, id)),
  });
}

/** The response that serves an attachment: never HTML, never sniffed, sandboxed. */
export async function attachmentResponse(bucket: R2Bucket, tenantId: string, a: IssueAttachment): Promise<Response | null> {
  // The key must be this tenant's and this project's (belt and braces: it came from D1).
  if (!a.r2Key.startsWith(r2Keys.issueAttachmentPrefix(tenantId, a.projectId))) return null;
  const object = await bucket.get(a.r2Key);
  if (!object) return null;
  const inline = a.contentType.startsWith("image/") || a.contentType.startsWith("text/plain");
  const ascii = a.filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return new Response(object.body, {
    headers: {
      "content-type": a.contentType,
      "content-length": String(object.size),
      "content-disposition": `${inline ? "inline" : "attachment"}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(a.filename)}`,
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
      "cache-control": "private, max-age=3600",
      etag: `"${a.id}"`,
    },
  });
}
