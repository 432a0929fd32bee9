// The platform admin API as the CLI sees it: base URL, token, JSON calls, readable errors.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { request, type HttpResponse } from "./http";

export class CliError extends Error {}
/** Wrong arguments: the command exits with 2. */
export class UsageError extends Error {}

const packageRoot = join(fileURLToPath(import.meta.url), "..", "..", "..");

/** The local forge's state folder (FORGE_STATE, default .forge/state in the project). */
export const stateDir = () => process.env.FORGE_STATE ?? join(packageRoot, ".forge", "state");

export function adminToken(): string {
  if (process.env.FORGE_ADMIN_TOKEN) return process.env.FORGE_ADMIN_TOKEN;
  const file = join(stateDir(), "admin-token");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  throw new CliError(`no admin token: set FORGE_ADMIN_TOKEN (the local forge keeps one in ${file})`);
}

export const baseUrl = () => (process.env.FORGE_URL ?? "http://admin.localhost:8787").replace(/\/+$/, "");

export async function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  raw?: Buffer,
): Promise<{ data: T; res: HttpResponse }> {
  let res: HttpResponse;
  try {
    res = await request(`${baseUrl()}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken()}`,
        accept: "application/json",
        ...(raw ? { "content-type": "application/octet-stream", "content-length": String(raw.length) } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  } catch (err) {
    throw new CliError(`cannot reach ${baseUrl()}: ${(err as Error).message} (is the forge running? npm start)`);
  }
  let data: unknown;
  try {
    data = res.body.length ? res.json() : null;
  } catch {
    throw new CliError(`${method} ${path}: HTTP ${res.status}: ${res.text().slice(0, 200)}`);
  }
  if (res.status >= 400) {
    const err = (data as { error?: { message?: string } } | null)?.error;
    throw new CliError(`${err?.message ?? `HTTP ${res.status}`} (HTTP ${res.status})`);
  }
  return { data: data as T, res };
}
