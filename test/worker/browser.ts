// A tiny browser for the workerd tests: a cookie jar per host and form posts that carry the
// headers a real browser sends (Origin, Sec-Fetch-Site), so CSRF checks see what they would.
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { admin, edge, uniqueSlug } from "./helpers";
import type { Env } from "../../src/env";
import { tenantD1 as openTenantD1 } from "../../src/db/tenant-db";

export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(readonly host: string) {}

  get origin(): string {
    return `http://${this.host}`;
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  private remember(res: Response): void {
    for (const line of (res.headers as unknown as { getSetCookie(): string[] }).getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/max-age=0/i.test(line) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async fetch(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (this.cookies.size) headers.cookie = this.cookieHeader();
    const res = await edge(`${this.origin}${path}`, { ...init, headers, redirect: "manual" });
    this.remember(res);
    return res;
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(path, { headers: { "sec-fetch-site": "none", ...headers } });
  }

  /** A form post from a page of `from` (default: this site), as a browser sends it. */
  post(path: string, fields: Record<string, string>, opts: { from?: string; headers?: Record<string, string> } = {}) {
    const from = opts.from ?? this.origin;
    return this.fetch(path, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: from,
        "sec-fetch-site": from === this.origin ? "same-origin" : "cross-site",
        ...(opts.headers ?? {}),
      },
      body: new URLSearchParams(fields).toString(),
    });
  }

  async signIn(login: string, password: string, address = "192.0.2.1"): Promise<Response> {
    const res = await this.post("/account/login", { login, password, next: "/" }, { headers: { "cf-connecting-ip": address } });
    if (res.status !== 303) throw new Error(`sign-in of ${login} failed: ${res.status} ${await res.text()}`);
    return res;
  }
}

export interface Forge {
  slug: string;
  id: string;
  host: string;
  ownerToken: string;
  ownerPassword: string;
}

/** A tenant whose owner ("owner", an admin) has a password. */
export async function newForge(prefix: string): Promise<Forge> {
  const slug = uniqueSlug(prefix);
  const ownerPassword = "owner-password-1";
  const res = await admin("POST", "/api/v1/tenants", {
    slug,
    name: `Forge ${slug}`,
    hosts: [`${slug}.test`],
    owner: { username: "owner", email: `owner@${slug}.test`, password: ownerPassword },
  });
  if (res.status !== 201) throw new Error(`create tenant ${slug}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { tenant: { id: string; hosts: string[] }; owner: { token: string } };
  return { slug, id: body.tenant.id, host: body.tenant.hosts[0]!, ownerToken: body.owner.token, ownerPassword };
}

/** The tenant's own database, for looking at what the forge wrote (the outbox...). */
export async function tenantD1(forge: Forge): Promise<D1Database> {
  const row = await (env as unknown as { CONTROL: D1Database }).CONTROL.prepare("SELECT database FROM tenants WHERE id = ?")
    .bind(forge.id)
    .first<{ database: string }>();
  return openTenantD1(env as unknown as Env, { id: forge.id, database: row!.database })!;
}

/** The link of the newest mail sent to `to` that matches `pattern`. */
export async function lastLink(forge: Forge, to: string, pattern: RegExp): Promise<string> {
  const db = await tenantD1(forge);
  const { results } = await db
    .prepare("SELECT body FROM outbox WHERE to_address = ? ORDER BY id DESC")
    .bind(to)
    .all<{ body: string }>();
  for (const r of results) {
    const m = pattern.exec(r.body);
    if (m) return new URL(m[0]).pathname;
  }
  throw new Error(`no mail to ${to} matching ${pattern}`);
}

/** Registers a user through the sign-up form; the browser is then signed in as them. */
export async function registerUser(forge: Forge, username: string, password = "user-password-1"): Promise<Browser> {
  const b = new Browser(forge.host);
  const res = await b.post(
    "/account/register",
    { username, email: `${username}@example.com`, password },
    { headers: { "cf-connecting-ip": `198.51.100.${Math.floor(Math.random() * 250)}` } },
  );
  if (res.status !== 303) throw new Error(`register ${username}: ${res.status} ${await res.text()}`);
  return b;
}

export async function apiCall(host: string, method: string, path: string, token?: string, body?: unknown): Promise<Response> {
  return edge(`http://${host}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `token ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The JSON body of an API answer that must have `status` (the body's start names a failure). */
export async function ok<T>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  expect(res.status, text.slice(0, 400)).toBe(status);
  return (text ? JSON.parse(text) : null) as T;
}

/** A new API token of the browser's signed-in user, made on the tokens page as a person would. */
export async function webToken(b: Browser, scope: "read" | "write"): Promise<string> {
  const res = await b.post("/account/tokens", { name: `t-${scope}`, scope });
  return /<p class="token">(efp_[A-Za-z0-9_-]+)<\/p>/.exec(await res.text())![1]!;
}
