// The repository browser in workerd, on repositories built in memory and imported (or pushed)
// through the real paths: pages, path resolution, raw files, archives, caching and permissions.
import { env as workerEnv } from "cloudflare:workers";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashObject } from "../../src/git/oid";
import { checkConnectivity, indexIds, linkRuns } from "../../src/git/connectivity";
import { collectLinks } from "../../src/git/links";
import { MemorySpillStore } from "../../src/git/spill-memory";
import { PackIndex } from "../../src/git/pack-index";
import { indexPack } from "../../src/git/pack-indexer";
import { DELIM, FLUSH, parsePktLines, pkt } from "../../src/git/pkt-line";
import { MemorySource } from "../../src/git/range-source";
import { concatBytes } from "../../src/utils/bytes";
import { crc32 } from "../../src/git/crc32";
import { cacheUrl } from "../../src/services/page-cache";
import { lastCommitsKey, walkBudget } from "../../src/services/last-commits";
import type { Env } from "../../src/env";
import { Browser, newForge, registerUser, tenantD1, type Forge } from "./browser";
import { edge, drainPostPush } from "./helpers";
import { RETIRED_GRACE_MS } from "../../src/repo/compaction";
import { openStore, repoStub } from "../../src/services/repositories";
import { r2Keys } from "../../src/storage/keys";
import { RepoBuilder, importRepo, pushRef, type FileMap } from "./git-fixture";

// No post-push delivery of this file's pushes may still run when its runtime closes.
afterAll(drainPostPush);

const env = workerEnv as unknown as { OBJECTS: R2Bucket };
let forge: Forge;
const repo = new RepoBuilder();
const commits = {} as Record<"c1" | "c2" | "c3" | "c4" | "c5" | "side" | "hush", string>;
let files3: FileMap;
let bigBlob: Uint8Array;

/** Pseudo-random bytes (they do not compress, so the pack stores them whole and large). */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const bigFile = (n: number) => `${Array.from({ length: n }, (_, i) => `line ${i} of a long generated file`).join("\n")}\n`;

beforeAll(async () => {
  forge = await newForge("src");
  bigBlob = noise(3 * 1024 * 1024 + 17, 7);
  const files1: FileMap = {
    "README.md": "# Demo\n\nHello *world*.\n\n<script>alert(1)</script>\n",
    "a.txt": "one\ntwo\nthree\n",
    "lib/main.js": "// main\nfunction main() {\n  return 1;\n}\n",
  };
  commits.c1 = repo.commit({ files: files1, message: "First commit", author: "Ada Lovelace" });
  const files2: FileMap = { ...files1, "a.txt": "one\ntwo\nthree\nfour\n" };
  commits.c2 = repo.commit({ files: files2, parents: [commits.c1], message: "Add four to a.txt", author: "Grace Hopper" });
  files3 = {
    ...files2,
    "lib/util.js": 'export const x = "<b>";\n',
    "page.html": "<html><script>alert(document.domain)</script></html>\n",
    "run.sh": { data: "#!/bin/sh\necho hi\n", mode: "100755" },
    link: { data: "a.txt", mode: "120000" },
    "assets/big.bin": bigBlob,
    "assets/tiny.png": new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]),
    "docs/long.txt": bigFile(12_000),
    "dir with space/ü.txt": "unicode\n",
  };
  commits.c3 = repo.commit({
    files: files3,
    parents: [commits.c2],
    message: "Add util, assets and docs\n\nA longer body.",
    author: "Ada Lovelace",
  });
  const files4: FileMap = { ...files3, "docs/long.txt": bigFile(12_000).replace(/line (\d+)0 /g, "LINE $10 ") };
  commits.c4 = repo.commit({ files: files4, parents: [commits.c3], message: "Shout every tenth line", author: "Grace Hopper" });
  commits.side = repo.commit({ files: { ...files3, "side.txt": "side\n" }, parents: [commits.c3], message: "Side work" });
  await importRepo(forge.slug, "demo", repo, {
    "refs/heads/main": commits.c4,
    "refs/heads/feature/side": commits.side,
    "refs/tags/v1.0": commits.c2,
  });
}, 60_000);

const page = (path: string, headers: Record<string, string> = {}) => new Browser(forge.host).get(path, headers);

async function html(path: string): Promise<string> {
  const res = await page(path);
  expect(res.status, path).toBe(200);
  return res.text();
}

describe("tree pages", () => {
  it("lists a directory with each entry's last commit, directories first", async () => {
    const body = await html("/p/demo/source/tree/main/");
    const rows = [...body.matchAll(/<tr data-entry="([^"]+)">.*?<\/tr>/gs)].map((m) => m[0]);
    const names = rows.map((r) => /data-entry="([^"]+)"/.exec(r)![1]);
    expect(names).toEqual(["assets", "dir with space", "docs", "lib", "README.md", "a.txt", "link", "page.html", "run.sh"]);
    const commitOf = (name: string) => /commit\/([0-9a-f]{40})/.exec(rows[names.indexOf(name)]!)?.[1];
    expect(commitOf("a.txt")).toBe(commits.c2);
    expect(commitOf("README.md")).toBe(commits.c1);
    expect(commitOf("docs")).toBe(commits.c4);
    expect(commitOf("lib")).toBe(commits.c3);
  });

  it("renders the README as sanitized Markdown", async () => {
    const body = await html("/p/demo/source/");
    expect(body).toContain("<em>world</em>");
    // The sanitizer drops a script with its content (GitHub does the same).
    expect(body).not.toContain("alert(1)");
    expect(body).toContain(`value="http://${forge.host}/demo.git"`);
  });

  it("walks into folders, at branches with slashes, tags and commit ids", async () => {
    expect(await html("/p/demo/source/tree/main/lib")).toContain('data-entry="util.js"');
    expect(await html("/p/demo/source/tree/feature/side/")).toContain('data-entry="side.txt"');
    expect(await html("/p/demo/source/tree/feature%2Fside/")).toContain('data-entry="side.txt"');
    const tag = await html("/p/demo/source/tree/v1.0/");
    expect(tag).not.toContain('data-entry="lib/util.js"');
    expect(tag).toContain('data-entry="a.txt"');
    expect(await html(`/p/demo/source/tree/${commits.c3}/lib`)).toContain('data-entry="util.js"');
    expect(await html(`/p/demo/source/tree/${commits.c3.slice(0, 8)}/lib`)).toContain('data-entry="util.js"');
    expect(await html("/p/demo/source/tree/main/dir%20with%20space")).toContain('data-entry="ü.txt"');
  });

  it("redirects between tree and blob URLs", async () => {
    const a = await page("/p/demo/source/tree/main/a.txt");
    expect(a.status).toBe(302);
    expect(a.headers.get("location")).toBe("/p/demo/source/blob/main/a.txt");
    const b = await page("/p/demo/source/blob/main/lib");
    expect(b.headers.get("location")).toBe("/p/demo/source/tree/main/lib");
  });

  const TRICKS = [
    "/p/demo/source/tree/main/lib%2Fmain.js",
    "/p/demo/source/blob/main/lib%2fmain.js",
    "/p/demo/source/blob/main/lib/main.js%00",
    "/p/demo/source/blob/main/lib/%00main.js",
    "/p/demo/source/blob/main/lib/%2e%2e%2fa.txt",
    "/p/demo/source/blob/main/lib/%2e%2e/%2e%2e/%2e%2e/%2e%2e/a.txt",
    "/p/demo/source/raw/main/lib/..%2fa.txt",
    "/p/demo/source/raw/main/%2E%2E/%2E%2E/a.txt",
    "/p/demo/source/blob/main/lib//main.js",
    "/p/demo/source/blob/main/.%2fa.txt",
    "/p/demo/source/raw/main/lib/%5c..%5ca.txt",
    "/p/demo/source/blob/main/nope.txt",
    "/p/demo/source/blob/nope/a.txt",
    "/p/demo/source/tree/main%00/",
    "/p/demo/source/raw/main/%E0%A4%A",
    "/p/demo/source/blob/0000000000000000000000000000000000000000/a.txt",
    "/p/demo/source/tree/main/lib/main.js/x",
  ];
  for (const trick of TRICKS) {
    it(`answers 404 to ${trick}`, async () => {
      const res = await page(trick);
      expect(res.status).toBe(404);
    });
  }
});

describe("files", () => {
  it("shows code with line numbers, anchors and escaped, highlighted tokens", async () => {
    const body = await html("/p/demo/source/blob/main/lib/util.js");
    expect(body).toContain("<tr id=L1><td class=ln><a href=#L1>1</a>");
    expect(body).toContain("<span class=k>export</span>");
    expect(body).toContain("<span class=s>&quot;&lt;b&gt;&quot;</span>");
    const page2 = await html("/p/demo/source/blob/main/page.html");
    expect(page2).not.toContain("<script>alert(document.domain)");
  });

  it("shows images inline, and offers binary and very large files for download", async () => {
    expect(await html("/p/demo/source/blob/main/assets/tiny.png")).toMatch(
      /<img src="\/p\/demo\/source\/raw\/[0-9a-f]{40}\/assets\/tiny.png"/,
    );
    const big = await html("/p/demo/source/blob/main/assets/big.bin");
    expect(big).toContain("too large to show here");
    expect(big).not.toContain("id=L1");
  });

  it("serves raw files safely: sandboxed, nosniff, text as text/plain, strong ETag", async () => {
    const res = await page("/p/demo/source/raw/main/page.html");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("sandbox");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await res.text()).toBe("<html><script>alert(document.domain)</script></html>\n");
    const etag = res.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{40}"$/);
    expect((await page("/p/demo/source/raw/main/page.html", { "if-none-match": etag })).status).toBe(304);
    const png = await page("/p/demo/source/raw/main/assets/tiny.png");
    expect(png.headers.get("content-type")).toBe("image/png");
    expect(png.headers.get("content-security-policy")).toContain("sandbox");
  });

  it("streams a large file stored whole in the pack, byte for byte", async () => {
    const res = await page("/p/demo/source/raw/main/assets/big.bin");
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("content-length")).toBe(String(bigBlob.length));
    const got = new Uint8Array(await res.arrayBuffer());
    expect(hashObject("blob", got)).toBe(hashObject("blob", bigBlob));
  });

  it("blames each line on the commit that brought it", async () => {
    const body = await html("/p/demo/source/blame/main/a.txt");
    const rows = [...body.matchAll(/<tr id=L(\d+)[^>]*><td class=bl>(.*?)<td/g)];
    expect(rows).toHaveLength(4);
    expect(rows[0]![2]).toContain(commits.c1!);
    expect(rows[1]![2]).toBe("");
    expect(rows[3]![2]).toContain(commits.c2!);
  });
});

describe("history", () => {
  it("shows the log of a branch and of a path", async () => {
    const log = await html("/p/demo/source/log/main");
    const shown = [...log.matchAll(/commit\/([0-9a-f]{40})">[0-9a-f]{7}</g)].map((m) => m[1]);
    expect(shown).toEqual([commits.c4, commits.c3, commits.c2, commits.c1]);
    const path = await html("/p/demo/source/log/main/a.txt");
    expect([...path.matchAll(/commit\/([0-9a-f]{40})">[0-9a-f]{7}</g)].map((m) => m[1])).toEqual([commits.c2, commits.c1]);
  });

  it("shows a commit with its message, parents and diff", async () => {
    const body = await html(`/p/demo/source/commit/${commits.c2}`);
    expect(body).toContain("Add four to a.txt");
    expect(body).toContain(commits.c1!.slice(0, 7));
    expect(body).toContain('<tr class="add"><td class="ln"><td class="ln">4<td>+four');
  });

  it("caps huge diffs and links to the file's diff on its own", async () => {
    const body = await html(`/p/demo/source/commit/${commits.c4}`);
    expect(body).toContain("Load this file's diff");
    expect(body).toContain(`/p/demo/source/commit/${commits.c4}/docs/long.txt`);
    const one = await html(`/p/demo/source/commit/${commits.c4}/docs/long.txt`);
    expect(one).toContain("+LINE 11990 of a long generated file");
  });

  it("offers .patch and .diff downloads", async () => {
    const diff = await (await page(`/p/demo/source/commit/${commits.c2}.diff`)).text();
    const id = (text: string) => hashObject("blob", new TextEncoder().encode(text)).slice(0, 7);
    expect(diff).toBe(
      `diff --git a/a.txt b/a.txt\nindex ${id("one\ntwo\nthree\n")}..${id("one\ntwo\nthree\nfour\n")} 100644\n--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,4 @@\n one\n two\n three\n+four\n`,
    );
    const patch = await (await page(`/p/demo/source/commit/${commits.c2}.patch`)).text();
    expect(patch).toMatch(/^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001\nFrom: Grace Hopper <grace.hopper@example.com>\nDate: /);
    expect(patch).toContain("Subject: [PATCH] Add four to a.txt\n");
    expect(patch).toContain("+four\n");
  });

  it("compares two refs: commits and changes since the merge base", async () => {
    const body = await html("/p/demo/source/compare/main...feature/side");
    expect(body).toContain(`Merge base <a class="mono" href="/p/demo/source/commit/${commits.c3}">`);
    expect(body).toContain("Side work");
    expect(body).toContain("side.txt");
    expect(body).not.toContain("Shout every tenth line");
  });

  it("lists branches and tags, and has an Atom feed of a branch", async () => {
    const branches = await html("/p/demo/source/branches");
    expect(branches).toContain("feature/side");
    expect(branches).toContain("default");
    const tags = await html("/p/demo/source/tags");
    expect(tags).toContain("/p/demo/source/archive/v1.0.tar.gz");
    const feed = await page("/p/demo/feed/commits/main");
    expect(feed.headers.get("content-type")).toContain("application/atom+xml");
    const xml = await feed.text();
    expect(xml.match(/<entry>/g)).toHaveLength(4);
    expect(xml).toContain("<title>Shout every tenth line</title>");
  });

  it("paginates a long log with a cursor", async () => {
    const r = new RepoBuilder();
    let tip = r.commit({ files: { "n.txt": "0\n" }, message: "commit 0" });
    const all = [tip];
    for (let i = 1; i < 120; i++) {
      tip = r.commit({ files: { "n.txt": `${i}\n` }, parents: [tip], message: `commit ${i}` });
      all.push(tip);
    }
    await importRepo(forge.slug, "long", r, { "refs/heads/main": tip });
    const seen: string[] = [];
    let url: string | null = "/p/long/source/log/main";
    while (url) {
      const body = await html(url);
      seen.push(...[...body.matchAll(/commit\/([0-9a-f]{40})">[0-9a-f]{7}</g)].map((m) => m[1]!));
      url = /<a href="([^"]+)" rel="next">/.exec(body)?.[1]?.replace(/&amp;/g, "&") ?? null;
    }
    expect(seen).toEqual(all.reverse());
  });
});

// ---- Archives: a tar reader and a zip reader, enough to check what the forge wrote.

/** gzip may hold several members (the forge writes one per 4 MiB): node:zlib reads them all. */
function gunzip(bytes: ArrayBuffer): Uint8Array {
  return new Uint8Array(gunzipSync(new Uint8Array(bytes)));
}

function readTar(tar: Uint8Array): Map<string, { type: string; mode: number; data: Uint8Array; link: string }> {
  const out = new Map<string, { type: string; mode: number; data: Uint8Array; link: string }>();
  const text = (a: number, b: number) => new TextDecoder().decode(tar.subarray(a, b)).replace(/\0.*$/s, "");
  let pos = 0;
  let longName: string | null = null;
  while (pos + 512 <= tar.length && tar[pos] !== 0) {
    const size = parseInt(text(pos + 124, pos + 136), 8);
    const type = text(pos + 156, pos + 157);
    const data = tar.subarray(pos + 512, pos + 512 + size);
    if (type === "x") {
      longName = /path=([^\n]*)\n/.exec(new TextDecoder().decode(data))?.[1] ?? null;
    } else if (type !== "g") {
      const name = longName ?? text(pos, pos + 100);
      out.set(name, { type, mode: parseInt(text(pos + 100, pos + 108), 8), data, link: text(pos + 157, pos + 257) });
      longName = null;
    }
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

async function readZip(zip: Uint8Array): Promise<Map<string, { data: Uint8Array; mode: number }>> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = zip.length - 22;
  while (view.getUint32(eocd, true) !== 0x06054b50) eocd--;
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const out = new Map<string, { data: Uint8Array; mode: number }>();
  for (let i = 0; i < count; i++) {
    expect(view.getUint32(p, true)).toBe(0x02014b50);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    const csize = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true);
    const extra = view.getUint16(p + 30, true);
    const comment = view.getUint16(p + 32, true);
    const mode = view.getUint32(p + 38, true) >>> 16;
    const local = view.getUint32(p + 42, true);
    const name = new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nameLen));
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = zip.subarray(start, start + csize);
    const data =
      method === 0
        ? raw
        : new Uint8Array(
            await new Response(new Blob([raw]).stream().pipeThrough(new DecompressionStream("deflate-raw"))).arrayBuffer(),
          );
    expect(crc32(data), name).toBe(crc);
    out.set(name, { data, mode });
    p += 46 + nameLen + extra + comment;
  }
  return out;
}

describe("archives", () => {
  /** Blob id of every file of `files3`, by its path in the archive. */
  const expected = (prefix: string) => {
    const want = new Map<string, string>();
    for (const [path, v] of Object.entries(files3)) {
      const data = typeof v === "string" || v instanceof Uint8Array ? v : v.data;
      want.set(`${prefix}${path}`, hashObject("blob", typeof data === "string" ? new TextEncoder().encode(data) : data));
    }
    return want;
  };

  it("streams a .tar.gz of any revision that unpacks to its tree", async () => {
    const res = await page(`/p/demo/source/archive/${commits.c3}.tar.gz`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toContain(`demo-${commits.c3!.slice(0, 12)}.tar.gz`);
    const entries = readTar(gunzip(await res.arrayBuffer()));
    const prefix = `demo-${commits.c3!.slice(0, 12)}/`;
    const files = [...entries].filter(([, e]) => e.type === "0");
    const want = expected(prefix);
    want.delete(`${prefix}link`);
    expect(new Map(files.map(([name, e]) => [name, hashObject("blob", e.data)]))).toEqual(want);
    expect(entries.get(`${prefix}link`)).toMatchObject({ type: "2", link: "a.txt" });
    expect(entries.get(`${prefix}run.sh`)!.mode & 0o111).not.toBe(0);
    expect(entries.get(`${prefix}lib/`)!.type).toBe("5");
  });

  it("streams a .zip of a branch that unpacks to its tree", async () => {
    const res = await page("/p/demo/source/archive/feature/side.zip");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    const entries = await readZip(new Uint8Array(await res.arrayBuffer()));
    const prefix = "demo-feature-side/";
    expect(new TextDecoder().decode(entries.get(`${prefix}side.txt`)!.data)).toBe("side\n");
    expect(hashObject("blob", entries.get(`${prefix}assets/big.bin`)!.data)).toBe(hashObject("blob", bigBlob));
    expect(entries.get(`${prefix}run.sh`)!.mode & 0o111).not.toBe(0);
    expect(new TextDecoder().decode(entries.get(`${prefix}link`)!.data)).toBe("a.txt");
    expect(entries.get(`${prefix}link`)!.mode >> 12).toBe(0o12);
  });
});

describe("caching", () => {
  it("serves pages addressed by object ids from the cache with a strong ETag and a long Cache-Control", async () => {
    const url = `/p/demo/source/blob/${commits.c3}/lib/util.js`;
    const first = await page(url);
    expect(first.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    await first.text();
    const second = await page(url);
    expect(second.headers.get("server-timing")).toContain("page-cache-hit");
    expect(second.headers.get("etag")).toBe(etag);
    // The kept page is sent from its own bytes (keptBytes): each send, side by side too, is whole
    // and leaves them for the next.
    const body = await (await page(url)).text();
    const sends = await Promise.all([page(url), page(url), page(url)]);
    for (const r of sends) {
      expect(r.headers.get("content-length")).toBe(String(new TextEncoder().encode(body).length));
      expect(await r.text()).toBe(body);
    }
    await second.text();
    expect((await page(url, { "if-none-match": etag })).status).toBe(304);
    // A ref-addressed page reuses the same body, and is revalidated on every visit.
    const byRef = await page("/p/demo/source/blob/main/lib/util.js");
    expect(byRef.headers.get("cache-control")).toBe("no-cache");
  });

  it("keeps cache keys per tenant, repository and purge", () => {
    const key = { origin: "http://x.test", tenantId: "t1", repoId: "r1", purges: 0, parts: ["blob", "main", "abc", "a"] };
    const a = cacheUrl(key);
    const b = cacheUrl({ ...key, tenantId: "t2" });
    const c = cacheUrl({ ...key, repoId: "r2" });
    const d = cacheUrl({ ...key, purges: 1 });
    expect(new Set([a, b, c, d]).size).toBe(4);
    expect(a).toContain("/t1/r1/");
  });

  it("shows a push on ref-addressed pages at once", async () => {
    const before = await html("/p/demo/source/tree/main/");
    expect(before).not.toContain('data-entry="pushed.txt"');
    // The anonymous visitor's whole page is kept: the push must still show on the next request.
    const again = await page("/p/demo/source/tree/main/");
    expect(again.headers.get("server-timing")).toContain("page-cache-hit");
    expect(await again.text()).toBe(before);
    const next = repo.commit({ files: { ...files3, "pushed.txt": "new\n" }, parents: [commits.c4], message: "Pushed later" });
    const blob = repo.blob("new\n");
    const tree = /^tree ([0-9a-f]{40})/.exec(new TextDecoder().decode(repo.objects.get(next)!.data))![1]!;
    const res = await pushRef(
      forge.host,
      "demo",
      forge.ownerToken,
      repo,
      [next, tree, blob],
      "refs/heads/main",
      commits.c4!,
      next,
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("ok refs/heads/main");
    const after = await html("/p/demo/source/tree/main/");
    expect(after).toContain('data-entry="pushed.txt"');
    expect(await html("/p/demo/source/log/main")).toContain("Pushed later");
    commits.c5 = next;
  });
});

describe("last commits as derived data", () => {
  it("stores them in R2 once computed, under the repository's prefix", async () => {
    await html(`/p/demo/source/tree/${commits.c3}/lib`);
    const project = await tenantD1(forge);
    const row = await project.prepare("SELECT repo_id FROM projects WHERE name = 'demo'").first<{ repo_id: string }>();
    const key = lastCommitsKey({ tenantId: forge.id, repoId: row!.repo_id }, commits.c3);
    expect(key.startsWith(`t/${forge.id}/r/${row!.repo_id}/derived/`)).toBe(true);
    // The page waited for the walk (LAST_COMMITS_WAIT_MS in the test configuration), which stores
    // its answer before it ends.
    const stored = await env.OBJECTS.get(key);
    const data = (await stored!.json()) as { commits: string[]; paths: Record<string, number> };
    const at = (path: string) => data.commits[data.paths[path]!];
    expect(at("lib/main.js")).toBe(commits.c1);
    expect(at("lib/util.js")).toBe(commits.c3);
    expect(at("a.txt")).toBe(commits.c2);
    expect(at("dir with space/ü.txt")).toBe(commits.c3);
  });

  it("is computed by the post-push hook, from the answer for the old tip", async () => {
    const project = await tenantD1(forge);
    const row = await project.prepare("SELECT repo_id FROM projects WHERE name = 'demo'").first<{ repo_id: string }>();
    const repoRef = { tenantId: forge.id, repoId: row!.repo_id };
    // A push that no page looks at: only the post-push hook can compute its answer.
    const next = repo.commit({
      files: { ...files3, "pushed.txt": "new\n", "hook.txt": "hook\n" },
      parents: [commits.c5],
      message: "Pushed, not viewed",
    });
    const tree = /^tree ([0-9a-f]{40})/.exec(new TextDecoder().decode(repo.objects.get(next)!.data))![1]!;
    const res = await pushRef(
      forge.host,
      "demo",
      forge.ownerToken,
      repo,
      [next, tree, repo.blob("hook\n")],
      "refs/heads/main",
      commits.c5,
      next,
    );
    expect(await res.text()).toContain("ok refs/heads/main");
    // The queue delivers the push's message a moment later (in batches, within a second): look until
    // the answer is there; the test's timeout bounds the wait, not a count of tries.
    let stored: R2ObjectBody | null = null;
    while (!stored) {
      stored = await env.OBJECTS.get(lastCommitsKey(repoRef, next));
      if (!stored) await new Promise((r) => setTimeout(r, 50));
    }
    const data = (await stored!.json()) as { commits: string[]; paths: Record<string, number> };
    const at = (path: string) => data.commits[data.paths[path]!];
    // (c5 also put docs/long.txt back as it was before c4.)
    expect({
      hook: at("hook.txt"),
      pushed: at("pushed.txt"),
      long: at("docs/long.txt"),
      readme: at("README.md"),
      util: at("lib/util.js"),
    }).toEqual({
      hook: next,
      pushed: commits.c5,
      long: commits.c5,
      readme: commits.c1,
      util: commits.c3,
    });
  });

  it("answers within a budget on deep history, then fills in and caches the full page", async () => {
    // The test configuration bounds each run of the walk by steps (LAST_COMMITS_STEPS = 1000, about
    // one per commit) and lets a page wait for the run to end: a 3000-commit history takes a known
    // number of runs, whatever the machine's speed.
    expect(walkBudget(workerEnv as unknown as Env)).toMatchObject({ steps: 1000, pageWaitMs: 600_000 });
    const r = new RepoBuilder();
    let tip = r.commit({ files: { "old.txt": "old\n", "hot.txt": "0\n" }, message: "the beginning" });
    const root = tip;
    for (let i = 1; i < 3000; i++)
      tip = r.commit({ files: { "old.txt": "old\n", "hot.txt": `${i}\n` }, parents: [tip], message: `edit ${i}` });
    await importRepo(forge.slug, "deep", r, { "refs/heads/main": tip });
    const first = await page("/p/deep/source/tree/main/");
    const body = await first.text();
    expect(first.headers.get("cache-control")).toBe("no-store");
    expect(body).toContain("reload to see them all");
    // The first run stopped on its step budget while writing the checkpoints of main, and kept
    // those it wrote for the next run (docs/storage.md).
    const project = await tenantD1(forge);
    const row = await project.prepare("SELECT repo_id FROM projects WHERE name = 'deep'").first<{ repo_id: string }>();
    const index = await (workerEnv as unknown as Env).OBJECTS.get(r2Keys.lastCommitCheckpoints(forge.id, row!.repo_id));
    const done = ((await index!.json()) as { done: string[] }).done;
    expect(done.length).toBeGreaterThan(0);
    expect(done[0]).toBe(root);
    // Each visit resumes the checkpoints where the last run stopped, then walks from the last one.
    const visits: string[] = [];
    let full = "";
    for (let i = 0; i < 10 && !visits.includes("no-cache"); i++) {
      const res = await page("/p/deep/source/tree/main/");
      full = await res.text();
      visits.push(res.headers.get("cache-control")!);
      if (i === 0) expect(full).toMatch(/data-entry="hot.txt">.*?commit\/[0-9a-f]{40}/s);
    }
    // 12 checkpoints of 256 commits (about 260 steps each) in runs of 1000 steps, of which 750 go
    // to the checkpoints (and the first checkpoint of a run has its own 1000): the first page's
    // run and two more, the last of which also walks the tip from the last checkpoint.
    expect(visits).toEqual(["no-store", "no-store", "no-cache"]);
    expect(full).toMatch(new RegExp(`data-entry="old.txt">.*?commit/${root}`, "s"));
    expect(full).not.toContain("reload to see them all");
  });
});

describe("permissions", () => {
  let member: Browser;
  beforeAll(async () => {
    const r = new RepoBuilder();
    const c = r.commit({ files: { "secret.txt": "the secret plan\n" }, message: "secret" });
    await importRepo(forge.slug, "hush", r, { "refs/heads/main": c }, { private: true });
    member = await registerUser(forge, "mia");
    const owner = new Browser(forge.host);
    await owner.signIn("owner", forge.ownerPassword);
    expect((await owner.post("/p/hush/admin/members", { username: "mia", role: "member" })).status).toBe(303);
    commits.hush = c;
  });

  const urls = () => [
    "/p/hush/source/",
    "/p/hush/source/tree/main/",
    `/p/hush/source/tree/${commits.hush}/`,
    `/p/hush/source/blob/${commits.hush}/secret.txt`,
    "/p/hush/source/raw/main/secret.txt",
    "/p/hush/source/blame/main/secret.txt",
    "/p/hush/source/log/main",
    `/p/hush/source/commit/${commits.hush}`,
    `/p/hush/source/commit/${commits.hush}.patch`,
    "/p/hush/source/branches",
    "/p/hush/source/tags",
    "/p/hush/source/archive/main.tar.gz",
    "/p/hush/source/archive/main.zip",
    "/p/hush/feed/commits/main",
  ];

  it("serves a private project's pages to members, privately, and never from cache to others", async () => {
    for (const url of urls()) {
      const res = await member.get(url);
      expect(res.status, url).toBe(200);
      const cc = res.headers.get("cache-control") ?? "";
      expect(cc, url).not.toContain("public");
      await res.arrayBuffer();
      // Twice: the second answer comes from the page cache where there is one.
      await (await member.get(url)).arrayBuffer();
    }
    const stranger = await registerUser(forge, "stan");
    for (const url of urls()) {
      const anon = await page(url);
      expect(anon.status, url).toBe(404);
      expect(await anon.text()).not.toContain("secret plan");
      expect((await stranger.get(url)).status, url).toBe(404);
    }
  });
});

describe("an empty repository", () => {
  it("shows how to push the first commit, with the clone URL", async () => {
    const owner = new Browser(forge.host);
    await owner.signIn("owner", forge.ownerPassword);
    expect((await owner.post("/projects/new", { name: "fresh", description: "" })).status).toBe(303);
    const body = await html("/p/fresh/source/");
    expect(body).toContain(`git remote add origin http://${forge.host}/fresh.git`);
    expect(body).toContain("git push -u origin main");
  });
});

describe("unreachable objects", () => {
  const r = new RepoBuilder();
  const ids = {} as Record<"main" | "leak" | "secret" | "mainTree", string>;
  const ZERO = "0".repeat(40);
  const leakUrls = () => [
    `/p/leaky/source/commit/${ids.leak}`,
    `/p/leaky/source/commit/${ids.leak}.patch`,
    `/p/leaky/source/tree/${ids.leak}/`,
    `/p/leaky/source/blob/${ids.leak}/secret.txt`,
    `/p/leaky/source/raw/${ids.leak}/secret.txt`,
    `/p/leaky/source/raw/${ids.leak.slice(0, 10)}/secret.txt`,
    `/p/leaky/source/log/${ids.leak}`,
    `/p/leaky/source/log/main?after=${ids.leak}`,
    `/p/leaky/source/last-commits/${ids.leak}/`,
    `/p/leaky/source/compare/main...${ids.leak}`,
    `/p/leaky/source/archive/${ids.leak}.tar.gz`,
    `/p/leaky/source/archive/${ids.leak}.zip`,
  ];

  /** A v2 clone of everything the refs offer: the objects it brings, checked for connectivity. */
  async function cloneObjects(): Promise<Set<string>> {
    const refs = (await (await edge(`http://${forge.host}/leaky.git/info/refs?service=git-upload-pack`)).text())
      .split("\n")
      .map((l) => /^[0-9a-f]{4}([0-9a-f]{40}) refs\//.exec(l)?.[1])
      .filter((x): x is string => !!x);
    const body = concatBytes([
      pkt("command=fetch\n"),
      DELIM,
      pkt("ofs-delta\n"),
      pkt("no-progress\n"),
      ...refs.map((o) => pkt(`want ${o}\n`)),
      pkt("done\n"),
      FLUSH,
    ]);
    const res = await edge(`http://${forge.host}/leaky.git/git-upload-pack`, {
      method: "POST",
      headers: { "content-type": "application/x-git-upload-pack-request", "git-protocol": "version=2" },
      body,
    });
    const chunks: Uint8Array[] = [];
    for (const line of parsePktLines(new Uint8Array(await res.arrayBuffer()))) {
      if (line.kind === "data" && line.data[0] === 1) chunks.push(line.data.subarray(1));
    }
    const links = linkRuns(new MemorySpillStore());
    const indexed = await indexPack(new MemorySource("clone", concatBytes(chunks)), {
      onObject: (t, d) => collectLinks(t, d, links),
    });
    const index = new PackIndex(indexed.index);
    const oids = new Set(index.entries().map((e) => e.oid));
    expect((await checkConnectivity(links, indexIds(index), refs)).missing).toBeNull();
    return oids;
  }

  beforeAll(async () => {
    const files = { "README.md": "# Leaky\n", "a.txt": "a\n" };
    ids.main = r.commit({ files, message: "first" });
    ids.mainTree = r.files(files);
    await importRepo(forge.slug, "leaky", r, { "refs/heads/main": ids.main });
    // A branch with a secret is pushed, looked at (its pages cached), then deleted.
    ids.leak = r.commit({
      files: { ...files, "secret.txt": "password=hunter2\n" },
      parents: [ids.main],
      message: "oops, a secret",
    });
    ids.secret = r.blob("password=hunter2\n");
    const tree = r.files({ ...files, "secret.txt": "password=hunter2\n" });
    const res = await pushRef(
      forge.host,
      "leaky",
      forge.ownerToken,
      r,
      [ids.leak, tree, ids.secret],
      "refs/heads/leak",
      ZERO,
      ids.leak,
    );
    expect(await res.text()).toContain("ok refs/heads/leak");
    const shown = new Map<string, number>();
    for (const url of leakUrls()) {
      const seen = await page(url);
      shown.set(url, seen.status);
      await seen.arrayBuffer();
    }
    expect(shown.get(`/p/leaky/source/commit/${ids.leak}`)).toBe(200);
    expect(shown.get(`/p/leaky/source/raw/${ids.leak}/secret.txt`)).toBe(200);
    expect(shown.get(`/p/leaky/source/archive/${ids.leak}.zip`)).toBe(200);
    const del = await edge(`http://${forge.host}/leaky.git/git-receive-pack`, {
      method: "POST",
      headers: {
        "content-type": "application/x-git-receive-pack-request",
        authorization: `Basic ${btoa(`owner:${forge.ownerToken}`)}`,
      },
      body: concatBytes([pkt(`${ids.leak} ${ZERO} refs/heads/leak\0report-status delete-refs\n`), FLUSH]),
    });
    expect(await del.text()).toContain("ok refs/heads/leak");
  });

  it("are not shown by id once no ref reaches them, before any purge", async () => {
    for (const url of leakUrls()) {
      const res = await page(url);
      expect(res.status, url).toBe(404);
      expect(await res.text(), url).not.toContain("hunter2");
    }
    // What the refs reach is still shown by id.
    expect((await page(`/p/leaky/source/commit/${ids.main}`)).status).toBe(200);
    expect((await page(`/p/leaky/source/raw/${ids.main}/a.txt`)).status).toBe(200);
  });

  it("are removed by the owner's purge: pages, caches, archives and derived data; clones stay whole", async () => {
    // Derived data as a page's background walk may have left it (written here: no waiting on it).
    const project = await tenantD1(forge);
    const row = await project.prepare("SELECT repo_id FROM projects WHERE name = 'leaky'").first<{ repo_id: string }>();
    const derivedKey = (commit: string) => lastCommitsKey({ tenantId: forge.id, repoId: row!.repo_id }, commit);
    for (const c of [ids.leak, ids.main]) await env.OBJECTS.put(derivedKey(c), "{}");
    const owner = new Browser(forge.host);
    await owner.signIn("owner", forge.ownerPassword);
    expect(await (await owner.get("/p/leaky/admin")).text()).toContain('action="/p/leaky/admin/purge"');
    // Only the owners, only from this site.
    const stranger = await registerUser(forge, "nosy");
    expect((await stranger.post("/p/leaky/admin/purge", {})).status).toBe(404);
    expect((await owner.post("/p/leaky/admin/purge", {}, { from: "http://evil.test" })).status).toBe(403);
    expect((await new Browser(forge.host).post("/p/leaky/admin/purge", {})).status).toBe(303); // to sign in

    // A fetch that opened the packs before the purge (here: their store) must be able to finish.
    const repoRef = { tenantId: forge.id, repoId: row!.repo_id };
    const stub = repoStub(workerEnv as unknown as Env, repoRef);
    const inFlight = await openStore(env.OBJECTS, repoRef, await stub.snapshot());

    const purged = await owner.post("/p/leaky/admin/purge", {});
    expect(purged.status).toBe(303);
    expect(purged.headers.get("location")).toBe("/p/leaky/admin?ok=purged");
    const objects = await cloneObjects();
    expect(objects.has(ids.secret) || objects.has(ids.leak)).toBe(false);
    expect(objects.has(ids.main) && objects.has(ids.mainTree)).toBe(true);
    for (const url of leakUrls()) {
      const res = await page(url);
      expect(res.status, url).toBe(404);
      expect(await res.text(), url).not.toContain("hunter2");
    }
    // git refuses them too, even by blob id.
    const want = await edge(`http://${forge.host}/leaky.git/git-upload-pack`, {
      method: "POST",
      headers: { "content-type": "application/x-git-upload-pack-request", "git-protocol": "version=2" },
      body: concatBytes([pkt("command=fetch\n"), DELIM, pkt(`want ${ids.secret}\n`), pkt("done\n"), FLUSH]),
    });
    expect(await want.text()).toContain("not our ref");
    // Derived data of the purged commit is gone from R2 (the main branch's is kept).
    expect(await env.OBJECTS.head(derivedKey(ids.leak))).toBeNull();
    expect(await env.OBJECTS.head(derivedKey(ids.main))).not.toBeNull();
    expect((await page(`/p/leaky/source/commit/${ids.main}`)).status).toBe(200);
    // The retired packs stay readable for the grace period, then upkeep deletes them from R2.
    expect((await inFlight.read(ids.secret)).type).toBe("blob");
    const packKeys = async () =>
      (await env.OBJECTS.list({ prefix: `${r2Keys.repoPrefix(repoRef.tenantId, repoRef.repoId)}objects/pack/` })).objects
        .map((o) => o.key)
        .filter((k) => k.endsWith(".pack"));
    expect((await packKeys()).length).toBeGreaterThan(1);
    expect((await stub.upkeep({ now: Date.now() + 60_000 })).deleted).toBe(0);
    expect((await stub.upkeep({ now: Date.now() + RETIRED_GRACE_MS + 60_000 })).deleted).toBeGreaterThan(0);
    expect(await packKeys()).toHaveLength(1);
    // Nothing left to purge.
    expect((await owner.post("/p/leaky/admin/purge", {})).headers.get("location")).toBe("/p/leaky/admin?ok=clean");
  });
});
