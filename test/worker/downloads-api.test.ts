// The downloads REST API in workerd: raw-body uploads streamed with their SHA-256, metadata,
// list with labels and pagination, changes, deletion, the bytes with ranges, who may do what,
// and the OpenAPI document; plus the range parser's edge cases.
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Browser, apiCall, newForge, registerUser, type Forge, ok, webToken } from "./browser";
import { admin, edge } from "./helpers";
import { nameProblem, parseRange } from "../../src/services/downloads";

const env = workerEnv as unknown as { OBJECTS: R2Bucket };

let forge: Forge;
let mia: string; // member, write token
let miaRead: string; // member, read-only token
let stan: string; // not a member, write token

interface DownloadJson {
  id: string;
  name: string;
  summary: string;
  changelog: string;
  labels: string[];
  size: number;
  sha256: string;
  download_count: number;
  uploader: string | null;
  browser_download_url: string;
  html_url: string;
  url: string;
}

const base = (project = "rel") => `/api/v1/projects/${project}/downloads`;

/** Uploads `data` as the raw body, streamed (no Content-Length) unless `length` is set. */
function put(query: string, data: Uint8Array | string, tok: string | null = mia, project = "rel") {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return edge(`http://${forge.host}${base(project)}?${query}`, {
    method: "POST",
    headers: tok ? { authorization: `token ${tok}` } : {},
    body: new ReadableStream({
      start(c) {
        for (let i = 0; i < bytes.length; i += 4096) c.enqueue(bytes.slice(i, i + 4096));
        c.close();
      },
    }),
    duplex: "half",
  } as RequestInit);
}

async function sha256(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

beforeAll(async () => {
  forge = await newForge("dlapi");
  const miaB = await registerUser(forge, "mia");
  const stanB = await registerUser(forge, "stan");
  mia = await webToken(miaB, "write");
  miaRead = await webToken(miaB, "read");
  stan = await webToken(stanB, "write");
  await ok(await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "rel" }), 201);
  await ok(await apiCall(forge.host, "POST", "/api/v1/projects", forge.ownerToken, { name: "hidden", private: true }), 201);
  const owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  expect((await owner.post("/p/rel/admin/members", { username: "mia", role: "member" })).status).toBe(303);
}, 120_000);

describe("uploading with the API", () => {
  const data = Uint8Array.from({ length: 50_000 }, (_, i) => (i * 7) & 0xff);

  it("streams a raw body, computes its SHA-256 and answers the file's metadata", async () => {
    const file = await ok<DownloadJson>(
      await put("name=tool-2.0.zip&summary=The%20tool&labels=featured,Type:Archive&changelog=*%20fixed", data),
      201,
    );
    expect(file).toMatchObject({
      name: "tool-2.0.zip",
      summary: "The tool",
      changelog: "* fixed",
      labels: ["Featured", "Type:Archive"],
      size: 50_000,
      sha256: await sha256(data),
      download_count: 0,
      uploader: "mia",
    });
    expect(file.browser_download_url).toBe(`http://${forge.host}/p/rel/downloads/tool-2.0.zip`);
    expect(file.html_url).toBe(`http://${forge.host}/p/rel/downloads/tool-2.0.zip/details`);
    const got = await ok<DownloadJson>(await apiCall(forge.host, "GET", `${base()}/tool-2.0.zip`));
    expect(got.sha256).toBe(file.sha256);
  });

  it("refuses bad and taken names, empty files, and files over the limit, keeping nothing", async () => {
    const before = (await env.OBJECTS.list({ prefix: `t/${forge.id}/downloads/` })).objects.length;
    expect((await put("name=tool-2.0.zip", "again")).status).toBe(409);
    for (const name of ["a%2Fb", "%01x", "..", "new", "%20padded"])
      expect((await put(`name=${name}`, "x")).status, name).toBe(400);
    expect((await put("", "x")).status).toBe(400);
    expect((await put("name=empty.bin", "")).status).toBe(400);
    expect((await put("name=bad-label.bin&labels=no!", "x")).status).toBe(400);
    expect((await admin("PATCH", `/api/v1/tenants/${forge.slug}`, { plan: { max_download_bytes: 1000 } })).status).toBe(200);
    try {
      const res = await put("name=big.bin", new Uint8Array(5000));
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
      // Declared too large: refused before the body is read.
      const declared = await edge(`http://${forge.host}${base()}?name=big.bin`, {
        method: "POST",
        headers: { authorization: `token ${mia}`, "content-length": "5000" },
        body: new Uint8Array(5000),
      });
      expect(declared.status).toBe(413);
    } finally {
      await admin("PATCH", `/api/v1/tenants/${forge.slug}`, { plan: { max_download_bytes: 200 * 1024 * 1024 } });
    }
    expect((await env.OBJECTS.list({ prefix: `t/${forge.id}/downloads/` })).objects.length).toBe(before);
    const list = await ok<DownloadJson[]>(await apiCall(forge.host, "GET", base()));
    expect(list.map((f) => f.name)).toEqual(["tool-2.0.zip"]);
  });

  it("is for members with a write token: 401 anonymous, 403 read-only or not a member, 404 hidden", async () => {
    expect((await put("name=a.bin", "x", null)).status).toBe(401);
    expect((await put("name=a.bin", "x", miaRead)).status).toBe(403);
    expect((await put("name=a.bin", "x", stan)).status).toBe(403);
    expect((await put("name=a.bin", "x", stan, "hidden")).status).toBe(404);
    expect((await apiCall(forge.host, "GET", base("hidden"))).status).toBe(404);
    expect((await apiCall(forge.host, "GET", base("hidden"), forge.ownerToken)).status).toBe(200);
  });
});

describe("reading, changing and deleting", () => {
  it("lists by label with pagination headers", async () => {
    for (const n of [1, 2, 3]) await ok(await put(`name=n${n}.txt&labels=OpSys:Linux`, `file ${n}`), 201);
    const res = await apiCall(forge.host, "GET", `${base()}?label=opsys:linux&limit=2`);
    const page = await ok<DownloadJson[]>(res);
    expect(page.map((f) => f.name)).toEqual(["n3.txt", "n2.txt"]);
    expect(res.headers.get("x-total-count")).toBe("3");
    expect(res.headers.get("link")).toContain('rel="next"');
  });

  it("serves the bytes with ranges and counts the download", async () => {
    const whole = await apiCall(forge.host, "GET", `${base()}/n1.txt/file`);
    expect(whole.status).toBe(200);
    expect(await whole.text()).toBe("file 1");
    expect(whole.headers.get("etag")).toBe(`"${await sha256("file 1")}"`);
    const part = await edge(`http://${forge.host}${base()}/n1.txt/file`, { headers: { range: "bytes=5-" } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe("1");
    const past = await edge(`http://${forge.host}${base()}/n1.txt/file`, { headers: { range: "bytes=6-" } });
    expect(past.status).toBe(416);
    await past.arrayBuffer();
    expect((await apiCall(forge.host, "GET", `${base()}/nope/file`)).status).toBe(404);
  });

  it("changes summary, changelog and labels (members only); deletes with the bytes", async () => {
    expect((await apiCall(forge.host, "PATCH", `${base()}/n2.txt`, stan, { summary: "x" })).status).toBe(403);
    const changed = await ok<DownloadJson>(
      await apiCall(forge.host, "PATCH", `${base()}/n2.txt`, mia, { summary: "Second", labels: ["deprecated"] }),
    );
    expect(changed).toMatchObject({ summary: "Second", labels: ["Deprecated"], changelog: "" });
    expect((await apiCall(forge.host, "PATCH", `${base()}/nope`, mia, { summary: "x" })).status).toBe(404);
    expect((await apiCall(forge.host, "DELETE", `${base()}/n2.txt`, stan)).status).toBe(403);
    expect((await apiCall(forge.host, "DELETE", `${base()}/n2.txt`, mia)).status).toBe(204);
    expect((await apiCall(forge.host, "GET", `${base()}/n2.txt`)).status).toBe(404);
    expect((await apiCall(forge.host, "DELETE", `${base()}/n2.txt`, mia)).status).toBe(404);
  });

  it("is described in the OpenAPI document", async () => {
    const doc = await ok<{ paths: Record<string, Record<string, unknown>> }>(
      await apiCall(forge.host, "GET", "/api/v1/openapi.json"),
    );
    expect(Object.keys(doc.paths[base("{project}")]!).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths[`${base("{project}")}/{name}`]!).sort()).toEqual(["delete", "get", "patch"]);
    expect(doc.paths[`${base("{project}")}/{name}/file`]).toBeDefined();
  });
});

describe("parseRange and nameProblem", () => {
  it("reads one byte range, ignores what it may ignore and knows what cannot be satisfied", () => {
    expect(parseRange(undefined, 10)).toBeNull();
    expect(parseRange("bytes=0-0", 10)).toEqual({ offset: 0, length: 1 });
    expect(parseRange("bytes=3-", 10)).toEqual({ offset: 3, length: 7 });
    expect(parseRange("bytes=-4", 10)).toEqual({ offset: 6, length: 4 });
    expect(parseRange("bytes=-40", 10)).toEqual({ offset: 0, length: 10 });
    expect(parseRange("bytes=8-100", 10)).toEqual({ offset: 8, length: 2 });
    expect(parseRange("bytes=10-", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=-0", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=5-2", 10)).toBeNull();
    expect(parseRange("bytes=0-1,4-5", 10)).toBeNull();
    expect(parseRange("items=0-1", 10)).toBeNull();
    expect(parseRange("bytes=-", 10)).toBeNull();
  });

  it("accepts names that work as the last part of a URL", () => {
    for (const ok of ["app-1.0.tar.gz", "notes 1.txt", "Ünïcode.bin", ".hidden", "new.zip"])
      expect(nameProblem(ok), ok).toBeNull();
    for (const bad of ["", "a/b", "a\\b", "a\nb", "a\u0085b", " x", "x ", ".", "..", "new", "Admin", "x".repeat(201)])
      expect(nameProblem(bad), JSON.stringify(bad)).not.toBeNull();
  });
});
