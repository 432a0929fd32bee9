// Reliability and protocol edges from an outside review, in workerd: corrupt gzip bodies answer
// 400, hosts are compared in canonical form (case, trailing dot), and tenant hosts are DNS names.
import { beforeAll, describe, expect, it } from "vitest";
import { admin, edge } from "./helpers";
import { newForge, type Forge } from "./browser";
import { importRepo, RepoBuilder } from "./git-fixture";

let forge: Forge;

beforeAll(async () => {
  forge = await newForge("rel");
  const res = await edge(`http://${forge.host}/api/v1/projects`, {
    method: "POST",
    headers: { authorization: `token ${forge.ownerToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "code" }),
  });
  expect(res.status).toBe(201);
}, 60_000);

const junk = new TextEncoder().encode("this is not gzip at all, just junk bytes\n");

describe("gzip request bodies", () => {
  it("answers 400 to upload-pack with a body that is not gzip", async () => {
    const res = await edge(`http://${forge.host}/code.git/git-upload-pack`, {
      method: "POST",
      headers: { "content-type": "application/x-git-upload-pack-request", "content-encoding": "gzip" },
      body: junk,
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/not valid gzip/);
  });

  it("answers 400 to receive-pack (through the push worker) with a body that is not gzip", async () => {
    const res = await edge(`http://${forge.host}/code.git/git-receive-pack`, {
      method: "POST",
      headers: {
        "content-type": "application/x-git-receive-pack-request",
        "content-encoding": "gzip",
        authorization: `Basic ${btoa(`owner:${forge.ownerToken}`)}`,
      },
      body: junk,
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/not valid gzip/);
  });
});

describe("hosts", () => {
  it("serves a forge and the platform on their names with a trailing dot, in any case", async () => {
    for (const host of [`${forge.host}.`, forge.host.toUpperCase(), `${forge.host.toUpperCase()}.`]) {
      const res = await edge(`http://${host}/`);
      expect(res.status, host).toBe(200);
      expect(await res.text()).toContain(`Forge ${forge.slug}`);
    }
    const platform = await edge("http://admin.test./api/v1/tenants", { headers: { authorization: "Bearer test-admin-token" } });
    expect(platform.status).toBe(200);
    // A host added or removed with its trailing dot is the host without it.
    const extra = `extra-${forge.slug}.test`;
    expect((await admin("POST", `/api/v1/tenants/${forge.slug}/hosts/${extra.toUpperCase()}.`)).status).toBe(200);
    expect((await edge(`http://${extra}/`)).status).toBe(200);
    expect((await admin("DELETE", `/api/v1/tenants/${forge.slug}/hosts/${extra}.`)).status).toBe(200);
    expect((await edge(`http://${extra}/`)).status).toBe(404);
  });

  it("refuses IP addresses and the platform host as tenant hosts with 400 naming the problem", async () => {
    const create = (host: string) =>
      admin("POST", "/api/v1/tenants", {
        slug: `ip-${Math.random().toString(36).slice(2, 8)}`,
        name: "IP",
        hosts: [host],
        owner: { username: "ip", email: "ip@example.com" },
      });
    for (const host of ["127.0.0.1", "10.0.0.7.", "::1", "[::1]", "[2001:db8::1]", "2001:db8::1"]) {
      const res = await create(host);
      expect(res.status, host).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message, host).toMatch(/IP address/);
    }
    for (const host of ["admin.test", "admin.test.", "ADMIN.test"]) {
      const res = await create(host);
      expect(res.status, host).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message, host).toMatch(/platform's own host/);
    }
    for (const host of ["127.0.0.1", "admin.test."]) {
      const res = await admin("POST", `/api/v1/tenants/${forge.slug}/hosts/${encodeURIComponent(host)}`);
      expect(res.status, host).toBe(400);
    }
  });
});

describe("If-None-Match", () => {
  it("answers 304 to a weakened ETag (as Cloudflare sends after compressing), a list holding it, and *", async () => {
    const repo = new RepoBuilder();
    const main = repo.commit({ files: { "notes.txt": "some notes\n" }, message: "Notes" });
    await importRepo(forge.slug, "tagged", repo, { "refs/heads/main": main });
    const url = `http://${forge.host}/p/tagged/source/raw/main/notes.txt`;
    const first = await edge(url);
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{40}"$/);
    for (const header of [etag, `W/${etag}`, `"nope", W/${etag}`, "*"]) {
      const res = await edge(url, { headers: { "if-none-match": header } });
      expect(res.status, header).toBe(304);
      await res.arrayBuffer();
    }
    const miss = await edge(url, { headers: { "if-none-match": '"nope", W/"other"' } });
    expect(miss.status).toBe(200);
    await miss.arrayBuffer();
  });
});
