// Serving a download file: whole or one byte range (206/416) straight from R2, as an attachment
// that is never sniffed, with the SHA-256 as its ETag; says whether the request counts.
import { r2Keys } from "../../storage/keys";
import type { DownloadRow } from "./files";

export type ByteRange = { offset: number; length: number };

/**
 * The one byte range a Range header asks for: null to send the whole file (no header, another
 * unit, several ranges, or a malformed header: RFC 9110 lets a server ignore those), or
 * "unsatisfiable" when it starts past the end.
 */
export function parseRange(header: string | undefined | null, size: number): ByteRange | "unsatisfiable" | null {
  if (!header) return null;
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    const offset = Math.max(0, size - suffix);
    return { offset, length: size - offset };
  }
  const first = Number(m[1]);
  const last = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < first) return null;
  if (first >= size) return "unsatisfiable";
  return { offset: first, length: last - first + 1 };
}

const etagOf = (file: DownloadRow) => `"${file.sha256}"`;

/** Whether an If-None-Match header names this file's ETag (or *). */
function notModified(header: string | undefined, file: DownloadRow): boolean {
  if (!header) return false;
  return header.trim() === "*" || header.split(",").some((t) => t.trim().replace(/^W\//, "") === etagOf(file));
}

export interface Served {
  response: Response;
  /** A download to count: a whole file, or a range from its first byte (a resumed one is not counted again). */
  counts: boolean;
}

/** The response for GET/HEAD of a download file; null when its bytes are missing from R2. */
export async function serveDownload(
  bucket: R2Bucket,
  tenantId: string,
  file: DownloadRow,
  req: { method: string; header(name: string): string | undefined },
): Promise<Served | null> {
  // The key came from D1; belt and braces: it must be this tenant's and this project's.
  if (!file.r2Key.startsWith(r2Keys.downloadPrefix(tenantId, file.projectId))) return null;
  const ascii = file.name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const headers = new Headers({
    "content-type": "application/octet-stream",
    "content-disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; sandbox",
    "accept-ranges": "bytes",
    etag: etagOf(file),
    // Revalidated each time (a file deleted and uploaded again under its name has a new ETag).
    "cache-control": "private, no-cache",
    "last-modified": new Date(file.createdAt).toUTCString(),
  });
  if (notModified(req.header("if-none-match"), file))
    return { response: new Response(null, { status: 304, headers }), counts: false };
  let range = parseRange(req.header("range"), file.size);
  // If-Range: a range of the version the client has, or the whole new file.
  const ifRange = req.header("if-range");
  if (range && ifRange !== undefined && ifRange.trim() !== etagOf(file)) range = null;
  if (range === "unsatisfiable") {
    headers.set("content-range", `bytes */${file.size}`);
    return { response: new Response(null, { status: 416, headers }), counts: false };
  }
  const head = req.method === "HEAD";
  if (head) {
    const object = await bucket.head(file.r2Key);
    if (!object) return null;
  }
  const object = head ? null : await bucket.get(file.r2Key, range ? { range } : undefined);
  if (!head && !object) return null;
  const body = object && "body" in object ? object.body : null;
  if (range) {
    headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${file.size}`);
    headers.set("content-length", String(range.length));
    return { response: new Response(body, { status: 206, headers }), counts: !head && range.offset === 0 };
  }
  headers.set("content-length", String(file.size));
  return { response: new Response(body, { status: 200, headers }), counts: !head };
}
