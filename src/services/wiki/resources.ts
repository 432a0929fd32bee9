// Files embedded in wiki pages (`![](resource:diagram.png)`): streamed into R2 as they arrive,
// one row per uploaded revision (a new upload under the same name is the next revision), and
// served with a type decided from their bytes and name, never run as HTML here.
import { and, desc, eq, sql } from "drizzle-orm";
import type { TenantDb } from "../../db/tenant-db";
import { users } from "../../db/schema";
import { wikiResources } from "../../db/wiki-schema";
import { r2Keys } from "../../storage/keys";
import { R2StreamWriter } from "../../storage/r2-writer";
import { randomId } from "../../utils/crypto";
import { ForgeError } from "../../utils/errors";
import type { FileSink } from "../../utils/multipart";
import { formatBytes, servingType } from "../issues/attachments";
import { nameKey, requireResourceName, MAX_COMMENT } from "./names";
import type { WikiPage } from "./pages";
import type { WikiActor } from "./write";

export type WikiResource = typeof wikiResources.$inferSelect;

export interface ResourceInfo {
  name: string;
  number: number;
  contentType: string;
  size: number;
  comment: string;
  uploader: string | null;
  createdAt: string;
}

export interface UploadTarget {
  bucket: R2Bucket;
  tenantId: string;
  maxBytes: number;
}

/** One file on its way into R2: refused past `maxBytes` (the caller then aborts it). */
export class ResourceSink implements FileSink {
  readonly id = randomId(16);
  readonly writer: R2StreamWriter;
  /** The first bytes, which decide the type it is served with. */
  head = new Uint8Array(0);
  private readonly maxBytes: number;

  constructor(
    target: UploadTarget,
    projectId: number,
    readonly name: string,
  ) {
    this.writer = new R2StreamWriter(target.bucket, r2Keys.wikiResource(target.tenantId, projectId, this.id));
    this.maxBytes = target.maxBytes;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.writer.size + chunk.length > this.maxBytes)
      throw new ForgeError(
        "payload_too_large",
        `${this.name} is larger than this forge's limit of ${formatBytes(this.maxBytes)} per file.`,
      );
    if (this.head.length < 16) {
      const next = new Uint8Array(Math.min(16, this.head.length + chunk.length));
      next.set(this.head);
      next.set(chunk.subarray(0, next.length - this.head.length), this.head.length);
      this.head = next;
    }
    await this.writer.write(chunk);
  }

  async end(): Promise<void> {
    if (this.writer.size === 0) throw new ForgeError("bad_request", "The file is empty: choose a file to upload.");
    await this.writer.finish();
  }

  abort(): Promise<void> {
    return this.writer.abort();
  }
}

/**
 * Records a stored file as the next revision of its name on the page (the number is taken in the
 * same statement: two uploads at once collide on the unique index and the second is a 409).
 */
export async function recordResource(
  db: TenantDb,
  bucket: R2Bucket,
  page: WikiPage,
  actor: WikiActor,
  sink: ResourceSink,
  comment = "",
): Promise<ResourceInfo> {
  const name = sink.name;
  const contentType = servingType(name, sink.head);
  try {
    if (comment.length > MAX_COMMENT) throw new ForgeError("bad_request", `A comment has at most ${MAX_COMMENT} characters.`);
    await db.run(sql`INSERT INTO wiki_resources (id, page_id, project_id, name, name_key, number, content_type, size, r2_key, comment, uploader_id)
      SELECT ${sink.id}, ${page.id}, ${page.projectId}, ${name}, ${nameKey(name)}, COALESCE(MAX(number), 0) + 1, ${contentType}, ${sink.writer.size}, ${sink.writer.key}, ${comment}, ${actor.id}
      FROM wiki_resources WHERE page_id = ${page.id} AND name_key = ${nameKey(name)}`);
  } catch (err) {
    await bucket.delete(sink.writer.key).catch(() => {});
    if (/UNIQUE constraint failed/i.test(String(err)))
      throw new ForgeError("conflict", `${name} was uploaded by someone else at the same time; upload it again.`);
    throw err;
  }
  const row = await findResource(db, page, name);
  return infoOf(row!, actor.username);
}

/** Streams a request body into R2 as the next revision of `typedName` (the API's upload). */
export async function uploadResource(
  db: TenantDb,
  target: UploadTarget,
  page: WikiPage,
  actor: WikiActor,
  typedName: string,
  body: ReadableStream<Uint8Array>,
  comment = "",
): Promise<ResourceInfo> {
  const sink = new ResourceSink(target, page.projectId, requireResourceName(typedName));
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) await sink.write(chunk);
    await sink.end();
  } catch (err) {
    await sink.abort();
    throw err;
  }
  return recordResource(db, target.bucket, page, actor, sink, comment);
}

const infoOf = (r: WikiResource, uploader: string | null): ResourceInfo => ({
  name: r.name,
  number: r.number,
  contentType: r.contentType,
  size: r.size,
  comment: r.comment,
  uploader,
  createdAt: r.createdAt,
});

/** The page's resources: the current revision of each name, with how many revisions it has. */
export async function listResources(db: TenantDb, page: WikiPage): Promise<(ResourceInfo & { revisions: number })[]> {
  const rows = await db
    .select({
      r: wikiResources,
      uploader: users.username,
      revisions: sql<number>`count(*) OVER (PARTITION BY ${wikiResources.nameKey})`,
    })
    .from(wikiResources)
    .leftJoin(users, eq(users.id, wikiResources.uploaderId))
    .where(eq(wikiResources.pageId, page.id))
    .orderBy(wikiResources.nameKey, desc(wikiResources.number));
  const seen = new Set<string>();
  const out: (ResourceInfo & { revisions: number })[] = [];
  for (const { r, uploader, revisions } of rows) {
    if (seen.has(r.nameKey)) continue;
    seen.add(r.nameKey);
    out.push({ ...infoOf(r, uploader), revisions });
  }
  return out;
}

/** Every revision of one resource, newest first. */
export async function resourceRevisions(db: TenantDb, page: WikiPage, name: string): Promise<ResourceInfo[]> {
  const rows = await db
    .select({ r: wikiResources, uploader: users.username })
    .from(wikiResources)
    .leftJoin(users, eq(users.id, wikiResources.uploaderId))
    .where(and(eq(wikiResources.pageId, page.id), eq(wikiResources.nameKey, nameKey(name))))
    .orderBy(desc(wikiResources.number));
  return rows.map(({ r, uploader }) => infoOf(r, uploader));
}

/** Revision `number` of the resource, or its current one. */
export async function findResource(
  db: TenantDb,
  page: WikiPage,
  name: string,
  number?: number,
): Promise<WikiResource | undefined> {
  return db.query.wikiResources.findFirst({
    where: and(
      eq(wikiResources.pageId, page.id),
      eq(wikiResources.nameKey, nameKey(name)),
      number === undefined ? undefined : eq(wikiResources.number, number),
    ),
    orderBy: desc(wikiResources.number),
  });
}

/** The response that serves a resource: streamed, never sniffed, sandboxed; non-images download. */
export async function resourceResponse(bucket: R2Bucket, tenantId: string, r: WikiResource): Promise<Response | null> {
  // The key must be this tenant's and this project's (belt and braces: it came from D1).
  if (!r.r2Key.startsWith(r2Keys.wikiResourcePrefix(tenantId, r.projectId))) return null;
  const object = await bucket.get(r.r2Key);
  if (!object) return null;
  const image = r.contentType.startsWith("image/");
  const ascii = r.name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return new Response(object.body, {
    headers: {
      "content-type": r.contentType,
      "content-length": String(object.size),
      "content-disposition": `${image ? "inline" : "attachment"}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(r.name)}`,
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
      "cache-control": "private, max-age=60",
      etag: `"${r.id}"`,
    },
  });
}
