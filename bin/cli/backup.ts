// `forge tenants export` and `forge tenants import`: a tenant's backup archive streamed from the
// admin API into a file, and from a file back to it (never held whole in memory).
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { pipeline } from "node:stream/promises";
import { adminToken, api, baseUrl, CliError } from "./client";
import { lookup } from "./http";

/** Starts a request to the admin API; the caller writes the body and awaits the response. */
function send(
  method: string,
  path: string,
  headers: Record<string, string>,
): { req: http.ClientRequest; res: Promise<http.IncomingMessage> } {
  const target = new URL(`${baseUrl()}${path}`);
  const client = target.protocol === "https:" ? https : http;
  let req!: http.ClientRequest;
  const res = new Promise<http.IncomingMessage>((resolve, reject) => {
    const auth = { authorization: `Bearer ${adminToken()}` };
    req = client.request(target, { method, lookup, agent: false, headers: { ...auth, ...headers } }, resolve);
    req.on("error", (err) => reject(new CliError(`cannot reach ${baseUrl()}: ${err.message} (is the forge running? npm start)`)));
  });
  return { req, res };
}

async function failure(res: http.IncomingMessage): Promise<CliError> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  let message = text.slice(0, 300);
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
  } catch {}
  return new CliError(`${message} (HTTP ${res.statusCode})`);
}

/** Writes the tenant's archive to `file` (through a temporary file: a broken download leaves nothing). */
export async function exportTenant(slug: string, file: string): Promise<{ bytes: number }> {
  const { req, res } = send("GET", `/api/v1/tenants/${encodeURIComponent(slug)}/export`, { accept: "application/x-tar" });
  req.end();
  const response = await res;
  if (response.statusCode !== 200) throw await failure(response);
  const partial = `${file}.partial`;
  try {
    // A response cut short by the server ends without its last chunk: pipeline rejects.
    await pipeline(response, createWriteStream(partial));
    if (!response.complete) throw new Error("the download stopped early");
  } catch (err) {
    rmSync(partial, { force: true });
    throw new CliError(`the export of ${slug} broke off: ${(err as Error).message}; nothing was written, try again`);
  }
  renameSync(partial, file);
  return { bytes: statSync(file).size };
}

export interface ImportedTenant {
  slug: string;
  id: string;
  hosts: string[];
  rows: number;
  objects: number;
  repositories: number;
}

/** Above this an archive goes up in parts (one request's body is limited to 100 MB on common plans). */
const WHOLE_UPLOAD_MAX = 64 * 1024 * 1024;

/** Streams bytes [start, end) of `file` as one request body; resolves with the answer. */
async function streamRange(
  method: string,
  path: string,
  file: string,
  range: { start: number; end: number },
  type: string,
): Promise<http.IncomingMessage> {
  const { req, res } = send(method, path, {
    "content-type": type,
    "content-length": String(range.end - range.start),
    accept: "application/json",
  });
  // The forge may answer before it has read everything (a wrong token): its answer says why.
  const uploaded = pipeline(createReadStream(file, { start: range.start, end: range.end - 1 }), req).then(
    () => null,
    (err: Error) => err,
  );
  const response = await res;
  if (response.statusCode! >= 400) throw await failure(response);
  const broken = await uploaded;
  if (broken) throw new CliError(`the upload of ${file} broke off: ${broken.message}; try again`);
  return response;
}

async function jsonOf<T>(res: http.IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as T;
}

/**
 * Streams `file` to the forge (in one request, or in parts past 64 MiB); the forge verifies the
 * whole archive before it creates anything.
 */
export async function importTenant(
  file: string,
  opts: { slug?: string; hosts?: string[] },
  progress: (message: string) => void = () => {},
): Promise<ImportedTenant> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new CliError(`${file} does not exist`);
  }
  const query = new URLSearchParams();
  if (opts.slug) query.set("slug", opts.slug);
  for (const h of opts.hosts ?? []) query.append("host", h);
  const qs = query.size ? `?${query}` : "";
  if (size <= WHOLE_UPLOAD_MAX) {
    const res = await streamRange("POST", `/api/v1/tenants/import${qs}`, file, { start: 0, end: size }, "application/x-tar");
    return jsonOf<ImportedTenant>(res);
  }
  const { data: upload } = await api<{ id: string; part_size: number; parts: number }>("POST", "/api/v1/tenants/imports", {
    size,
  });
  const parts: { part: number; etag: string }[] = [];
  for (let n = 1; n <= upload.parts; n++) {
    const range = { start: (n - 1) * upload.part_size, end: Math.min(size, n * upload.part_size) };
    const path = `/api/v1/tenants/imports/${encodeURIComponent(upload.id)}/parts/${n}`;
    parts.push(await jsonOf(await streamRange("PUT", path, file, range, "application/octet-stream")));
    progress(`uploaded part ${n} of ${upload.parts}`);
  }
  progress("verifying and restoring");
  const done = await api<ImportedTenant>("POST", `/api/v1/tenants/imports/${encodeURIComponent(upload.id)}/complete${qs}`, {
    parts,
  });
  return done.data;
}
