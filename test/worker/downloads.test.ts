// The downloads area in workerd: uploads through the form (streamed, SHA-256 shown), metadata and
// labels, the file at its stable URL with ranges, ETag and counts, the size limit leaving nothing
// behind, file-name rules, who may do what (private projects, CSRF), deletion and the timeline.
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { Browser, newForge, registerUser, tenantD1, type Forge } from "./browser";
import { admin } from "./helpers";
import { featuredDownloads } from "../../src/services/downloads";
import { openTenantDb } from "../../src/db/tenant-db";

const env = workerEnv as unknown as { OBJECTS: R2Bucket };

let forge: Forge;
let owner: Browser;
let mia: Browser; // member of "files"
let stan: Browser; // signed in, not a member
const anon = () => new Browser(forge.host);

/** The upload form as a browser sends it: the text fields first, then the file. */
function upload(b: Browser, project: string, fields: Record<string, string>, file?: { name: string; data: Uint8Array | string }) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) form.append("file", new File([file.data], file.name, { type: "application/octet-stream" }));
  return b.fetch(`/p/${project}/downloads/new`, {
    method: "POST",
    headers: { origin: b.origin, "sec-fetch-site": "same-origin" },
    body: form as unknown as BodyInit,
  });
}

async function text(b: Browser, path: string, status = 200): Promise<string> {
  const res = await b.get(path);
  const body = await res.text();
  expect(res.status, `${path}: ${body.slice(0, 300)}`).toBe(status);
  return body;
}

async function sha256(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const bytes = (n: number, seed = 7) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** R2 objects of the forge's downloads (any project). */
async function storedKeys(): Promise<string[]> {
  const list = await env.OBJECTS.list({ prefix: `t/${forge.id}/downloads/` });
  return list.objects.map((o) => o.key);
}

async function rows(sql: string, ...params: unknown[]) {
  return (
    await (
      await tenantD1(forge)
    )
      .prepare(sql)
      .bind(...params)
      .all<Record<string, unknown>>()
  ).results;
}

/** The response, read to its end (an unread body keeps its request open in workerd). */
async function drained(res: Promise<Response>): Promise<Response> {
  const r = await res;
  await r.arrayBuffer();
  return r;
}

const countOf = async (name: string) => (await rows("SELECT download_count AS n FROM downloads WHERE name = ?", name))[0]?.n;

beforeAll(async () => {
  forge = await newForge("dl");
  owner = new Browser(forge.host);
  await owner.signIn("owner", forge.ownerPassword);
  mia = await registerUser(forge, "mia");
  stan = await registerUser(forge, "stan");
  expect((await owner.post("/projects/new", { name: "files", description: "" })).status).toBe(303);
  expect((await owner.post("/projects/new", { name: "secret", description: "", private: "1" })).status).toBe(303);
  expect((await owner.post("/p/files/admin/members", { username: "mia", role: "member" })).status).toBe(303);
}, 120_000);

describe("uploading through the form", () => {
  const data = bytes(3000);

  it("stores the file with its summary, labels and changelog, and shows its SHA-256 and size", async () => {
    const res = await upload(
      mia,
      "files",
      {
        name: "app-1.0.tar.gz",
        summary: "First <b>release</b>",
        "l.Featured": "Featured",
        "l.Type:Archive": "Type:Archive",
        labels: "opsys:linux Custom",
        changelog: "* **new**: everything\n\n<script>alert(1)</script>",
      },
      { name: "whatever.bin", data },
    );
    expect(res.status, await res.clone().text()).toBe(303);
    expect(res.headers.get("location")).toBe("/p/files/downloads/app-1.0.tar.gz/details?ok=uploaded");
    const page = await text(anon(), "/p/files/downloads/app-1.0.tar.gz/details");
    expect(page).toContain(await sha256(data));
    expect(page).toContain("3,000 bytes");
    expect(page).toContain("First &lt;b&gt;release&lt;/b&gt;");
    expect(page).toContain("<strong>new</strong>");
    expect(page).not.toContain("<script>alert(1)");
    // Predefined labels keep their configured spelling; others are kept as typed.
    for (const label of ["Featured", "Archive", "Linux", "Custom"]) expect(page).toContain(label);
    expect(page).toContain('href="/p/files/downloads/?label=OpSys%3ALinux"');
    expect(page).toContain('href="/p/files/downloads/app-1.0.tar.gz"');
    // The uploader and no way to change it for visitors.
    expect(page).toContain('href="/u/mia"');
    expect(page).not.toContain("/delete");
  });

  it("names the file after the chosen file when the name is left empty, and lists it", async () => {
    const res = await upload(mia, "files", { name: "", summary: "notes" }, { name: "notes 1.txt", data: "hello" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/p/files/downloads/notes%201.txt/details?ok=uploaded");
    const list = await text(anon(), "/p/files/downloads/");
    expect(list).toContain('href="/p/files/downloads/notes%201.txt/details"');
    expect(list).toContain('href="/p/files/downloads/app-1.0.tar.gz/details"');
    // The labels filter.
    const featured = await text(anon(), "/p/files/downloads/?label=featured");
    expect(featured).toContain("app-1.0.tar.gz");
    expect(featured).not.toContain("notes%201.txt/details");
  });

  it("refuses a taken name (409) and bad names (400) before storing anything", async () => {
    const before = await storedKeys();
    const taken = await upload(mia, "files", { name: "app-1.0.tar.gz" }, { name: "x", data: "again" });
    expect(taken.status).toBe(409);
    expect(await taken.text()).toContain("already a file named app-1.0.tar.gz");
    for (const name of ["a/b", "a\\b", "tab\there", "..", "new", "admin", "x".repeat(201)]) {
      const res = await upload(mia, "files", { name }, { name: "x", data: "bad" });
      expect(res.status, name).toBe(400);
      // The form comes back with what was typed.
      expect(await res.text()).toContain("Upload a file");
    }
    const empty = await upload(mia, "files", { name: "empty.bin" }, { name: "empty.bin", data: "" });
    expect(empty.status).toBe(400);
    const none = await upload(mia, "files", { name: "nothing.bin" });
    expect(none.status).toBe(400);
    expect(await storedKeys()).toEqual(before);
    expect(await rows("SELECT name FROM downloads WHERE name IN ('empty.bin', 'nothing.bin')")).toEqual([]);
  });
});

describe("the file at its stable URL", () => {
  const data = bytes(1000, 3);
  let etag: string;

  beforeAll(async () => {
    expect((await upload(mia, "files", { name: "range.bin" }, { name: "range.bin", data })).status).toBe(303);
    etag = `"${await sha256(data)}"`;
  });

  it("serves it whole as an attachment that is never sniffed, with the SHA-256 as ETag", async () => {
    const res = await anon().get("/p/files/downloads/range.bin");
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(data);
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="range.bin"/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("etag")).toBe(etag);
    expect(res.headers.get("content-length")).toBe("1000");
  });

  it("answers ranges with 206 and impossible ones with 416", async () => {
    const part = await anon().get("/p/files/downloads/range.bin", { range: "bytes=10-19" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 10-19/1000");
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(data.slice(10, 20));
    const tail = await anon().get("/p/files/downloads/range.bin", { range: "bytes=-5" });
    expect(tail.status).toBe(206);
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(data.slice(995));
    const open = await anon().get("/p/files/downloads/range.bin", { range: "bytes=990-5000" });
    expect(open.headers.get("content-range")).toBe("bytes 990-999/1000");
    expect((await open.arrayBuffer()).byteLength).toBe(10);
    const past = await anon().get("/p/files/downloads/range.bin", { range: "bytes=1000-" });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe("bytes */1000");
    // An If-Range of another version gets the whole new file.
    const stale = await anon().get("/p/files/downloads/range.bin", { range: "bytes=10-19", "if-range": '"old"' });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
    const same = await anon().get("/p/files/downloads/range.bin", { "if-none-match": etag });
    expect(same.status).toBe(304);
    const head = await anon().fetch("/p/files/downloads/range.bin", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe(etag);
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    // A name that needs escaping in a URL is found by its escaped form.
    expect((await upload(mia, "files", { name: "50% #1 ü?.bin" }, { name: "x", data: "odd" })).status).toBe(303);
    expect(await text(anon(), `/p/files/downloads/${encodeURIComponent("50% #1 ü?.bin")}`)).toBe("odd");
  });

  it("counts whole downloads and ranges from the start, not resumed ones or revalidations", async () => {
    // The counter is bumped after the response (waitUntil): wait for it to show, then check the total.
    // So far: the whole file once, and once more for an If-Range of another version.
    const counted = 2;
    await vi.waitFor(async () => expect(Number(await countOf("range.bin"))).toBe(counted));
    await (await anon().get("/p/files/downloads/range.bin", { range: "bytes=500-" })).arrayBuffer();
    await (await anon().get("/p/files/downloads/range.bin", { "if-none-match": etag })).arrayBuffer();
    await (await anon().fetch("/p/files/downloads/range.bin", { method: "HEAD" })).arrayBuffer();
    await (await anon().get("/p/files/downloads/range.bin")).arrayBuffer();
    await vi.waitFor(async () => expect(Number(await countOf("range.bin"))).toBe(counted + 1));
    await (await anon().get("/p/files/downloads/range.bin", { range: "bytes=0-99" })).arrayBuffer();
    await vi.waitFor(async () => expect(Number(await countOf("range.bin"))).toBe(counted + 2));
    expect(await text(anon(), "/p/files/downloads/range.bin/details")).toContain(`<dd class="count">${counted + 2}</dd>`);
  });

  it("is a 404 for a file that does not exist", async () => {
    await text(anon(), "/p/files/downloads/nope.bin", 404);
    await text(anon(), "/p/files/downloads/nope.bin/details", 404);
  });
});

describe("the size limit", () => {
  it("refuses a file over the plan's limit with 413 and leaves nothing behind (R2 multipart aborted, no row)", async () => {
    const MiB = 1024 * 1024;
    expect((await admin("PATCH", `/api/v1/tenants/${forge.slug}`, { plan: { max_download_bytes: 9 * MiB } })).status).toBe(200);
    try {
      const before = await storedKeys();
      // Declared too large: refused before reading.
      const declared = await upload(mia, "files", { name: "big.bin" }, { name: "big.bin", data: new Uint8Array(10 * MiB) });
      expect(declared.status).toBe(413);
      expect(await declared.text()).toContain("limit of 9 MiB");
      // Sent without a length (chunked), so it is refused as it streams, after an 8 MiB part went to R2.
      const boundary = "----edgeforge-test";
      const enc = new TextEncoder();
      const parts = [
        enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nbig.bin\r\n`),
        enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n`),
        ...Array.from({ length: 160 }, () => new Uint8Array(64 * 1024)),
        enc.encode(`\r\n--${boundary}--\r\n`),
      ];
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = parts.shift();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      });
      const streamed = await mia.fetch("/p/files/downloads/new", {
        method: "POST",
        headers: {
          origin: mia.origin,
          "sec-fetch-site": "same-origin",
          "content-type": `multipart/form-data; boundary=${boundary}`,
        },
        body,
      });
      expect(streamed.status).toBe(413);
      await streamed.arrayBuffer();
      expect(await storedKeys()).toEqual(before);
      expect(await rows("SELECT id FROM downloads WHERE name = 'big.bin'")).toEqual([]);
      expect(await text(mia, "/p/files/downloads/new")).toContain("At most 9 MiB");
    } finally {
      await admin("PATCH", `/api/v1/tenants/${forge.slug}`, { plan: { max_download_bytes: 200 * MiB } });
    }
  });
});

describe("who may do what", () => {
  it("hides a private project's downloads (404) from those who may not see it", async () => {
    expect((await drained(upload(owner, "secret", { name: "s.bin" }, { name: "s.bin", data: "secret" }))).status).toBe(303);
    for (const b of [anon(), stan]) {
      await text(b, "/p/secret/downloads/", 404);
      await text(b, "/p/secret/downloads/s.bin", 404);
      await text(b, "/p/secret/downloads/s.bin/details", 404);
    }
    expect(await text(owner, "/p/secret/downloads/s.bin")).toBe("secret");
  });

  it("lets members upload, edit and delete; others are sent to sign in or refused", async () => {
    expect((await drained(anon().get("/p/files/downloads/new"))).status).toBe(303);
    expect((await drained(stan.get("/p/files/downloads/new"))).status).toBe(403);
    // (Refused before the body is read, so a small urlencoded one stands in for the multipart form.)
    expect((await drained(stan.post("/p/files/downloads/new", { name: "stan.bin" }))).status).toBe(403);
    expect((await drained(stan.post("/p/files/downloads/range.bin/delete", {}))).status).toBe(403);
    expect((await drained(stan.post("/p/files/downloads/range.bin/edit", { summary: "mine" }))).status).toBe(403);
    expect((await drained(anon().post("/p/files/downloads/range.bin/delete", {}))).status).toBe(303);
    expect(await rows("SELECT id FROM downloads WHERE name IN ('stan.bin')")).toEqual([]);
    // Label configuration is for owners.
    await text(mia, "/p/files/downloads/admin", 404);
    expect(await text(owner, "/p/files/downloads/admin")).toContain("OpSys:Linux");
  });

  it("refuses cross-site form posts (upload, delete)", async () => {
    const res = await drained(mia.post("/p/files/downloads/new", { name: "csrf.bin" }, { from: "http://evil.example" }));
    expect(res.status).toBe(403);
    expect((await drained(mia.post("/p/files/downloads/range.bin/delete", {}, { from: "http://evil.example" }))).status).toBe(
      403,
    );
    expect(await rows("SELECT name FROM downloads WHERE name IN ('csrf.bin', 'range.bin')")).toEqual([{ name: "range.bin" }]);
  });

  it("follows the area's access level (members only: a signed-in stranger gets 404)", async () => {
    const settings = await text(owner, "/p/files/admin");
    expect(settings).toContain("access_downloads");
    const res = await drained(
      owner.post("/p/files/admin/settings", {
        description: "",
        access_source: "all",
        access_issues: "all",
        access_wiki: "all",
        access_downloads: "members",
        access_review: "all",
      }),
    );
    expect(res.status).toBe(303);
    try {
      await vi.waitFor(async () => {
        const res = await stan.get("/p/files/downloads/");
        await res.arrayBuffer();
        expect(res.status).toBe(404);
      });
      await text(mia, "/p/files/downloads/");
    } finally {
      await owner.post("/p/files/admin/settings", {
        description: "",
        access_source: "all",
        access_issues: "all",
        access_wiki: "all",
        access_downloads: "all",
        access_review: "all",
      });
    }
  });
});

describe("editing and deleting", () => {
  it("edits summary, changelog and labels; configured labels are offered", async () => {
    expect((await upload(mia, "files", { name: "edit.bin" }, { name: "edit.bin", data: "e" })).status).toBe(303);
    expect(
      (await owner.post("/p/files/downloads/admin", { labels: "Featured = home page\nDeprecated = old\nFlavor:Mint = green" }))
        .status,
    ).toBe(303);
    expect(await text(mia, "/p/files/downloads/edit.bin/edit")).toContain('name="l.Flavor:Mint"');
    const res = await mia.post("/p/files/downloads/edit.bin/edit", {
      summary: "Edited",
      changelog: "_better_",
      "l.Flavor:Mint": "Flavor:Mint",
      labels: "deprecated",
    });
    expect(res.status).toBe(303);
    const page = await text(anon(), "/p/files/downloads/edit.bin/details");
    expect(page).toContain("Edited");
    expect(page).toContain("<em>better</em>");
    expect(page).toContain("Mint");
    expect(page).toContain("Deprecated");
    expect((await mia.post("/p/files/downloads/edit.bin/edit", { summary: "x", labels: "bad,label!" })).status).toBe(400);
  });

  it("featuredDownloads lists Featured files that are not Deprecated", async () => {
    const db = openTenantDb(await tenantD1(forge));
    const [project] = await rows("SELECT id FROM projects WHERE name = 'files'");
    const featured = await featuredDownloads(db, Number(project!.id));
    expect(featured.map((f) => f.name)).toEqual(["app-1.0.tar.gz"]);
  });

  it("deletes the row and the R2 object, and records upload and deletion in the timeline", async () => {
    const [row] = await rows("SELECT id, r2_key FROM downloads WHERE name = 'edit.bin'");
    expect(await env.OBJECTS.head(String(row!.r2_key))).not.toBeNull();
    const res = await mia.post("/p/files/downloads/edit.bin/delete", {});
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/p/files/downloads/?ok=deleted");
    expect(await env.OBJECTS.head(String(row!.r2_key))).toBeNull();
    expect(await rows("SELECT * FROM downloads WHERE name = 'edit.bin'")).toEqual([]);
    expect(await rows("SELECT * FROM download_labels WHERE download_id = ?", row!.id)).toEqual([]);
    const events = await rows(
      "SELECT title, actor, key FROM events WHERE kind = 'download' AND key LIKE ?",
      `download:${row!.id}:%`,
    );
    expect(events).toEqual([
      { title: "Uploaded edit.bin", actor: "mia", key: `download:${row!.id}:upload` },
      { title: "Deleted edit.bin", actor: "mia", key: `download:${row!.id}:delete` },
    ]);
    await text(anon(), "/p/files/downloads/edit.bin", 404);
  });
});
