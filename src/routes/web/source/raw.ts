// Raw files of the repository browser, served so that no file can act as a page of this site.
import { blobStorage, blobPrefix, openBlobStream, SMALL_BLOB } from "../../../git/blob-stream";
import { isBinary } from "../../../git/diff";
import { GitError } from "../../../git/errors";
import { decodePathSegments, resolvePath } from "../../../git/tree-path";
import { splitRev } from "../../../services/source";
import { notFound, type SourcePage } from "./page";
import { ifNoneMatchHits } from "../../../utils/etag";

export const IMAGE_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  bmp: "image/bmp",
  ico: "image/x-icon",
  svg: "image/svg+xml",
};
export const extension = (name: string) => (name.includes(".") ? name.slice(name.lastIndexOf(".") + 1).toLowerCase() : "");

export async function rawFile(p: SourcePage, rest: string[]): Promise<Response> {
  const { c, src } = p;
  const split = await splitRev(src, rest);
  if (!split) return notFound(p);
  const path = decodePathSegments(split.rest);
  if (!path || path.length === 0) return notFound(p);
  const commit = await src.graph.commit(split.rev.commit);
  const entry = await resolvePath(src.store, commit.tree, path);
  if (entry?.type !== "blob") return notFound(p);
  const immutable = split.rev.kind === "commit";
  const etag = `"${entry.oid}"`;
  const headers: Record<string, string> = {
    etag,
    "cache-control": immutable ? `${p.isPublic ? "public" : "private"}, max-age=31536000, immutable` : "no-cache",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "x-content-type-options": "nosniff",
    "cross-origin-resource-policy": "same-origin",
    vary: "Cookie",
  };
  if (ifNoneMatchHits(c.req.header("if-none-match"), etag)) return new Response(null, { status: 304, headers });
  const name = path[path.length - 1]!;
  const { size } = await blobStorage(src.store, entry.oid);
  const head = size <= SMALL_BLOB ? await src.store.readTyped(entry.oid, "blob") : await blobPrefix(src.store, entry.oid, 8000);
  const image = IMAGE_TYPES[extension(name)];
  if (image && !(image === "image/svg+xml" && isBinary(head))) headers["content-type"] = image;
  else if (isBinary(head)) {
    headers["content-type"] = "application/octet-stream";
    headers["content-disposition"] = `attachment; filename*=UTF-8''${encodeURIComponent(name)}`;
  } else headers["content-type"] = "text/plain; charset=utf-8";
  let body: ReadableStream<Uint8Array>;
  try {
    body = (await openBlobStream(src.store, entry.oid)).stream;
  } catch (err) {
    if (err instanceof GitError && err.code === "too_large") return c.text(`${err.message}\n`, 413);
    throw err;
  }
  headers["content-length"] = String(size);
  c.get("meter").marks.bytes = size;
  return new Response(c.req.method === "HEAD" ? null : body, { headers });
}
