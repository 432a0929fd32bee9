// `forge tenants export` and `forge tenants import`: a tenant's backup archive streamed from the
// admin API into a file, and from a file back to it (never held whole in memory).
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { pipeline } from "node:stream/promises";
import { adminToken, baseUrl, CliError } from "./client";
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

/** Streams `file` to the import route; the server verifies it whole before it creates anything. */
export async function importTenant(file: string, opts: { slug?: string; hosts?: string[] }): Promise<ImportedTenant> {
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
  const { req, res } = send("POST", `/api/v1/tenants/import${qs}`, {
    "content-type": "application/x-tar",
    "content-length": String(size),
    accept: "application/json",
  });
  // The forge may answer before it has read everything (a wrong token): its answer says why.
  const uploaded = pipeline(createReadStream(file), req).then(
    () => null,
    (err: Error) => err,
  );
  const response = await res;
  if (response.statusCode !== 201) throw await failure(response);
  const broken = await uploaded;
  if (broken) throw new CliError(`the upload of ${file} broke off: ${broken.message}; try again`);
  const chunks: Buffer[] = [];
  for await (const c of response) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as ImportedTenant;
}
