// Tenant backups in workerd: the tar writer and reader, an export restored under another slug
// with the same API answers, refs and files, and broken archives (a changed byte, a cut, a taken
// slug, a failure half-way through the restore) refused with a 4xx and nothing left behind.
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { entryHeader, padding, readTar, smallEntry, endOfArchive } from "../../src/services/backup/tar";
import { StreamHash, type Manifest } from "../../src/services/backup/format";
import { concatBytes } from "../../src/utils/bytes";
import { RepoBuilder, importRepo } from "./git-fixture";
import { ADMIN_HOST, ADMIN_TOKEN, admin, createTenant, edge, uniqueSlug } from "./helpers";
import { postPushLedger } from "../../src/services/post-push";

const env = workerEnv as unknown as { OBJECTS: R2Bucket };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let slug: string;
let host: string;
let tenantId: string;
let token: string;
let archive: Uint8Array;

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function entriesOf(bytes: Uint8Array): Promise<{ name: string; data: Uint8Array }[]> {
  const out: { name: string; data: Uint8Array }[] = [];
  for await (const e of readTar(new Response(bytes).body!)) {
    const parts: Uint8Array[] = [];
    for await (const p of e.body) parts.push(p.slice());
    out.push({ name: e.name, data: concatBytes(parts) });
  }
  return out;
}

/** An archive of `entries` with a manifest recomputed for them (a well-formed but altered backup). */
async function rebuild(entries: { name: string; data: Uint8Array }[], manifest: Manifest): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const listed = [];
  for (const e of entries.filter((e) => e.name !== "manifest.json")) {
    const hash = new StreamHash();
    await hash.update(e.data);
    const old = manifest.entries.find((m) => m.name === e.name);
    listed.push({ ...old, name: e.name, size: e.data.length, sha256: await hash.hex() });
    parts.push(...smallEntry(e.name, e.data, 0));
  }
  parts.push(...smallEntry("manifest.json", encoder.encode(JSON.stringify({ ...manifest, entries: listed })), 0), endOfArchive());
  return concatBytes(parts);
}

function importArchive(bytes: Uint8Array, query = ""): Promise<Response> {
  return edge(`http://${ADMIN_HOST}/api/v1/tenants/import${query}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      "content-type": "application/x-tar",
      "content-length": String(bytes.length),
    },
    body: bytes,
  });
}

const tenantKeys = async () => (await env.OBJECTS.list({ prefix: "t/", limit: 1000 })).objects.map((o) => o.key).sort();
const stagedKeys = async () => (await env.OBJECTS.list({ prefix: "backups/" })).objects.length;

async function api(h: string, path: string, method = "GET", body?: BodyInit, type = "application/json"): Promise<Response> {
  return edge(`http://${h}${path}`, {
    method,
    headers: { authorization: `token ${token}`, ...(body ? { "content-type": type } : {}) },
    body,
  });
}

/**
 * Waits until the derived data an import queues (its commit-graph and checkpoints, written by the
 * post-push consumer a queue batch later) is written and no delivery runs: the tests below compare
 * the tenants' keys before and after a refused restore, which writes written meanwhile would break.
 */
async function importDerived(tenant: string): Promise<void> {
  const written = async () =>
    (await env.OBJECTS.list({ prefix: `t/${tenant}/r/` })).objects.some((o) =>
      o.key.endsWith("/derived/last-commit/checkpoints-v1.json"),
    );
  // Checked every 50 ms; the limit is for a consumer that never comes.
  for (let i = 0; i < 600; i++) {
    if (postPushLedger.running === 0 && (await written())) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the import's derived data was not written");
}

beforeAll(async () => {
  slug = uniqueSlug("bak");
  const created = await createTenant(slug);
  host = created.tenant.hosts[0]!;
  tenantId = created.tenant.id;
  token = created.owner.token;
  const repo = new RepoBuilder();
  const first = repo.commit({ files: { "README.md": "# saved\n" }, message: "first" });
  await importRepo(slug, "code", repo, { "refs/heads/main": first });
  await importDerived(tenantId);
  expect(
    (await api(host, "/api/v1/projects/code/issues", "POST", JSON.stringify({ title: "Keep me", body: "**bold**" }))).status,
  ).toBe(201);
  expect((await api(host, "/api/v1/projects/code/issues/1/comments", "POST", JSON.stringify({ body: "a comment" }))).status).toBe(
    201,
  );
  const attached = await api(
    host,
    "/api/v1/projects/code/issues/1/attachments?name=notes.txt",
    "POST",
    "attached bytes\n",
    "text/plain",
  );
  expect(attached.status).toBe(201);
  // What another area (downloads, wiki) keeps under the prefix goes along without special cases.
  await env.OBJECTS.put(`t/${tenantId}/downloads/x/tool.bin`, new Uint8Array(3000).fill(7), {
    httpMetadata: { contentType: "application/x-thing" },
  });
  const res = await admin("GET", `/api/v1/tenants/${slug}/export`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/x-tar");
  archive = await collect(res.body!);
}, 120_000);

describe("tar", () => {
  it("reads back what it writes, long names (pax) and empty entries included, and refuses a cut stream", async () => {
    const long = `objects/${"d/".repeat(80)}file.bin`;
    const bytes = concatBytes([
      ...smallEntry("a.json", encoder.encode("{}"), 0),
      ...entryHeader(long, 600, 0),
      new Uint8Array(600).fill(1),
      padding(600),
      ...smallEntry("empty", new Uint8Array(0), 0),
      endOfArchive(),
    ]);
    const entries = await entriesOf(bytes);
    expect(entries.map((e) => [e.name, e.data.length])).toEqual([
      ["a.json", 2],
      [long, 600],
      ["empty", 0],
    ]);
    await expect(entriesOf(bytes.subarray(0, 700))).rejects.toThrow(/ends in the middle of|truncated/);
    await expect(entriesOf(bytes.subarray(0, bytes.length - 1024))).rejects.toThrow(/truncated/);
  });
});

describe("export", () => {
  it("holds the tenant first, rows, live packs and files (no derived data), repositories, and the manifest last", async () => {
    const entries = await entriesOf(archive);
    const names = entries.map((e) => e.name);
    expect(names[0]).toBe("tenant.json");
    expect(names.at(-1)).toBe("manifest.json");
    expect(names).toContain("db/schema.json");
    expect(names.some((n) => n.startsWith("db/rows/issues/"))).toBe(true);
    expect(names.some((n) => /^objects\/r\/[^/]+\/objects\/pack\/pack-[0-9a-f]{40}\.pack$/.test(n))).toBe(true);
    expect(names).toContain("objects/downloads/x/tool.bin");
    expect(names.some((n) => n.includes("/derived/"))).toBe(false);
    const manifest = JSON.parse(decoder.decode(entries.at(-1)!.data)) as Manifest;
    expect(manifest.tenant).toEqual({ id: tenantId, slug });
    expect(manifest.entries.map((e) => e.name)).toEqual(names.slice(0, -1));
    const tool = manifest.entries.find((e) => e.name === "objects/downloads/x/tool.bin")!;
    expect(tool).toMatchObject({ size: 3000, contentType: "application/x-thing" });
    expect(tool.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("answers 404 for a tenant that does not exist", async () => {
    expect((await admin("GET", "/api/v1/tenants/no-such-tenant/export")).status).toBe(404);
  });
});

describe("import", () => {
  it("restores under another slug and host: same issues, comments, attachment, refs and files, keys rewritten", async () => {
    const copy = uniqueSlug("copy");
    const res = await importArchive(archive, `?slug=${copy}&host=${copy}.test`);
    expect(res.status).toBe(201);
    const restored = (await res.json()) as { id: string; hosts: string[]; repositories: number };
    expect(restored.hosts).toEqual([`${copy}.test`]);
    expect(restored.repositories).toBe(1);
    const normalize = (s: string, h: string) => s.replaceAll(h, "HOST");
    for (const path of ["/api/v1/projects/code/issues/1", "/api/v1/projects/code/issues/1/comments", "/api/v1/projects/code"]) {
      const before = normalize(await (await api(host, path)).text(), host);
      const after = normalize(await (await api(`${copy}.test`, path)).text(), `${copy}.test`);
      expect(after).toBe(before);
    }
    const refs = (h: string) =>
      edge(`http://${h}/code.git/info/refs?service=git-upload-pack`).then(async (r) => new Uint8Array(await r.arrayBuffer()));
    expect(await refs(`${copy}.test`)).toEqual(await refs(host));
    const comments = (await (await api(`${copy}.test`, "/api/v1/projects/code/issues/1/comments")).json()) as {
      changes?: { attachments?: string[] };
    }[];
    expect(JSON.stringify(comments)).toContain("notes.txt");
    const tool = await env.OBJECTS.get(`t/${restored.id}/downloads/x/tool.bin`);
    expect(tool?.httpMetadata?.contentType).toBe("application/x-thing");
    expect(new Uint8Array(await tool!.arrayBuffer())).toEqual(new Uint8Array(3000).fill(7));
    const keys = (await env.OBJECTS.list({ prefix: `t/${restored.id}/issues/` })).objects;
    expect(keys.length).toBe(1);
    expect(await stagedKeys()).toBe(0);
  });

  it("restores from an archive uploaded in parts (R2 multipart), and refuses parts that do not join", async () => {
    const start = async () => {
      const res = await admin("POST", "/api/v1/tenants/imports", { size: archive.length });
      expect(res.status).toBe(201);
      return (await res.json()) as { id: string; part_size: number; parts: number };
    };
    const put = (id: string) =>
      edge(`http://${ADMIN_HOST}/api/v1/tenants/imports/${id}/parts/1`, {
        method: "PUT",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-length": String(archive.length) },
        body: archive,
      });
    const first = await start();
    expect(first).toMatchObject({ parts: 1, part_size: 64 * 1024 * 1024 });
    const part = (await (await put(first.id)).json()) as { part: number; etag: string };
    const copy = uniqueSlug("parts");
    let res = await admin("POST", `/api/v1/tenants/imports/${first.id}/complete?slug=${copy}&host=${copy}.test`, {
      parts: [part],
    });
    expect(res.status).toBe(201);
    const refs = (h: string) =>
      edge(`http://${h}/code.git/info/refs?service=git-upload-pack`).then(async (r) => new Uint8Array(await r.arrayBuffer()));
    expect(await refs(`${copy}.test`)).toEqual(await refs(host));

    const second = await start();
    await put(second.id);
    const other = uniqueSlug("noparts");
    res = await admin("POST", `/api/v1/tenants/imports/${second.id}/complete?slug=${other}&host=${other}.test`, {
      parts: [{ part: 1, etag: "not-the-etag" }],
    });
    expect(res.status).toBe(400);
    expect((await admin("GET", `/api/v1/tenants/${other}`)).status).toBe(404);
    expect(await stagedKeys()).toBe(0);
  });

  it("refuses an archive with one changed byte (checksum), leaving no tenant", async () => {
    const copy = uniqueSlug("bad");
    const changed = archive.slice();
    // Inside tool.bin's 3,000 bytes of 7.
    const at = archive.findIndex((_, i) => archive.subarray(i, i + 64).every((b) => b === 7));
    expect(at).toBeGreaterThan(0);
    changed[at + 10] = 8;
    const before = await tenantKeys();
    const res = await importArchive(changed, `?slug=${copy}&host=${copy}.test`);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/objects\/downloads\/x\/tool.bin does not match its SHA-256/);
    expect((await admin("GET", `/api/v1/tenants/${copy}`)).status).toBe(404);
    expect(await tenantKeys()).toEqual(before);
    expect(await stagedKeys()).toBe(0);
  });

  it("refuses a truncated archive, leaving no tenant", async () => {
    const copy = uniqueSlug("cut");
    const res = await importArchive(archive.subarray(0, Math.floor(archive.length * 0.6)), `?slug=${copy}&host=${copy}.test`);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/truncated/);
    expect((await admin("GET", `/api/v1/tenants/${copy}`)).status).toBe(404);
  });

  it("refuses the archive's own slug while that tenant exists (409), and a host that is taken", async () => {
    let res = await importArchive(archive);
    expect(res.status).toBe(409);
    expect(await res.text()).toContain(slug);
    const copy = uniqueSlug("taken");
    res = await importArchive(archive, `?slug=${copy}&host=${host}`);
    expect(res.status).toBe(409);
    expect((await admin("GET", `/api/v1/tenants/${copy}`)).status).toBe(404);
  });

  it("rolls back a restore that fails after rows, files and repositories were written", async () => {
    const entries = await entriesOf(archive);
    const manifest = JSON.parse(decoder.decode(entries.at(-1)!.data)) as Manifest;
    // Well-formed and checksummed, but its last rows name a table the schema does not have.
    const broken = [...entries.slice(0, -1), { name: "db/rows/no_such_table/000001.jsonl", data: encoder.encode('{"a":1}\n') }];
    const copy = uniqueSlug("roll");
    const before = await tenantKeys();
    const res = await importArchive(await rebuild(broken, manifest), `?slug=${copy}&host=${copy}.test`);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("no_such_table");
    expect((await admin("GET", `/api/v1/tenants/${copy}`)).status).toBe(404);
    expect((await edge(`http://${copy}.test/`)).status).toBe(404);
    expect(await tenantKeys()).toEqual(before);
    expect(await stagedKeys()).toBe(0);
  });
});
